"""Shared fixtures: the README's example game, and where the shared data lives."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def readme_code(heading: str) -> str:
    """The first Python block under ``## heading`` in the README: tests keep the README true."""
    section = (ROOT / "README.md").read_text().split(f"## {heading}\n", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


@pytest.fixture
def nim_source() -> str:
    return readme_code("Add your own game")


@pytest.fixture
def nim_file(tmp_path: Path, nim_source: str) -> Path:
    path = tmp_path / "my_nim.py"
    path.write_text(nim_source)
    return path
