"""Countdown, the Stream of Search distribution (Gandhi et al. 2024; ``shared/text/README.md``):
k numbers drawn uniformly from 1-99 and a target from 10-100, only solvable problems. Answers
are steps (``games/text/steps.py``) using + * larger-minus-smaller and exact division until
the last result equals the target.

Ten percent of the targets never appear in training (``HELD_OUT_TARGETS``), and one problem in
``TEST_SHARE`` (by a hash of its numbers and target) is reserved for the test sets, so
"seen-target" test problems are also unseen problems.
"""

from __future__ import annotations

import numpy as np

from games.text.steps import StepTask
from games.text.verifier import solve_steps

HELD_OUT_TARGETS = frozenset({14, 39, 41, 57, 62, 81, 87, 89, 96})
TEST_SHARE = 50  # problems whose key % TEST_SHARE == 0 are test problems only
MIN_NUMBER, MAX_NUMBER, MIN_TARGET, MAX_TARGET = 1, 99, 10, 100
TEST_SIZE = 1000  # problems per test split (the published evaluations use 1000)


class Countdown(StepTask):
    """Countdown with ``k`` numbers (3, 4 or 5 in our reports; 4 is the published setting) in
    ``mode`` "free" (comparable with published work) or "guided"."""

    name = "countdown"
    version = 1
    splits = ("seen", "heldout")

    def __init__(self, k: int = 4, mode: str = "free", max_digits: int = 4):
        super().__init__(k, mode, max_digits, MAX_NUMBER, MAX_TARGET)

    def sample_prompts(self, n: int, rng: np.random.Generator) -> list[str]:
        return self._draw(n, rng, test=False, held_out=False)

    def test_prompts(self, split: str, limit: int | None = None) -> list[str]:
        """The first ``limit`` (default ``TEST_SIZE``) test problems of ``split``: "seen"
        targets or "heldout" ones, the same every time."""
        if split not in self.splits:
            raise ValueError(f"countdown: unknown split {split!r}; splits: {self.splits}")
        rng = np.random.default_rng([self.k, self.splits.index(split), 2024])
        return self._draw(limit or TEST_SIZE, rng, test=True, held_out=split == "heldout")

    def _draw(self, n: int, rng: np.random.Generator, test: bool, held_out: bool) -> list[str]:
        """``n`` solvable problems; candidates are drawn in bulk and filtered with NumPy
        before the (much slower) solver sees them."""
        prompts: list[str] = []
        while len(prompts) < n:
            numbers = rng.integers(MIN_NUMBER, MAX_NUMBER + 1, size=(4096, self.k))
            targets = rng.integers(MIN_TARGET, MAX_TARGET + 1, size=4096)
            keep = np.isin(targets, list(HELD_OUT_TARGETS)) == held_out
            if not held_out:  # held-out targets never reach training: no need to split them
                keep &= (self.problem_keys(numbers, targets) % TEST_SHARE == 0) == test
            for row, target in zip(numbers[keep].tolist(), targets[keep].tolist(), strict=True):
                if solve_steps(row, target, max_value=self.max_value) is not None:
                    prompts.append(self.format_prompt(row, target))
                    if len(prompts) == n:
                        break
        return prompts
