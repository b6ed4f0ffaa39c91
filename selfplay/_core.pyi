"""Typed stub of the compiled core (csrc/bindings.cpp). Private: use selfplay.solver and
selfplay.mcts."""

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

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

# -- search kernels (csrc/mcts.hpp), the twins of selfplay.mcts.numba_backend ----------------
# Arrays must be C-contiguous with exactly these dtypes (never copied: TypeError otherwise);
# shapes that disagree raise ValueError. Shapes: B trees, N nodes, A actions, K walks, S sims.

def select_leaves(
    children: NDArray[np.int32],  # [B, N, A]
    prior: NDArray[np.float64],  # [B, N, A]
    root_prior: NDArray[np.float64],  # [B, A]
    legal: NDArray[np.bool_],  # [B, N, A]
    parent: NDArray[np.int32],  # [B, N]
    action_in: NDArray[np.int32],  # [B, N]
    player_in: NDArray[np.int8],  # [B, N]
    to_play: NDArray[np.int8],  # [B, N]
    terminal: NDArray[np.bool_],  # [B, N]
    evaluated: NDArray[np.bool_],  # [B, N]
    visits: NDArray[np.int32],  # [B, N]
    virtual: NDArray[np.int32],  # [B, N]
    value_sum: NDArray[np.float64],  # [B, N]
    leaf_value: NDArray[np.float64],  # [B, N]
    num_nodes: NDArray[np.int32],  # [B]
    gumbel: NDArray[np.float64],  # [B, A]
    schedule: NDArray[np.int32],  # [B, S] (Gumbel; any [1, 1] array for PUCT)
    sim_index: int,
    num_leaves: int,
    algorithm: int,  # 0 PUCT, 1 Gumbel
    num_players: int,
    c_init: float,
    c_base: float,
    fpu_reduction: float,
    virtual_loss: float,
    c_visit: float,
    c_scale: float,
    out_leaf: NDArray[np.int32],  # [B, K]
    out_new: NDArray[np.bool_],  # [B, K]
) -> None:
    """Walks every tree num_leaves times from its root to a leaf, allocating new leaves and
    adding a virtual loss along each path; writes the leaves to out_leaf [B, K] and whether
    each is new to out_new. Mutates the trees in place. RuntimeError when a tree is full."""

def backup(
    parent: NDArray[np.int32],  # [B, N]
    player_in: NDArray[np.int8],  # [B, N]
    visits: NDArray[np.int32],  # [B, N]
    virtual: NDArray[np.int32],  # [B, N]
    value_sum: NDArray[np.float64],  # [B, N]
    leaf_value: NDArray[np.float64],  # [B, N]
    leaves: NDArray[np.int32],  # [B, K]
    num_leaves: int,
    num_players: int,
) -> None:
    """Adds each walk's leaf value to every node on its path and lifts its virtual loss.
    Mutates visits, virtual and value_sum in place."""
