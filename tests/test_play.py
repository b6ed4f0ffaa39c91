"""Playing against a checkpoint in the terminal: the session's rules and the text loop."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from test_players import _tiny_checkpoint

import games
from selfplay.cli import main
from selfplay.play import PlaySession, run_terminal
from selfplay.players import NetworkPlayer


def tictactoe_session(tmp_path, simulations: int) -> PlaySession:
    """A human (first) against a tiny tic-tac-toe checkpoint searching ``simulations``."""
    torch.set_num_threads(1)
    path = tmp_path / "checkpoint.pt"
    _tiny_checkpoint(path, "tictactoe")
    engine = NetworkPlayer.from_checkpoint(path, simulations=simulations, device="cpu")
    return PlaySession(games.make("tictactoe"), engine, human=0)


@pytest.fixture
def session(tmp_path):
    return tictactoe_session(tmp_path, simulations=16)


def test_moves_errors_engine_and_undo(session):
    assert "no action named 'zz'" in session.human_move("zz")
    assert session.human_move("b2") is None
    assert session.human_move("a1") == "it is not your move"
    move = session.engine_move()
    assert move.action != 4 and -1 <= move.value <= 1
    assert move.top and sum(n for _, n, _ in move.top) <= 16 and move.top[0][1] >= move.top[-1][1]
    message = session.human_move("b2")
    assert "'b2' is not legal here; legal moves:" in message and "b2," not in message
    assert session.undo()  # back to before the person's move: the empty board
    assert (session.states["board"] == 0).all() and session.to_move == 0
    assert not session.undo()


def test_a_finished_game_reports_the_result(session):
    game = session.game
    while not session.over:  # the person plays the first legal cell, the engine answers
        legal = np.flatnonzero(game.legal_actions_mask(session.states)[0])
        assert session.human_move(game.action_to_string(int(legal[0]))) is None
        if not session.over:
            session.engine_move()
    mine = game.returns(session.states)[0, 0]
    expected = {1.0: "you won", -1.0: "you lost", 0.0: "a draw"}[float(mine)]
    assert session.result() == expected
    assert session.human_move("a1") == "it is not your move"
    session.new_game()
    assert not session.over and session.history == []


def test_terminal_loop_with_scripted_input(session):
    inputs = iter(["zz", "b2", "undo", "swap", "quit"])
    lines: list[str] = []
    run_terminal(session, read=lambda prompt: next(inputs), write=lines.append)
    text = "\n".join(lines)
    assert "type a move (e.g. a1)" in text and "no action named 'zz'" in text
    assert text.count("engine plays") >= 2  # after b2, and after swapping sides
    assert session.human == 1


def test_play_rejects_a_bad_checkpoint(tmp_path, capsys):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    assert main(["play", str(bad)]) == 2
    assert "bad.pt" in capsys.readouterr().err


def test_one_player_games_cannot_be_played_against(session):
    from toy_games import LineWalk

    with pytest.raises(ValueError, match="one-player game"):
        PlaySession(LineWalk(), session.engine, human=0)


def test_engine_move_matches_a_search_of_the_same_position(session):
    session.human_move("a1")
    move = session.engine_move()
    assert session.game.legal_actions_mask(session.history[-1])[0, move.action]
    assert np.isfinite(move.value)
