"""Pieces the batched search and the pure-Python reference share, so that both see the very
same numbers: priors from logits, root noise, the sequential-halving schedule, move choice.
None of these walk a tree.

Shapes: B trees, A actions.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from selfplay.mcts.config import SearchConfig


@numba.njit(cache=True, inline="always")
def softmax_row(logits, mask, out) -> None:
    """Writes into ``out`` the probabilities of ``logits`` over the True entries of ``mask``.

    A scalar loop rather than NumPy's vectorised exp: each row's result must not depend on the
    batch it came in, so that the batched search and the one-tree reference agree to the bit.
    """
    top = -np.inf
    for a in range(logits.shape[0]):
        if mask[a] and logits[a] > top:
            top = float(logits[a])
    total = 0.0
    for a in range(logits.shape[0]):
        out[a] = math.exp(float(logits[a]) - top) if mask[a] else 0.0
        total += out[a]
    for a in range(logits.shape[0]):
        out[a] /= total


@numba.njit(cache=True)
def masked_softmax(logits: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """float64 ``[B, A]`` probabilities over the legal actions (zero elsewhere)."""
    out = np.zeros(logits.shape, dtype=np.float64)
    for b in range(logits.shape[0]):
        softmax_row(logits[b], mask[b], out[b])
    return out


def root_noise(
    rng: np.random.Generator, mask: np.ndarray, config: SearchConfig
) -> tuple[np.ndarray, np.ndarray]:
    """Dirichlet noise over the legal actions and Gumbel(0, 1) samples, both float64 ``[B, A]``.

    Drawn for the whole batch in one go, in a fixed order, so that a search over B trees and B
    one-tree searches consume the generator identically.
    """
    b_size, a_size = mask.shape
    gamma = rng.gamma(config.dirichlet_alpha, 1.0, size=(b_size, a_size)) * mask
    dirichlet = gamma / np.maximum(gamma.sum(axis=1, keepdims=True), 1e-300)
    gumbel = rng.gumbel(size=(b_size, a_size)) * config.gumbel_scale
    return dirichlet, gumbel


def considered_visit_sequence(num_considered: int, simulations: int) -> np.ndarray:
    """Sequential halving as a schedule (Gumbel AlphaZero, Danihelka et al. 2022).

    Entry k is the visit count a root action must have to be eligible for simulation k: each
    phase visits every remaining action equally, then the better half goes on, until one is
    left. With ``num_considered`` actions and ``simulations`` simulations the budget is split
    over ceil(log2(num_considered)) phases.
    """
    if num_considered <= 1:
        return np.arange(simulations, dtype=np.int32)
    phases = math.ceil(math.log2(num_considered))
    visits = [0] * num_considered
    sequence: list[int] = []
    remaining = num_considered
    while len(sequence) < simulations:
        extra = max(1, simulations // (phases * remaining))
        for _ in range(extra):
            sequence.extend(visits[:remaining])
            for i in range(remaining):
                visits[i] += 1
        remaining = max(2, remaining // 2)
    return np.array(sequence[:simulations], dtype=np.int32)


def choose_actions(rng: np.random.Generator, visits: np.ndarray, temperature: float) -> np.ndarray:
    """int64 ``[B]``: the move to play from root visit counts ``[B, A]``. Temperature 0 plays the
    most visited move (the lowest action on ties); otherwise samples visits^(1/temperature)."""
    if temperature == 0:
        return visits.argmax(axis=1)
    scaled = visits / np.maximum(visits.max(axis=1, keepdims=True), 1)
    cumulative = (scaled ** (1.0 / temperature)).cumsum(axis=1)
    # The pick is the first action whose cumulative weight exceeds the draw, so it always has
    # visits; the clamp covers a draw that rounds up to the row total.
    draws = rng.random(len(visits))[:, None] * cumulative[:, -1:]
    last_visited = visits.shape[1] - 1 - (visits[:, ::-1] > 0).argmax(axis=1)
    return np.minimum((cumulative <= draws).sum(axis=1), last_visited)
