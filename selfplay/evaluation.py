"""Objective strength in Connect Four: how often a player's move is optimal on Pascal Pons'
solved positions (the six test sets described in ``shared/connect4/README.md``).

A move is *weakly optimal* when it keeps the position's game-theoretic result (win, draw or
loss) and *strongly optimal* when its exact score equals the position's. The exact score of
every move comes from our solver once and is cached in a JSON file, so later evaluations need
no solver call.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

import games
from selfplay.checkpoint import atomic_write_bytes
from selfplay.players import Player

SETS = {
    "Test_L3_R1": "End-Easy",
    "Test_L2_R1": "Middle-Easy",
    "Test_L2_R2": "Middle-Medium",
    "Test_L1_R1": "Begin-Easy",
    "Test_L1_R2": "Begin-Medium",
    "Test_L1_R3": "Begin-Hard",
}


@dataclasses.dataclass(frozen=True)
class PonsSet:
    name: str  # e.g. "End-Easy"
    moves: tuple[str, ...]  # 1-based columns played so far, one string per position
    scores: tuple[int, ...]  # exact score for the side to move


def load_pons_sets(
    data_dir: str | os.PathLike, limit: int | None = None, names: Sequence[str] | None = None
) -> list[PonsSet]:
    """The test sets in ``data_dir`` (all six, or those ``names``, e.g. "End-Easy" or
    "Test_L3_R1"), the first ``limit`` positions of each."""
    data_dir = Path(data_dir)
    chosen = [f for f, n in SETS.items() if names is None or f in names or n in names]
    if names is not None and len(chosen) != len(set(names)):
        raise ValueError(f"unknown test set in {list(names)}; sets: {', '.join(SETS.values())}")
    sets = []
    for file, name in ((f, SETS[f]) for f in chosen):
        path = data_dir / file
        if not path.is_file():
            raise FileNotFoundError(f"no Pons test set {file} in {data_dir}")
        rows = [line.split() for line in path.read_text().splitlines() if line.strip()]
        rows = rows[:limit] if limit else rows
        sets.append(PonsSet(name, tuple(r[0] for r in rows), tuple(int(r[1]) for r in rows)))
    return sets


def move_scores(
    sets: Sequence[PonsSet],
    cache: str | os.PathLike,
    analyze: Callable[[str], list[int | None]] | None = None,
    on_progress: Callable[[], None] | None = None,
) -> dict[str, list[int | None]]:
    """The exact score of every column of every position, from the JSON ``cache`` where known
    and from ``analyze`` (default: a new ``Connect4Solver().analyze``) otherwise; new scores are
    written back to the cache atomically after each set, so an interrupted run keeps them."""
    cache = Path(cache)
    known: dict[str, list[int | None]] = json.loads(cache.read_text()) if cache.exists() else {}
    for pons in sets:
        missing = [m for m in pons.moves if m not in known]
        if not missing:
            continue
        if analyze is None:
            from selfplay.solver import Connect4Solver

            analyze = Connect4Solver().analyze
        for moves in missing:
            known[moves] = analyze(moves)
            if on_progress is not None:
                on_progress()
        cache.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(cache, json.dumps(known).encode())
    return known


def judge(scores: Sequence[int | None], action: int) -> tuple[bool, bool]:
    """(weakly, strongly) optimal: does column ``action`` (0-based) keep the result / the
    exact score of the best move?"""
    best = max(s for s in scores if s is not None)
    chosen = scores[action]
    if chosen is None:
        raise ValueError(f"column {action + 1} is full")
    return bool(np.sign(chosen) == np.sign(best)), chosen == best


def floors(scores: Sequence[int | None]) -> dict[str, tuple[float, float]]:
    """The baselines' (weak, strong) optimality on one position: a uniformly random move (its
    expectation) and centre-first (the legal column nearest the middle)."""
    legal = [a for a, s in enumerate(scores) if s is not None]
    judged = [judge(scores, a) for a in legal]
    centre = min(legal, key=lambda a: (abs(a - 3), a))
    return {
        "random": (float(np.mean([w for w, _ in judged])), float(np.mean([s for _, s in judged]))),
        "centre-first": tuple(float(x) for x in judge(scores, centre)),
    }


def evaluate(
    player: Player,
    sets: Sequence[PonsSet],
    scores: dict[str, list[int | None]],
    rng: np.random.Generator,
) -> list[dict[str, float | str | int]]:
    """One row per set: the share of positions where ``player``'s move is weakly / strongly
    optimal, beside the random and centre-first floors. The player sees every position of a set
    in one batch, with its move history."""
    game = games.make("connect4")
    rows = []
    for pons in sets:
        states = np.concatenate([game.states_from_moves(m) for m in pons.moves])
        histories = [[int(c) - 1 for c in m] for m in pons.moves]
        actions = player.act(game, states, rng, histories)
        judged = [judge(scores[m], int(a)) for m, a in zip(pons.moves, actions, strict=True)]
        base = [floors(scores[m]) for m in pons.moves]
        rows.append(
            {
                "set": pons.name,
                "positions": len(pons.moves),
                "weak": float(np.mean([w for w, _ in judged])),
                "strong": float(np.mean([s for _, s in judged])),
                **{
                    f"{name} {kind}": float(np.mean([b[name][k] for b in base]))
                    for name in ("random", "centre-first")
                    for k, kind in enumerate(("weak", "strong"))
                },
            }
        )
    return rows
