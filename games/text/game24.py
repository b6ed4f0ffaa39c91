"""The Game of 24 in step form: four numbers 1-13 combined with + * larger-minus-smaller and
exact division until 24 is left (``games/text/steps.py``).

Test splits come from the published puzzle list (``shared/text/game24.csv``, from Tree of
Thoughts): "test" is ranks 1001-1362 (TS-LLM's split), "tot" ranks 901-1000 (Tree of
Thoughts'). Self-play draws any step-solvable puzzle outside "test". Steps never go negative
or fractional, so 16 of the 362 test puzzles cannot be solved in this form (346 can).

Only about 1,800 sets of four numbers 1-13 exist, and about 850 of those outside the test split
make 24 in steps: a network trained on them alone learns them by heart and little else.
``other_targets`` widens training (never the test) to the same numbers with other targets,
1-99, the way Countdown's problems vary; the test puzzles' sets of numbers stay out of
training whatever the target.
"""

from __future__ import annotations

import csv
import functools
import os
from pathlib import Path

import numpy as np

from games.text.steps import StepTask
from games.text.verifier import solve_steps

TARGET = 24
OTHER_TARGETS = (1, 99)  # training targets with other_targets > 0; two digits, as 24
SPLITS = {"test": (1001, 1362), "tot": (901, 1000), "train": (1, 1000)}  # rank ranges
DATA_ENV = "SELFPLAY_GAME24"
DEFAULT_DATA = Path(__file__).resolve().parents[3] / "shared" / "text" / "game24.csv"


@functools.cache
def load_puzzles(path: str) -> tuple[tuple[int, tuple[int, ...]], ...]:
    """(rank, numbers) of every puzzle in the CSV at ``path``."""
    file = Path(path)
    if not file.is_file():
        raise FileNotFoundError(
            f"game24: no puzzle list at {file}. It is published with Tree of Thoughts "
            "(github.com/princeton-nlp/tree-of-thought-llm, src/tot/data/24/24.csv); pass "
            f"game24@data=PATH or set {DATA_ENV}"
        )
    with file.open(newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows or "Puzzles" not in rows[0] or "Rank" not in rows[0]:
        raise ValueError(f"game24: {file} has no 'Rank' and 'Puzzles' columns")
    return tuple((int(r["Rank"]), tuple(sorted(map(int, r["Puzzles"].split())))) for r in rows)


class Game24(StepTask):
    """The Game of 24 in ``mode`` "free" or "guided"; ``data`` is the published puzzle list
    (default: ``$SELFPLAY_GAME24``, else ``shared/text/game24.csv`` beside the project).
    ``other_targets``: the share of training problems whose target is drawn from 1-99 instead
    of being 24 (``game24@other_targets=0.5``); validation and test problems are all 24."""

    name = "game24"
    version = 1
    splits = ("test", "tot")  # evaluated by default; "train" (ranks 1-1000) on request

    def __init__(
        self,
        mode: str = "free",
        data: str = "",
        max_digits: int = 4,
        reject: str = "step",
        other_targets: float = 0.0,
        backtrack: int = 0,
    ):
        super().__init__(4, mode, max_digits, 13, TARGET, reject, backtrack)
        if not isinstance(other_targets, int | float) or not 0 <= other_targets <= 1:
            raise ValueError(
                f"game24: other_targets must be a share in [0, 1], got {other_targets!r}"
            )
        self.other_targets = float(other_targets)
        self.data = str(data or os.environ.get(DATA_ENV) or DEFAULT_DATA)
        self._test = {numbers for rank, numbers in self._puzzles() if _in(rank, SPLITS["test"])}

    def sizes(self) -> str:
        if not self.other_targets:
            return "target 24"
        low, high = OTHER_TARGETS
        return f"target 24 (training: {self.other_targets:.0%} targets {low}-{high})"

    def _puzzles(self):
        return load_puzzles(self.data)

    def sample_prompts(self, n: int, rng: np.random.Generator) -> list[str]:
        others = int(rng.binomial(n, self.other_targets)) if self.other_targets else 0
        prompts = self._draw(n - others, rng, TARGET, TARGET)
        prompts += self._draw(others, rng, *OTHER_TARGETS)
        rng.shuffle(prompts)
        return prompts

    def validation_prompts(self, n: int, rng: np.random.Generator) -> list[str]:
        """Training puzzles whose target is 24: the gate scores what the test asks."""
        return self._draw(n, rng, TARGET, TARGET)

    def _draw(self, n: int, rng: np.random.Generator, low: int, high: int) -> list[str]:
        """``n`` step-solvable puzzles outside the test split, targets drawn from low-high."""
        prompts = []
        while len(prompts) < n:
            numbers = tuple(sorted(int(x) for x in rng.integers(1, 14, 4)))
            target = low if low == high else int(rng.integers(low, high + 1))
            if numbers in self._test or not _step_solvable(numbers, target, self.max_value):
                continue
            prompts.append(self.format_prompt(numbers, target))
        return prompts

    def is_training_problem(self, numbers: tuple[int, ...], target: int) -> bool:
        """Four numbers 1-13 outside the test split, and 24 or (with ``other_targets``) a
        target in 1-99: what hindsight may relabel a lost answer to."""
        numbers = tuple(sorted(numbers))
        if len(numbers) != 4 or not all(1 <= x <= 13 for x in numbers) or numbers in self._test:
            return False
        low, high = OTHER_TARGETS
        return target == TARGET or (self.other_targets > 0 and low <= target <= high)

    def test_prompts(self, split: str, limit: int | None = None) -> list[str]:
        """The published puzzles of ``split`` ("test": ranks 1001-1362, "tot": 901-1000,
        "train": 1-1000), in rank order, the first ``limit`` of them."""
        if split not in SPLITS:
            raise ValueError(f"game24: unknown split {split!r}; splits: {', '.join(SPLITS)}")
        prompts = [
            self.format_prompt(numbers, TARGET)
            for rank, numbers in self._puzzles()
            if _in(rank, SPLITS[split])
        ]
        return prompts[:limit] if limit else prompts


def _in(rank: int, bounds: tuple[int, int]) -> bool:
    return bounds[0] <= rank <= bounds[1]


@functools.cache
def _step_solvable(numbers: tuple[int, ...], target: int, max_value: int) -> bool:
    return solve_steps(list(numbers), target, max_value=max_value) is not None
