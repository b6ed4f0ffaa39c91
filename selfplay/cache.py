"""A memo of network evaluations over the last two moves, for a self-play worker.

A search with no tree reuse (Gumbel's schedule starts every root from zero visits) evaluates
again most of the positions the previous move's search already evaluated under the move that
was played: about two thirds of all evaluations in text games. The memo answers those from
what the network said before, keyed by the observation's bytes, and sends only the new
positions to the network, still in one batch.
"""

from __future__ import annotations

import numpy as np

from selfplay.mcts import Evaluator


class EvaluationCache:
    """An evaluator that remembers the outputs of ``evaluator`` for the positions of the
    current move and the one before (``next_move`` moves the window on). The network must be
    a pure function of the observation: ``clear`` when its weights change."""

    def __init__(self, evaluator: Evaluator):
        self.evaluator = evaluator
        self._current: dict[bytes, tuple[np.ndarray, float]] = {}
        self._previous: dict[bytes, tuple[np.ndarray, float]] = {}
        self.hits = 0
        self.misses = 0

    def __call__(self, observations: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if len(observations) == 0:
            return self.evaluator(observations)
        observations = np.ascontiguousarray(observations)
        keys = [row.tobytes() for row in observations]
        found = [self._current.get(key) or self._previous.get(key) for key in keys]
        missing: dict[bytes, int] = {}  # the first row of each position not remembered
        for i, (key, entry) in enumerate(zip(keys, found, strict=True)):
            if entry is None:
                missing.setdefault(key, i)
        if missing:
            logits, values = self.evaluator(observations[list(missing.values())])
            logits, values = np.asarray(logits), np.asarray(values)
            for j, key in enumerate(missing):
                self._current[key] = (logits[j], float(values[j]))
        for i, key in enumerate(keys):
            found[i] = found[i] or self._current[key]
            self._current[key] = found[i]  # kept for the next move, too
        self.hits += len(keys) - len(missing)
        self.misses += len(missing)
        return np.stack([entry[0] for entry in found]), np.array(
            [entry[1] for entry in found], np.float32
        )

    def next_move(self) -> None:
        """Forgets what is older than the move that just ended."""
        self._previous, self._current = self._current, {}

    def clear(self) -> None:
        """Forgets everything (the network changed)."""
        self._previous, self._current = {}, {}

    def __len__(self) -> int:
        return len(self._current.keys() | self._previous.keys())
