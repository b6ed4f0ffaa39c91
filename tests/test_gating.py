"""The best network and its gate: promotion rules, Elo bookkeeping, one-player solve rates."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from toy_games import LineWalk

import games
from selfplay import gating
from selfplay.arena import ACCEPT_H0, ACCEPT_H1, GateResult, elo_from_score
from selfplay.config import parse_overrides, smoke
from selfplay.gating import BestNetwork
from selfplay.model import PolicyValueNet


@pytest.fixture(autouse=True)
def one_thread():
    torch.set_num_threads(1)


def _setup(game_spec: str, *overrides: str):
    config = parse_overrides([*overrides], base=smoke(parse_overrides([f"game={game_spec}"])))
    game = games.make(game_spec)
    torch.manual_seed(0)
    initial = PolicyValueNet(game.spec, config.model)
    candidate = PolicyValueNet(game.spec, config.model)  # other random weights
    return game, config, initial, candidate


class _FakeMatch:
    """Stands in for a MatchResult: the gate's bookkeeping reads only the score and games."""

    def __init__(self, wins: int, draws: int, losses: int):
        self.score = (wins + draws / 2) / (wins + draws + losses)
        self.tally = type("Tally", (), {"games": wins + draws + losses})()


def _fake_gate(decision: str, wins: int, draws: int, losses: int):
    return lambda *args, **kwargs: GateResult(decision, _FakeMatch(wins, draws, losses))


def test_promotion_replaces_the_weights_and_chains_elo(monkeypatch):
    game, config, initial, candidate = _setup("tictactoe")
    best = BestNetwork(game, config, initial, "cpu")
    monkeypatch.setattr(gating, "gate", _fake_gate(ACCEPT_H1, 30, 10, 10))
    metrics = best.consider(candidate, 3, np.random.default_rng(0))
    assert metrics["arena/promoted"] == 1.0 and best.generation == 3
    expected = elo_from_score(0.7)
    assert metrics["arena/best_elo"] == pytest.approx(expected)
    for key, value in candidate.state_dict().items():
        torch.testing.assert_close(best.model.state_dict()[key], value)
    # A rejected candidate changes nothing.
    monkeypatch.setattr(gating, "gate", _fake_gate(ACCEPT_H0, 5, 10, 35))
    metrics = best.consider(PolicyValueNet(game.spec, config.model), 4, np.random.default_rng(0))
    assert metrics["arena/promoted"] == 0.0 and best.generation == 3
    assert best.history == [(0, 0.0), (3, pytest.approx(expected))]


def test_state_dict_round_trip():
    game, config, initial, candidate = _setup("tictactoe", "arena.gate=none")
    best = BestNetwork(game, config, initial, "cpu")
    best.consider(candidate, 2, np.random.default_rng(0))
    other = BestNetwork(game, config, PolicyValueNet(game.spec, config.model), "cpu")
    other.load_state_dict(best.state_dict())
    assert other.generation == 2 and other.history == best.history
    for key, value in best.model.state_dict().items():
        torch.testing.assert_close(other.model.state_dict()[key], value)


def test_a_copy_of_the_best_network_is_not_promoted():
    """Real arena games: the same network on both sides cannot pass the SPRT."""
    game, config, initial, _ = _setup("tictactoe", "arena.max_games=16", "arena.batch=8")
    best = BestNetwork(game, config, initial, "cpu")
    metrics = best.consider(initial, 1, np.random.default_rng(0))
    assert metrics["arena/promoted"] == 0.0 and 0 < metrics["arena/games"] <= 16
    assert 0.0 <= metrics["arena/score"] <= 1.0


def test_one_player_games_gate_on_the_validation_solve_rate(monkeypatch):
    game = LineWalk()
    config = smoke(parse_overrides(["game=tictactoe"]))  # sizes only; the game is passed in
    torch.manual_seed(0)
    initial = PolicyValueNet(game.spec, config.model)
    best = BestNetwork(game, config, initial, "cpu")
    # Each decision scores the best, then the candidate.
    rates = iter([0.25, 0.5, 0.5, 0.4, 0.4, 0.4])
    monkeypatch.setattr(gating, "solve_rate", lambda *args, **kwargs: next(rates))
    rng = np.random.default_rng(0)
    metrics = best.consider(PolicyValueNet(game.spec, config.model), 1, rng)
    assert metrics["arena/promoted"] == 1.0 and metrics["arena/solve_rate"] == 0.5
    metrics = best.consider(PolicyValueNet(game.spec, config.model), 2, rng)  # worse: kept
    assert metrics["arena/promoted"] == 0.0 and metrics["arena/best_solve_rate"] == 0.5
    metrics = best.consider(PolicyValueNet(game.spec, config.model), 3, rng)  # a tie promotes
    assert metrics["arena/promoted"] == 1.0 and best.generation == 3


def test_each_decision_draws_fresh_problems_that_both_networks_answer(monkeypatch):
    """No score is carried over from the draw a best network was picked on: best and
    candidate answer the same problems, and the next decision draws others."""
    game, config, initial, candidate = _setup("countdown@k=3", "arena.validation_player=policy")
    best = BestNetwork(game, config, initial, "cpu")
    answered = []
    real = gating.solve_rate

    def recording(game, player, states, rng, **kwargs):
        answered.append(states.copy())
        return real(game, player, states, rng, **kwargs)

    monkeypatch.setattr(gating, "solve_rate", recording)
    for generation in (1, 2):
        metrics = best.consider(candidate, generation, np.random.default_rng(0))
        assert 0 <= metrics["arena/best_solve_rate"] <= 1
    assert len(answered) == 4 and len(answered[0]) == config.arena.validation_games
    assert np.array_equal(answered[0], answered[1]) and np.array_equal(answered[2], answered[3])
    assert not np.array_equal(answered[0], answered[2])
    # The draw is the run's: the same seed and generation give the same problems.
    again = BestNetwork(game, config, initial, "cpu")
    again.consider(candidate, 1, np.random.default_rng(0))
    assert np.array_equal(answered[4], answered[0])
