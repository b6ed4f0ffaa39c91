"""Our rules against an independent implementation: OpenSpiel's, on >= 10,000 random positions
per game. Othello's comparison lives in test_othello.py."""

from __future__ import annotations

import numpy as np
import pytest

import games

pyspiel = pytest.importorskip("pyspiel")

MIN_POSITIONS = 10_000


def _tictactoe_board(obs: np.ndarray) -> np.ndarray:
    planes = obs.reshape(3, 3, 3)  # OpenSpiel planes: empty, o (player 1), x (player 0)
    return np.stack([planes[2], planes[1]])


def _connect4_board(obs: np.ndarray) -> np.ndarray:
    planes = obs.reshape(3, 6, 7)  # OpenSpiel planes: x, o, empty; row 0 is the bottom row
    return np.stack([planes[0][::-1], planes[1][::-1]])


CASES = {
    "tictactoe": ("tic_tac_toe", _tictactoe_board),
    "connect4": ("connect_four", _connect4_board),
}


def _absolute_board(game: games.Game, states: np.ndarray) -> np.ndarray:
    """[B, 2, H, W]: player 0's stones, then player 1's (our observation is the mover's view)."""
    obs = game.observation_tensor(states)
    mover = states["player"].astype(bool)
    obs[mover] = obs[mover][:, ::-1]
    return obs


@pytest.mark.parametrize("name", sorted(CASES))
def test_rules_match_openspiel(name):
    spiel_name, spiel_board = CASES[name]
    game, reference = games.make(name), pyspiel.load_game(spiel_name)
    rng = np.random.default_rng(2024)
    compared = 0
    while compared < MIN_POSITIONS:
        states = game.new_initial_states(128)
        refs = [reference.new_initial_state() for _ in range(128)]
        while not game.is_terminal(states).all():
            mask, player = game.legal_actions_mask(states), game.current_player(states)
            done, board = game.is_terminal(states), _absolute_board(game, states)
            returns = game.returns(states)
            actions = np.zeros(len(states), dtype=np.int64)
            for i, ref in enumerate(refs):
                where = f"{name} game {i}, moves {ref.history()}"
                assert done[i] == ref.is_terminal(), where
                np.testing.assert_array_equal(
                    board[i], spiel_board(np.array(ref.observation_tensor(0))), where
                )
                if done[i]:
                    np.testing.assert_array_equal(returns[i], ref.returns(), where)
                    continue
                assert player[i] == ref.current_player(), where
                assert list(np.flatnonzero(mask[i])) == ref.legal_actions(), where
                actions[i] = rng.choice(ref.legal_actions())
                ref.apply_action(int(actions[i]))
                compared += 1
            states = game.apply_actions(states, actions)
        for i, ref in enumerate(refs):  # the final positions
            assert ref.is_terminal()
            np.testing.assert_array_equal(game.returns(states)[i], ref.returns())
    assert compared >= MIN_POSITIONS
