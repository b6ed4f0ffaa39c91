"""Rules of tic-tac-toe and Connect Four beyond what OpenSpiel cross-checks: symmetries agree with
playing the transformed moves, the move-string helper rejects bad input."""

from __future__ import annotations

import numpy as np
import pytest

import games


def _play(game: games.Game, actions: list[int]) -> np.ndarray:
    states = game.new_initial_states(1)
    for a in actions:
        states = game.apply_actions(states, np.array([a]))
    return states


def _dihedral_cell_maps(n: int) -> list[np.ndarray]:
    """For each of the 8 symmetries of an n x n board, where cell k goes (as a flat index)."""
    cells = np.arange(n * n).reshape(n, n)
    maps = []
    for flip in (False, True):
        for k in range(4):
            image = np.rot90(cells[:, ::-1] if flip else cells, k)
            # image[r, c] = the cell that lands on (r, c); invert to "where does cell go".
            where = np.empty(n * n, dtype=int)
            where[image.ravel()] = np.arange(n * n)
            maps.append(where)
    return maps


def test_tictactoe_symmetries_match_transformed_games():
    game = games.make("tictactoe")
    rng = np.random.default_rng(0)
    for _ in range(20):
        moves = list(rng.permutation(9)[: rng.integers(1, 6)])
        states = _play(game, moves)
        policy = rng.random((1, 9)).astype(np.float32)
        pairs = game.symmetries(game.observation_tensor(states), policy)
        assert len(pairs) == 8
        for (obs, pol), where in zip(pairs, _dihedral_cell_maps(3), strict=True):
            transformed = _play(game, [int(where[m]) for m in moves])
            np.testing.assert_array_equal(obs, game.observation_tensor(transformed))
            np.testing.assert_array_equal(pol[0, where], policy[0])


def test_connect4_mirror_matches_the_mirrored_game():
    game = games.make("connect4")
    moves = "4453261"
    mirrored = "".join(str(8 - int(c)) for c in moves)
    states, twin = game.states_from_moves(moves), game.states_from_moves(mirrored)
    policy = np.arange(7, dtype=np.float32)[None]
    (obs, _), (mobs, mpol) = game.symmetries(game.observation_tensor(states), policy)
    np.testing.assert_array_equal(obs, game.observation_tensor(states))
    np.testing.assert_array_equal(mobs, game.observation_tensor(twin))
    np.testing.assert_array_equal(mpol[0], policy[0, ::-1])


@pytest.mark.parametrize(
    ("moves", "winner"),
    [("1212121", 0), ("1122334", 0), ("12234334544", 0), ("76654554344", 0), ("12121232", 1)],
)
def test_connect4_lines_in_every_direction(moves, winner):
    game = games.make("connect4")
    states = game.states_from_moves(moves)
    assert game.is_terminal(states)[0]
    expected = [1.0, -1.0] if winner == 0 else [-1.0, 1.0]
    np.testing.assert_array_equal(game.returns(states)[0], expected)


@pytest.mark.parametrize(
    ("moves", "message"),
    [
        ("12a", "column digits 1-7"),
        ("128", "move 3 of '128' is column 8"),
        ("12121212", "move 8 of '12121212' comes after the game ended"),
        ("1111111", "illegal action 0"),
    ],
)
def test_connect4_states_from_moves_rejects_bad_input(moves, message):
    with pytest.raises(ValueError, match=message):
        games.make("connect4").states_from_moves(moves)
