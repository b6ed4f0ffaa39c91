"""Connect Four on the standard 7-column, 6-row board. Player 0 (X) moves first. Action c drops a
stone in column c (0-6, named "1".."7" as in Pascal Pons' solver and the shared test sets).

Each player's stones are a 64-bit bitboard: bit ``7 * column + row`` (row 0 at the bottom, and a
seventh, always empty, sentinel bit on top of each column so that shifted lines never wrap from
one column into the next). A four-in-a-row test is then four shifts and ands. The kernels are
compiled with Numba and loop over the batch.
"""

from __future__ import annotations

import numba
import numpy as np

from games.base import GameSpec, TwoPlayerGame

WIDTH, HEIGHT = 7, 6
_ONE = np.uint64(1)
_COLUMN_BITS = HEIGHT + 1  # six cells and the sentinel


@numba.njit(cache=True, inline="always")
def _bit(col: int, row: int) -> np.uint64:
    return _ONE << np.uint64(col * _COLUMN_BITS + row)


@numba.njit(cache=True)
def _has_four(stones: np.uint64) -> bool:
    # Shift by 1: vertical; by 7: horizontal; by 6 and 8: the two diagonals.
    for shift in (1, 7, 6, 8):
        s = np.uint64(shift)
        pairs = stones & (stones >> s)
        if pairs & (pairs >> (s + s)):
            return True
    return False


@numba.njit(cache=True)
def _apply(stones, player, outcome, plies, actions):
    """Drops each live game's stone in place; finished games are left as they are."""
    for b in range(actions.shape[0]):
        if outcome[b] != 0:
            continue
        p = player[b]
        col = actions[b]
        occupied = stones[b, 0] | stones[b, 1]
        # Adding the column's bottom bit carries up to the first empty cell of that column.
        column = ((_ONE << np.uint64(HEIGHT)) - _ONE) << np.uint64(col * _COLUMN_BITS)
        move = (occupied + _bit(col, 0)) & column
        stones[b, p] |= move
        plies[b] += 1
        if _has_four(stones[b, p]):
            outcome[b] = p + 1
        elif plies[b] == WIDTH * HEIGHT:
            outcome[b] = 3
        player[b] = 1 - p


@numba.njit(cache=True)
def _legal(stones, outcome):
    n = stones.shape[0]
    mask = np.ones((n, WIDTH), dtype=np.bool_)
    for b in range(n):
        if outcome[b] != 0:
            continue
        occupied = stones[b, 0] | stones[b, 1]
        for col in range(WIDTH):
            mask[b, col] = (occupied & _bit(col, HEIGHT - 1)) == 0
    return mask


@numba.njit(cache=True)
def _planes(stones, player):
    """[B, 2, HEIGHT, WIDTH] own and opponent stones, row 0 at the top as people draw it."""
    n = stones.shape[0]
    out = np.zeros((n, 2, HEIGHT, WIDTH), dtype=np.float32)
    for b in range(n):
        for plane in range(2):
            bits = stones[b, player[b] ^ plane]
            for col in range(WIDTH):
                for row in range(HEIGHT):
                    if bits & _bit(col, row):
                        out[b, plane, HEIGHT - 1 - row, col] = 1.0
    return out


class ConnectFour(TwoPlayerGame):
    spec = GameSpec(
        name="connect4",
        version=1,
        num_players=2,
        num_actions=WIDTH,
        observation_shape=(2, HEIGHT, WIDTH),  # planes: stones of the player to move, opponent's
        observation_dtype="uint8",
        max_game_length=WIDTH * HEIGHT,
    )
    state_dtype = np.dtype(
        [("stones", np.uint64, (2,)), ("player", np.int8), ("outcome", np.int8), ("plies", np.int8)]
    )

    def new_initial_states(
        self, batch_size: int, rng: np.random.Generator | None = None
    ) -> np.ndarray:
        return np.zeros(batch_size, dtype=self.state_dtype)

    def legal_actions_mask(self, states: np.ndarray) -> np.ndarray:
        states = self._check_states(states)
        return _legal(states["stones"], states["outcome"])

    def _apply_actions(self, states: np.ndarray, actions: np.ndarray) -> np.ndarray:
        new = states.copy()
        _apply(new["stones"], new["player"], new["outcome"], new["plies"], actions)
        return new

    def observation_tensor(self, states: np.ndarray) -> np.ndarray:
        states = self._check_states(states)
        return _planes(states["stones"], states["player"])

    def action_to_string(self, action: int) -> str:
        return str(int(action) + 1)

    def render(self, states: np.ndarray, index: int = 0) -> str:
        states = self._check_states(states)
        planes = _planes(states["stones"][index : index + 1], np.zeros(1, np.int8))[0]
        rows = [
            " ".join(
                "X" if planes[0, r, c] else "O" if planes[1, r, c] else "." for c in range(WIDTH)
            )
            for r in range(HEIGHT)
        ]
        header = " ".join(self.action_to_string(c) for c in range(WIDTH))
        return "\n".join([header, *rows, self.status_line(states, index, ("X", "O"))])

    def symmetries(
        self, observations: np.ndarray, policies: np.ndarray
    ) -> list[tuple[np.ndarray, np.ndarray]]:
        mirrored = (
            np.ascontiguousarray(observations[..., ::-1]),
            np.ascontiguousarray(policies[:, ::-1]),
        )
        return [(observations, policies), mirrored]

    def states_from_moves(self, moves: str) -> np.ndarray:
        """The one-game batch reached by ``moves``, a string of 1-based columns such as
        "4453" (the notation of the shared test sets)."""
        if not moves.strip().isdigit() and moves.strip():
            raise ValueError(f"connect4: moves must be column digits 1-7, got {moves!r}")
        states = self.new_initial_states(1)
        for ply, ch in enumerate(moves.strip()):
            col = int(ch) - 1
            if not 0 <= col < WIDTH:
                raise ValueError(f"connect4: move {ply + 1} of {moves!r} is column {ch}, not 1-7")
            if self.is_terminal(states)[0]:
                raise ValueError(
                    f"connect4: move {ply + 1} of {moves!r} comes after the game ended"
                )
            states = self.apply_actions(states, np.array([col]))
        return states
