"""Exact Connect Four (7x6) solver, for judging players on solved positions.

Scores follow Pascal Pons' convention (see shared/connect4/README.md): the value for the side to
move under perfect play where both sides prefer the fastest win and the slowest loss. A win with
the winner's k-th stone is worth ``22 - k`` to the winner and ``k - 22`` to the loser; a draw is
0. Positions are written as the columns played so far, 1-based, first player first: ``"4453"``.

The search itself is C++ (``selfplay._core``); this module validates input and names the problem.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence

from selfplay import _core

__all__ = ["HEIGHT", "WIDTH", "Connect4Solver", "parse_moves"]

WIDTH = 7
HEIGHT = 6
_LINES = ((0, 1), (1, 0), (1, 1), (1, -1))  # (dcol, drow): vertical, horizontal, two diagonals


def parse_moves(moves: str | Sequence[int], *, allow_won: bool = False) -> tuple[int, ...]:
    """Validates a move list and returns it as 0-based columns.

    ``moves`` is a string of 1-based column digits (``"4453"``) or a sequence of ints 1..7.
    Raises ValueError naming the problem and the (0-based) move index for a bad character, a
    column out of range, a full column or a move after the game was won; and, unless
    ``allow_won``, for a position that is already won, since such a position has no score.
    """
    columns = _columns(moves)
    heights = [0] * WIDTH
    owner: dict[tuple[int, int], int] = {}  # (col, row) -> player 0 or 1
    won_at: int | None = None
    for i, column in enumerate(columns):
        if not 1 <= column <= WIDTH:
            raise ValueError(f"column {column} out of range 1..{WIDTH} at move index {i}")
        if won_at is not None:
            raise ValueError(f"move index {i} comes after the game was won at move index {won_at}")
        col = column - 1
        if heights[col] == HEIGHT:
            raise ValueError(f"column {column} is full at move index {i}")
        owner[col, heights[col]] = i % 2
        heights[col] += 1
        if _connects_four(owner, col, heights[col] - 1):
            won_at = i
    if won_at is not None and not allow_won:
        raise ValueError(
            f"the position is already won (at move index {won_at}), so it has no score"
        )
    return tuple(column - 1 for column in columns)


def _columns(moves: str | Sequence[int]) -> list[int]:
    """The 1-based columns of ``moves``, not yet range-checked."""
    if isinstance(moves, str):
        for i, char in enumerate(moves):
            if char not in "0123456789":
                raise ValueError(f"bad character {char!r} at move index {i} of {moves!r}")
        return [int(char) for char in moves]
    columns = []
    for i, move in enumerate(moves):
        try:
            if isinstance(move, bool):
                raise TypeError
            columns.append(operator.index(move))
        except TypeError:
            raise ValueError(
                f"bad move {move!r} at move index {i}: expected an int 1..{WIDTH}"
            ) from None
    return columns


def _connects_four(owner: dict[tuple[int, int], int], col: int, row: int) -> bool:
    """Whether the stone at (col, row) is part of four in a line of its owner's stones."""
    player = owner[col, row]
    for dcol, drow in _LINES:
        run = 1
        for sign in (1, -1):
            c, r = col + sign * dcol, row + sign * drow
            while owner.get((c, r)) == player:
                run += 1
                c, r = c + sign * dcol, r + sign * drow
        if run >= 4:
            return True
    return False


class Connect4Solver:
    """Exact solver whose transposition table persists between calls (so repeated or related
    queries, like score() then analyze() of one position, are faster); reset() clears it.

    ``log2_table_size`` sets the table to 2**log2_table_size entries of 8 bytes (10..24; the
    default, 23, takes 64 MiB). Calls release the GIL; concurrent calls on one solver are
    serialised, so use one solver per thread for parallel solving.
    """

    def __init__(self, log2_table_size: int = 23) -> None:
        self._core = _core.Connect4Solver(log2_table_size)

    def score(self, moves: str | Sequence[int]) -> int:
        """Exact score for the side to move after ``moves``; a full board without a win is 0."""
        return self._core.score(parse_moves(moves))

    def analyze(self, moves: str | Sequence[int]) -> list[int | None]:
        """Score of playing each column (index 0 = column 1) for the side to move, or None for a
        full column. A column that wins at once scores the immediate-win value; otherwise its
        score is minus the score of the resulting position. The maximum equals score(moves).
        """
        return self._core.analyze(parse_moves(moves))

    def reset(self) -> None:
        """Clears the transposition table."""
        self._core.reset()

    @property
    def last_node_count(self) -> int:
        """Nodes searched by the most recent score() or analyze() call."""
        return self._core.last_node_count

    @property
    def table_bytes(self) -> int:
        """Memory held by the transposition table."""
        return self._core.table_bytes
