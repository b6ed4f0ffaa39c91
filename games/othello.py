"""Othello (Reversi) on an 8x8 board, with the rules of OpenSpiel's "othello".

Black (player 0) moves first from the standard start (white on d4 and e5, black on d5 and e4).
Actions 0-63 are the squares, row-major; their names are a1..h8 (column letter, row number from
the top, so a1 is the top-left corner); action 64 is "pass", legal only when the player to move
has no other move. The game ends as soon as neither player can move (no explicit passes by both),
and the player with more discs wins.

A state is two 64-bit bitboards (bit ``8 * row + col`` set where that colour has a disc) plus
``player`` and ``outcome``: 18 bytes, so search trees can store millions of them. The rules run
as Numba kernels that loop over the batch, since self-play calls them on thousands of states.
"""

from __future__ import annotations

import numba
import numpy as np

from games.base import GameSpec, TwoPlayerGame, dihedral_symmetries

PASS = 64
"""The pass action."""

_COLUMNS = "abcdefgh"
_MARKS = ".xo"  # board values from `Othello.boards`: 0 empty, 1 black (player 0), 2 white

# Outcome codes (TwoPlayerGame's constants), repeated here as plain ints for the kernels.
_ONGOING, _FIRST_WINS, _SECOND_WINS, _DRAW = 0, 1, 2, 3

# Every bitboard constant is np.uint64 so that Numba never mixes uint64 with int64, which it
# would promote to float64.
_ZERO = np.uint64(0)
_ONE = np.uint64(1)
_NOT_A = np.uint64(0xFEFEFEFEFEFEFEFE)  # all squares but column a
_NOT_H = np.uint64(0x7F7F7F7F7F7F7F7F)  # all squares but column h
_ALL = np.uint64(0xFFFFFFFFFFFFFFFF)
_START_BLACK = np.uint64((1 << 28) | (1 << 35))  # e4, d5
_START_WHITE = np.uint64((1 << 27) | (1 << 36))  # d4, e5

# The 8 directions as bit shifts: the first four shift left (towards h8), the last four right.
# The mask clears the squares a step could only reach by wrapping round the board's edge.
#                      E       SE      S     SW      W       NW      N     NE
_SHIFTS = np.array([1, 9, 8, 7, 1, 9, 8, 7], dtype=np.uint64)
_MASKS = np.array([_NOT_A, _NOT_A, _ALL, _NOT_H, _NOT_H, _NOT_H, _ALL, _NOT_A], dtype=np.uint64)


@numba.njit(cache=True, inline="always")
def _shift(bits, direction):
    """Every disc in ``bits`` moved one step in ``direction``; steps off the board vanish."""
    if direction < 4:
        return (bits << _SHIFTS[direction]) & _MASKS[direction]
    return (bits >> _SHIFTS[direction]) & _MASKS[direction]


@numba.njit(cache=True)
def _moves(own, opp):
    """Bitboard of the empty squares where ``own`` captures: in some direction a run of
    ``opp`` discs is followed by an ``own`` disc."""
    empty = ~(own | opp)
    moves = _ZERO
    for direction in range(8):
        # Grow runs of opponent discs outward from our discs; a run is at most 6 long.
        run = _shift(own, direction) & opp
        for _ in range(5):
            run |= _shift(run, direction) & opp
        moves |= _shift(run, direction) & empty
    return moves


@numba.njit(cache=True)
def _flips(own, opp, square):
    """Bitboard of the ``opp`` discs that a disc placed by ``own`` on ``square`` turns over."""
    placed = _ONE << np.uint64(square)
    flips = _ZERO
    for direction in range(8):
        line = _ZERO
        step = _shift(placed, direction)
        while step & opp:
            line |= step
            step = _shift(step, direction)
        if step & own:  # the run is closed by our disc: it is captured
            flips |= line
    return flips


@numba.njit(cache=True)
def _popcount(bits):
    count = 0
    while bits:
        bits &= bits - _ONE
        count += 1
    return count


@numba.njit(cache=True)
def _outcome(black, white):
    """The outcome code of a position: ongoing while either player can move, else by discs."""
    if _moves(black, white) or _moves(white, black):
        return _ONGOING
    n_black, n_white = _popcount(black), _popcount(white)
    if n_black > n_white:
        return _FIRST_WINS
    if n_white > n_black:
        return _SECOND_WINS
    return _DRAW


@numba.njit(cache=True)
def _legal_kernel(black, white, player, outcome, mask):
    """Fill bool ``mask`` [B, 65]: the squares that capture, or only pass when none does."""
    for b in range(black.shape[0]):
        if outcome[b] != _ONGOING:
            mask[b, :] = True
            continue
        own, opp = (black[b], white[b]) if player[b] == 0 else (white[b], black[b])
        moves = _moves(own, opp)
        for square in range(64):
            mask[b, square] = ((moves >> np.uint64(square)) & _ONE) != _ZERO
        mask[b, PASS] = moves == _ZERO


@numba.njit(cache=True)
def _apply_kernel(black, white, player, outcome, actions):
    """Play ``actions`` [B] in place on the field arrays; finished games are left as they are."""
    for b in range(black.shape[0]):
        if outcome[b] != _ONGOING:
            continue
        action = actions[b]
        if action != PASS:
            if player[b] == 0:
                flips = _flips(black[b], white[b], action)
                black[b] |= flips | (_ONE << np.uint64(action))
                white[b] &= ~flips
            else:
                flips = _flips(white[b], black[b], action)
                white[b] |= flips | (_ONE << np.uint64(action))
                black[b] &= ~flips
        # The opponent always moves next; if only we can move, their one legal action is pass.
        player[b] = 1 - player[b]
        outcome[b] = _outcome(black[b], white[b])


@numba.njit(cache=True)
def _outcome_kernel(black, white, outcome):
    for b in range(black.shape[0]):
        outcome[b] = _outcome(black[b], white[b])


@numba.njit(cache=True)
def _observation_kernel(black, white, player, obs):
    """Fill float32 ``obs`` [B, 2, 8, 8]: discs of the player to move, then the opponent's."""
    for b in range(black.shape[0]):
        own, opp = (black[b], white[b]) if player[b] == 0 else (white[b], black[b])
        for square in range(64):
            bit = _ONE << np.uint64(square)
            row, col = square // 8, square % 8
            obs[b, 0, row, col] = 1.0 if own & bit else 0.0
            obs[b, 1, row, col] = 1.0 if opp & bit else 0.0


class Othello(TwoPlayerGame):
    spec = GameSpec(
        name="othello",
        version=1,
        num_players=2,
        num_actions=65,  # 64 squares row-major, then pass
        observation_shape=(2, 8, 8),  # planes: discs of the player to move, of the opponent
        observation_dtype="uint8",
        # At most 60 placements. A pass is never the last ply (the opponent then has a move)
        # and never the first, so each pass is followed by a placement other than the first:
        # at most 59 passes.
        max_game_length=119,
    )
    state_dtype = np.dtype(
        [("black", np.uint64), ("white", np.uint64), ("player", np.int8), ("outcome", np.int8)]
    )

    def new_initial_states(
        self, batch_size: int, rng: np.random.Generator | None = None
    ) -> np.ndarray:
        states = np.zeros(batch_size, dtype=self.state_dtype)
        states["black"] = _START_BLACK
        states["white"] = _START_WHITE
        return states

    def states_from_boards(self, boards: np.ndarray, players: np.ndarray) -> np.ndarray:
        """States for arbitrary positions: ``boards`` int ``[B, 8, 8]`` as from ``boards``
        (0 empty, 1 black, 2 white), ``players`` ``[B]`` to move. Positions where neither
        side can move come back finished. For tests, puzzles and opening books."""
        boards = np.asarray(boards)
        players = np.asarray(players)
        if boards.ndim != 3 or boards.shape[1:] != (8, 8) or not np.isin(boards, (0, 1, 2)).all():
            raise ValueError(f"othello: boards must be [B, 8, 8] of 0, 1, 2, got {boards.shape}")
        if players.shape != boards.shape[:1] or not np.isin(players, (0, 1)).all():
            raise ValueError(f"othello: players must be [B] of 0 or 1, got {players.shape}")
        flat = boards.reshape(len(boards), 64)
        bits = _ONE << np.arange(64, dtype=np.uint64)
        states = np.zeros(len(boards), dtype=self.state_dtype)
        states["black"] = np.bitwise_or.reduce(np.where(flat == 1, bits, _ZERO), axis=1)
        states["white"] = np.bitwise_or.reduce(np.where(flat == 2, bits, _ZERO), axis=1)
        states["player"] = players
        outcome = np.empty(len(boards), dtype=np.int8)
        _outcome_kernel(states["black"].copy(), states["white"].copy(), outcome)
        states["outcome"] = outcome
        return states

    def boards(self, states: np.ndarray) -> np.ndarray:
        """int8 ``[B, 8, 8]``: 0 empty, 1 black (player 0), 2 white (player 1)."""
        states = self._check_states(states)
        shifts = np.arange(64, dtype=np.uint64)
        black = (states["black"][:, None] >> shifts) & _ONE
        white = (states["white"][:, None] >> shifts) & _ONE
        return (black + 2 * white).astype(np.int8).reshape(-1, 8, 8)

    def legal_actions_mask(self, states: np.ndarray) -> np.ndarray:
        states = self._check_states(states)
        mask = np.empty((len(states), self.spec.num_actions), dtype=bool)
        # Fields of a packed record array are strided and unaligned: hand Numba copies.
        _legal_kernel(
            states["black"].copy(),
            states["white"].copy(),
            states["player"].copy(),
            states["outcome"].copy(),
            mask,
        )
        return mask

    def _apply_actions(self, states: np.ndarray, actions: np.ndarray) -> np.ndarray:
        black, white = states["black"].copy(), states["white"].copy()
        player, outcome = states["player"].copy(), states["outcome"].copy()
        _apply_kernel(black, white, player, outcome, actions)
        new = np.empty(len(states), dtype=self.state_dtype)
        new["black"], new["white"], new["player"], new["outcome"] = black, white, player, outcome
        return new

    def observation_tensor(self, states: np.ndarray) -> np.ndarray:
        states = self._check_states(states)
        obs = np.empty((len(states), *self.spec.observation_shape), dtype=np.float32)
        _observation_kernel(
            states["black"].copy(), states["white"].copy(), states["player"].copy(), obs
        )
        return obs

    def action_to_string(self, action: int) -> str:
        if action == PASS:
            return "pass"
        row, col = divmod(int(action), 8)
        return f"{_COLUMNS[col]}{row + 1}"

    def render(self, states: np.ndarray, index: int = 0) -> str:
        board = self.boards(states[index : index + 1])[0]
        rows = [f"{r + 1} " + " ".join(_MARKS[v] for v in board[r]) for r in range(8)]
        counts = f"x {int((board == 1).sum())}, o {int((board == 2).sum())}"
        status = self.status_line(states, index, ("x (black)", "o (white)"))
        return "\n".join(["  " + " ".join(_COLUMNS), *rows, f"{status}; discs {counts}"])

    def symmetries(
        self, observations: np.ndarray, policies: np.ndarray
    ) -> list[tuple[np.ndarray, np.ndarray]]:
        return dihedral_symmetries(observations, policies, 8, 8)
