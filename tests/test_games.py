"""The game registry and the conformance suite: every built-in game conforms, and the suite
catches each kind of broken game it claims to catch."""

from __future__ import annotations

import re
from importlib.metadata import EntryPoint

import numpy as np
import pytest

import games
from games.conformance import ConformanceError, assert_conforms, check_game
from games.tictactoe import TicTacToe


@pytest.mark.parametrize("name", sorted(games.BUILTIN_GAMES))
def test_builtin_games_conform(name):
    assert_conforms(games.make(name), num_games=24, seed=1)


def test_readme_example_game_conforms_and_plays_by_the_rules(nim_file):
    nim = games.make(f"{nim_file}:Nim")
    assert_conforms(nim)
    # Taking 1 leaves 20, a multiple of 4: then the first player answers 4 - k and wins.
    states = nim.apply_actions(nim.new_initial_states(1), np.array([0]))
    for take in [3, 1, 2, 3, 1]:
        states = nim.apply_actions(states, np.array([take - 1]))
        states = nim.apply_actions(states, np.array([4 - take - 1]))
    assert states["heap"][0] == 0
    np.testing.assert_array_equal(nim.returns(states), [[1, -1]])
    assert nim.render(states) == "heap 0, first won"


# -- the registry ---------------------------------------------------------------------------


def test_make_builtin_and_module_specs():
    game = games.make("tictactoe")
    assert isinstance(game, TicTacToe) and game.source == "tictactoe"
    assert isinstance(games.make("games.tictactoe:TicTacToe"), TicTacToe)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            "chess",
            "unknown game 'chess'; registered games: addition, connect4, countdown, game24, "
            "othello, tictactoe",
        ),
        ("no/such/file.py:Game", "no such file"),
        ("games.tictactoe:Nope", "has no attribute 'Nope'"),
        ("games.base:GameSpec", "is not a subclass of games.Game"),
        ("no_such_module_xyz:Game", "cannot import module 'no_such_module_xyz'"),
        ("", "non-empty string"),
    ],
)
def test_make_rejects_bad_specs_with_a_clear_message(spec, message):
    with pytest.raises(games.GameLoadError, match=re.escape(message)):
        games.make(spec)


def test_user_file_that_fails_to_import_is_reported(tmp_path):
    path = tmp_path / "broken.py"
    path.write_text("raise RuntimeError('boom')\n")
    with pytest.raises(games.GameLoadError, match=r"importing .*broken\.py failed: RuntimeError"):
        games.make(f"{path}:Broken")


def test_entry_point_games_are_found(monkeypatch, nim_file):
    import importlib.util
    import sys

    module_spec = importlib.util.spec_from_file_location("plugin_nim", nim_file)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    monkeypatch.setitem(sys.modules, "plugin_nim", module)
    fake = [EntryPoint("nim", "plugin_nim:Nim", games.ENTRY_POINT_GROUP)]
    monkeypatch.setattr(
        games, "entry_points", lambda group: fake if group == "selfplay.games" else []
    )
    assert games.available()["nim"] == "plugin_nim:Nim"
    assert games.make("nim").spec.name == "nim"


def test_illegal_action_error_names_game_action_and_position():
    game = games.make("connect4")
    states = game.states_from_moves("111111")
    with pytest.raises(games.IllegalActionError) as info:
        game.apply_actions(np.concatenate([game.new_initial_states(1), states]), np.array([0, 0]))
    message = str(info.value)
    assert (
        "connect4" in message and "illegal action 0" in message and "game 1 of the batch" in message
    )
    assert "O . . . . . ." in message  # the full column is drawn


def test_apply_actions_rejects_wrong_shapes_and_foreign_states():
    game = games.make("tictactoe")
    with pytest.raises(ValueError, match="actions must be integers of shape"):
        game.apply_actions(game.new_initial_states(2), np.array([0]))
    with pytest.raises(TypeError, match="state_dtype"):
        game.apply_actions(games.make("connect4").new_initial_states(1), np.array([0]))


# -- the suite catches broken games -------------------------------------------------------


class NotZeroSum(TicTacToe):
    def returns(self, states):
        return np.abs(super().returns(states))


class ChangesItsInput(TicTacToe):
    def _apply_actions(self, states, actions):
        new = super()._apply_actions(states, actions)
        states[:] = new
        return new


class ObservationDependsOnBatchPosition(TicTacToe):
    def observation_tensor(self, states):
        obs = super().observation_tensor(states)
        obs[1:] = 0
        return obs


class TerminalMaskNotAllTrue(TicTacToe):
    def legal_actions_mask(self, states):
        return states["board"] == 0


class TooShort(TicTacToe):
    spec = games.GameSpec("too_short", 1, 2, 9, (2, 3, 3), max_game_length=4)


class AcceptsIllegalMoves(TicTacToe):
    def apply_actions(self, states, actions):
        return self._apply_actions(states, np.asarray(actions))


class SameActionNames(TicTacToe):
    def action_to_string(self, action):
        return "x"


class SymmetryLosesActions(TicTacToe):
    def symmetries(self, observations, policies):
        return [(observations, policies), (observations, np.zeros_like(policies))]


class HalfPlanesInBytes(TicTacToe):
    """Declares uint8 observations (as tic-tac-toe does) but writes halves into them."""

    def observation_tensor(self, states):
        return super().observation_tensor(states) * 0.5


class BatchedDiffersFromSingle(TicTacToe):
    def _apply_actions(self, states, actions):
        new = super()._apply_actions(states, actions)
        if len(states) > 1:  # a bug that shows only in batches: draws count as X wins
            new["outcome"][new["outcome"] == self.DRAW] = self.FIRST_WINS
        return new


@pytest.mark.parametrize(
    ("broken", "invariant"),
    [
        (NotZeroSum, "returns"),
        (ChangesItsInput, "apply_actions leaves its input unchanged; finished games stay finished"),
        (ObservationDependsOnBatchPosition, "results independent of batch position"),
        (TerminalMaskNotAllTrue, "legal mask and player to move"),
        (TooShort, "games end within max_game_length"),
        (AcceptsIllegalMoves, "illegal actions raise IllegalActionError and change nothing"),
        (SameActionNames, "action names round-trip"),
        (SymmetryLosesActions, "symmetries"),
        (BatchedDiffersFromSingle, "batched play equals one-by-one play"),
        (HalfPlanesInBytes, "shapes and dtypes"),
    ],
)
def test_suite_names_the_broken_invariant(broken, invariant):
    results = {r.invariant: r for r in check_game(broken(), num_games=32, seed=3)}
    assert invariant in results, f"no check named {invariant!r}"
    assert not results[invariant].passed
    assert results[invariant].detail
    with pytest.raises(ConformanceError, match=re.escape(invariant)):
        assert_conforms(broken(), num_games=32, seed=3)


def test_failure_shows_the_position():
    result = {r.invariant: r for r in check_game(NotZeroSum(), seed=0)}["returns"]
    assert "after moves [" in result.detail and "  a b c" in result.detail
