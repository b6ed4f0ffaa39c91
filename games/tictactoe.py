"""Tic-tac-toe on a 3x3 board. X (player 0) moves first. Actions 0-8 are the cells, row-major;
their names are a1..c3 (column letter, row number from the top). Vectorised NumPy: the board is
tiny, so plain array operations over the batch are fast enough."""

from __future__ import annotations

import numpy as np

from games.base import GameSpec, TwoPlayerGame, dihedral_symmetries

_LINES = np.array(
    [[0, 1, 2], [3, 4, 5], [6, 7, 8], [0, 3, 6], [1, 4, 7], [2, 5, 8], [0, 4, 8], [2, 4, 6]]
)
_MARKS = ".XO"  # cell values: 0 empty, 1 player 0 (X), 2 player 1 (O)


class TicTacToe(TwoPlayerGame):
    spec = GameSpec(
        name="tictactoe",
        version=1,
        num_players=2,
        num_actions=9,
        observation_shape=(2, 3, 3),  # planes: stones of the player to move, of the opponent
        observation_dtype="uint8",
        max_game_length=9,
    )
    state_dtype = np.dtype([("board", np.int8, (9,)), ("player", np.int8), ("outcome", np.int8)])

    def new_initial_states(
        self, batch_size: int, rng: np.random.Generator | None = None
    ) -> np.ndarray:
        return np.zeros(batch_size, dtype=self.state_dtype)

    def legal_actions_mask(self, states: np.ndarray) -> np.ndarray:
        states = self._check_states(states)
        return (states["board"] == 0) | self.is_terminal(states)[:, None]

    def _apply_actions(self, states: np.ndarray, actions: np.ndarray) -> np.ndarray:
        new = states.copy()
        live = np.flatnonzero(new["outcome"] == self.ONGOING)
        player = new["player"][live]
        board = new["board"]  # a view: writes land in `new`
        board[live, actions[live]] = player + 1
        lines = board[live][:, _LINES]  # [b, 8, 3]
        won = (lines == (player + 1)[:, None, None]).all(axis=2).any(axis=1)
        full = (board[live] != 0).all(axis=1)
        new["outcome"][live] = np.where(
            won, player + self.FIRST_WINS, np.where(full, self.DRAW, self.ONGOING)
        )
        new["player"][live] = 1 - player
        return new

    def observation_tensor(self, states: np.ndarray) -> np.ndarray:
        states = self._check_states(states)
        board = states["board"].reshape(-1, 3, 3)
        own = (states["player"] + 1)[:, None, None]
        opp = (2 - states["player"])[:, None, None]
        return np.stack([board == own, board == opp], axis=1).astype(np.float32)

    def action_to_string(self, action: int) -> str:
        row, col = divmod(int(action), 3)
        return f"{'abc'[col]}{row + 1}"

    def render(self, states: np.ndarray, index: int = 0) -> str:
        board = self._check_states(states)["board"][index].reshape(3, 3)
        rows = [f"{r + 1} " + " ".join(_MARKS[v] for v in board[r]) for r in range(3)]
        return "\n".join(["  a b c", *rows, self.status_line(states, index, ("X", "O"))])

    def symmetries(
        self, observations: np.ndarray, policies: np.ndarray
    ) -> list[tuple[np.ndarray, np.ndarray]]:
        return dihedral_symmetries(observations, policies, 3, 3)
