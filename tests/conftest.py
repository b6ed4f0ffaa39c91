"""Shared fixtures: the README's example game, and where the shared data lives."""

from __future__ import annotations

import importlib.util
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


def untrained_checkpoint(path: Path, game: str) -> Path:
    """A checkpoint of a small untrained network (1 block of 16 channels, seed 0) for
    ``game``, as a run saves one: what the benchmark scripts' tests load."""
    import torch

    import games
    from selfplay.checkpoint import game_info, save_checkpoint
    from selfplay.config import resolve, to_dict
    from selfplay.model import PolicyValueNet

    config = resolve([f"game={game}", "model.blocks=1", "model.channels=16"])
    spec = games.make(game).spec
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = PolicyValueNet(spec, config.model)
    save_checkpoint(path, {"game": game_info(spec), "config": to_dict(config),
                           "learner": {"model": model.state_dict()}})  # fmt: skip
    return path


def careless_answer(task, prompt: str, rng: np.random.Generator) -> str:
    """An answer of random legal steps, each with one character changed now and then (a
    digit or an operator), some taken back where the game allows, written until the rules
    reject it or it ends: it makes every kind of mistake, as random play (which rarely writes
    a legal step at all) does not."""
    from games.text.task import END

    numbers, _ = task.parse_prompt(prompt)
    answer, standing, undos = "", [], 0
    while len(standing) < len(numbers) - 1:
        if standing and undos < task.backtrack and rng.random() < 0.3:
            answer, undos = answer + "<", undos + 1
            standing.pop()
            continue
        step = list(rng.choice(task.legal_steps(task.numbers_after(numbers, standing))))
        if rng.random() < 0.3:
            i = rng.integers(len(step))
            step[i] = rng.choice(list("+-*/" if step[i] in "+-*/" else "0123456789"))
        step = "".join(step)
        last = len(standing) == len(numbers) - 2
        for c in step + (END if last else ","):
            answer += c
            if not answer.endswith(END) and task.early_verdict(prompt, answer) is not None:
                return answer
        standing.append(step)
    return answer


@contextmanager
def benchmark_module(name: str) -> Iterator:
    """``benchmarks/NAME.py`` imported as module ``name``, with benchmarks/ on sys.path (the
    scripts import each other) until the block ends."""
    folder = str(ROOT / "benchmarks")
    sys.path.insert(0, folder)
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while building
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        del sys.modules[name]
        sys.path.remove(folder)


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
