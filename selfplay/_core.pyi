"""Typed stub of the compiled core (csrc/bindings.cpp). Private: use selfplay.solver."""

from collections.abc import Sequence

CONNECT4_WIDTH: int
CONNECT4_HEIGHT: int

class Connect4Solver:
    """Exact Connect Four solver with a transposition table kept between calls."""

    def __init__(self, log2_table_size: int = 23) -> None:
        """Allocates a table of 2**log2_table_size entries of 8 bytes (10 <= log2 <= 24)."""

    def score(self, columns: Sequence[int]) -> int:
        """Exact score for the side to move after 0-based `columns` (Pons' scale)."""

    def analyze(self, columns: Sequence[int]) -> list[int | None]:
        """Score of playing each column for the side to move; None for a full column."""

    def reset(self) -> None:
        """Clears the transposition table."""

    @property
    def last_node_count(self) -> int:
        """Nodes searched by the most recent score() or analyze() call."""

    @property
    def table_entries(self) -> int: ...
    @property
    def table_bytes(self) -> int: ...
