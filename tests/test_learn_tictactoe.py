"""The evaluation of benchmarks/learn_tictactoe.py, without training: its minimax player, the
tree of lines it plays against a deterministic agent, and the search agent's wiring."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import benchmark_module
from toy_games import perfect_tictactoe_evaluator, tictactoe_values

import games
from selfplay.config import ModelConfig
from selfplay.mcts import SearchConfig
from selfplay.model import PolicyValueNet, make_evaluator


@pytest.fixture(scope="module")
def bench():
    with benchmark_module("learn_tictactoe") as module:
        yield module


@pytest.fixture(scope="module")
def game():
    return games.make("tictactoe")


EMPTY = (0,) * 9


def test_minimax_knows_the_classic_facts(bench):
    assert bench.minimax_value(EMPTY) == 0
    assert bench.optimal_moves(EMPTY) == tuple(range(9))  # every first move draws
    corner = (1, 0, 0, 0, 0, 0, 0, 0, 0)
    assert bench.optimal_moves(corner) == (4,)  # only the centre holds a corner opening
    edge = (0, 1, 0, 0, 0, 0, 0, 0, 0)
    assert bench.optimal_moves(edge) == (0, 2, 4, 7)
    x_wins_next = (1, 1, 0, 2, 2, 0, 0, 0, 0)  # X to move completes the top row
    assert bench.minimax_value(x_wins_next) == 1 and 2 in bench.optimal_moves(x_wins_next)
    assert len(bench._reachable_positions()) == 4520


def test_minimax_agrees_with_the_tests_table(bench, game):
    for key, value in tictactoe_values().items():
        state = np.frombuffer(key, dtype=game.state_dtype)
        if not game.is_terminal(state)[0]:
            assert bench.minimax_value(tuple(state["board"][0].tolist())) == value


def _reference(bench, game, agent, seat):
    """The same tree walked one line at a time, recursively: (lines, wins, draws, losses)."""
    totals = np.zeros(4, dtype=int)

    def walk(state):
        if game.is_terminal(state)[0]:
            r = game.returns(state)[0, seat]
            totals[0] += 1
            totals[1 if r > 0 else 3 if r < 0 else 2] += 1
            return
        if game.current_player(state)[0] == seat:
            moves = [int(agent(state)[0])]
        else:
            moves = bench.optimal_moves(tuple(state["board"][0].tolist()))
        for move in moves:
            walk(game.apply_actions(state, np.array([move])))

    walk(game.new_initial_states(1))
    return tuple(totals)


def _lowest_empty(states):
    return (states["board"] == 0).argmax(axis=1)


def _perfect(bench):
    def play(states):
        return np.array([bench.optimal_moves(tuple(b))[-1] for b in states["board"].tolist()])

    return play


@pytest.mark.parametrize("seat", [0, 1])
@pytest.mark.parametrize("which", ["lowest_empty", "perfect"])
def test_levels_match_a_recursive_walk(bench, game, seat, which):
    agent = _lowest_empty if which == "lowest_empty" else _perfect(bench)
    result = bench.play_all_lines(game, agent, seat)
    got = (result.lines, result.wins, result.draws, result.losses)
    assert got == _reference(bench, game, agent, seat)
    if which == "perfect":
        assert result.losses == 0 and result.lost_lines == ()
    else:
        assert result.losses > 0 and len(result.lost_lines) == min(5, result.losses)


def test_lost_lines_name_the_moves(bench, game):
    # X fills the lowest empty cell; O's only optimal replies are the centre, then the block at
    # c1, which wins on the anti-diagonal at a3: a single line.
    result = bench.play_all_lines(game, _lowest_empty, 0)
    assert (result.lines, result.losses) == (1, 1)
    assert result.lost_lines == ("a1 b2 b1 c1 a2 a3",)


def test_every_opening_of_the_minimax_player_is_tried(bench, game):
    seen = []

    def record(states):
        seen.extend(tuple(b) for b in states["board"].tolist())
        return _lowest_empty(states)

    bench.play_all_lines(game, record, 1)
    openings = {b for b in seen if sum(c != 0 for c in b) == 1}
    assert len(openings) == 9  # the agent answered each of X's nine first moves


def test_search_with_exact_values_never_loses(bench, game):
    config = bench.evaluation_search(SearchConfig(dirichlet_alpha=1.0), simulations=64)
    agent = bench.search_agent(
        game, perfect_tictactoe_evaluator(game), config, np.random.default_rng(0)
    )
    for seat in (0, 1):
        assert bench.play_all_lines(game, agent, seat).losses == 0


def test_evaluation_search_is_deterministic_puct(bench):
    config = bench.evaluation_search(SearchConfig(algorithm="gumbel", temperature=1.0), 16)
    assert config.algorithm == "puct" and config.simulations == 16
    assert config.dirichlet_fraction == 0 and config.temperature == 0


def test_untrained_network_gets_diagnostics_and_a_verdict(bench, game):
    torch.manual_seed(0)
    model = PolicyValueNet(game.spec, ModelConfig(blocks=1, channels=8, value_hidden=8)).eval()
    evaluator = make_evaluator(model, "cpu")
    diagnostics = bench.network_diagnostics(game, evaluator)
    assert 0 <= diagnostics["policy_optimal"] <= 1 and 0 <= diagnostics["value_mae"] <= 2
    config = bench.evaluation_search(SearchConfig(), simulations=4)
    agent = bench.search_agent(game, evaluator, config, np.random.default_rng(0))
    result = bench.play_all_lines(game, agent, 1)
    assert result.lines == result.wins + result.draws + result.losses > 0


def test_config_takes_the_preset_and_forces_checkpoints(bench, tmp_path):
    args = bench.parse_args(["--seed", "3", "checkpoint_every=5", "learner.lr=1e-3"])
    config = bench.make_config(args, tmp_path)
    assert config.game == "tictactoe" and config.seed == 3 and config.learner.lr == 1e-3
    assert config.checkpoint_every == 1 and config.run_dir == str(tmp_path) and config.name
    assert config.model.channels == 32  # the preset
    with pytest.raises(ValueError, match="tic-tac-toe"):
        bench.make_config(bench.parse_args(["game=connect4"]), tmp_path)
