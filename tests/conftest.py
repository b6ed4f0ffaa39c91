"""Shared fixtures: the README's example game, and where the shared data lives."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def readme_example_game() -> str:
    """The code of the README's 'Add your own game' section: tests keep the README true."""
    section = (ROOT / "README.md").read_text().split("## Add your own game", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


@pytest.fixture
def nim_source() -> str:
    return readme_example_game()


@pytest.fixture
def nim_file(tmp_path: Path, nim_source: str) -> Path:
    path = tmp_path / "my_nim.py"
    path.write_text(nim_source)
    return path
