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

from games.text.step_rules import solvable
from games.text.steps import StepTask

HELD_OUT_TARGETS = frozenset({14, 39, 41, 57, 62, 81, 87, 89, 96})
TEST_SHARE = 50  # problems whose key % TEST_SHARE == 0 are test problems only
MIN_NUMBER, MAX_NUMBER, MIN_TARGET, MAX_TARGET = 1, 99, 10, 100
TEST_SIZE = 1000  # problems per test split (the published evaluations use 1000)
ORDERS = ("drawn", "sorted")


class Countdown(StepTask):
    """Countdown with ``k`` numbers (3, 4 or 5 in our reports; 4 is the published setting) in
    ``mode`` "free" (comparable with published work) or "guided".

    ``min_k``: a curriculum. Training problems have ``min_k`` to ``k`` numbers, as many of each
    size; the test splits keep ``k``. Smaller problems are solved sooner and teach the steps,
    the arithmetic and the format that the larger ones need (``countdown@k=4,min_k=3``).

    ``order``: the prompt's numbers as drawn (the published setting) or ``sorted`` from
    smallest to largest. The problems are the same multisets either way (the splits hash them
    sorted); a sorted prompt spares the network learning that their order does not matter."""

    name = "countdown"
    version = 1
    splits = ("seen", "heldout")

    def __init__(
        self,
        k: int = 4,
        mode: str = "free",
        max_digits: int = 4,
        min_k: int | None = None,
        reject: str = "step",
        order: str = "drawn",
        backtrack: int = 0,
    ):
        super().__init__(k, mode, max_digits, MAX_NUMBER, MAX_TARGET, reject, backtrack)
        self.min_k = k if min_k is None else min_k
        if not isinstance(self.min_k, int) or not 2 <= self.min_k <= k:
            raise ValueError(f"countdown: min_k must be 2..k={k}, got {min_k!r}")
        if order not in ORDERS:
            raise ValueError(f"countdown: order must be one of {ORDERS}, got {order!r}")
        self.order = order

    def describe(self) -> str:
        return super().describe() + (", numbers sorted" if self.order == "sorted" else "")

    def sizes(self) -> str:
        if self.min_k == self.k:
            return super().sizes()
        return f"k={self.k} (training k={self.min_k}..{self.k})"

    def sample_prompts(self, n: int, rng: np.random.Generator) -> list[str]:
        if self.min_k == self.k:
            return self._draw(n, rng, test=False, held_out=False)
        sizes = rng.integers(self.min_k, self.k + 1, size=n)
        prompts = [""] * n
        for k in np.unique(sizes):
            where = np.flatnonzero(sizes == k)
            drawn = self._draw(len(where), rng, test=False, held_out=False, k=int(k))
            for i, prompt in zip(where, drawn, strict=True):
                prompts[i] = prompt
        return prompts

    def is_training_problem(self, numbers: tuple[int, ...], target: int) -> bool:
        """A target in range, not held out, and not a test problem."""
        if not MIN_TARGET <= target <= MAX_TARGET:
            return False
        return bool(self._in_split(np.array([numbers]), np.array([target]), False, False)[0])

    def validation_prompts(self, n: int, rng: np.random.Generator) -> list[str]:
        """Training problems with ``k`` numbers only, also under a curriculum: the gate
        promotes networks that get better at what the test splits ask."""
        return self._draw(n, rng, test=False, held_out=False)

    def test_prompts(self, split: str, limit: int | None = None) -> list[str]:
        """The first ``limit`` (default ``TEST_SIZE``) test problems of ``split``: "seen"
        targets or "heldout" ones, the same every time."""
        if split not in self.splits:
            raise ValueError(f"countdown: unknown split {split!r}; splits: {self.splits}")
        rng = np.random.default_rng([self.k, self.splits.index(split), 2024])
        return self._draw(limit or TEST_SIZE, rng, test=True, held_out=split == "heldout")

    def _in_split(
        self, numbers: np.ndarray, targets: np.ndarray, test: bool, held_out: bool
    ) -> np.ndarray:
        """Which problems (rows of numbers, targets) belong to a split: held-out targets make
        one test split; a hash of the problem splits the others between training and the
        seen-target test split."""
        keep = np.isin(targets, list(HELD_OUT_TARGETS)) == held_out
        if not held_out:  # held-out targets never reach training: no need to split them
            keep &= (self.problem_keys(numbers, targets) % TEST_SHARE == 0) == test
        return keep

    def _draw(
        self, n: int, rng: np.random.Generator, test: bool, held_out: bool, k: int | None = None
    ) -> list[str]:
        """``n`` solvable problems with ``k`` numbers (default ``self.k``); candidates are
        drawn in bulk, filtered by split with NumPy, then by the compiled solver."""
        prompts: list[str] = []
        while len(prompts) < n:
            numbers = rng.integers(MIN_NUMBER, MAX_NUMBER + 1, size=(4096, k or self.k))
            targets = rng.integers(MIN_TARGET, MAX_TARGET + 1, size=4096)
            keep = self._in_split(numbers, targets, test, held_out)
            numbers, targets = numbers[keep], targets[keep]
            keep = solvable(numbers, targets, self.max_value)  # compiled: the costly filter
            if self.order == "sorted":
                numbers = np.sort(numbers, axis=1)
            for row, target in zip(numbers[keep].tolist(), targets[keep].tolist(), strict=True):
                prompts.append(self.format_prompt(row, target))
                if len(prompts) == n:
                    break
        return prompts
