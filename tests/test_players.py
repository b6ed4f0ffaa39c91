"""Players: every one plays legal moves in batches that mix the player to move; minimax at full
depth is perfect; the solver player keeps every position's exact score; network players load
from checkpoints and refuse the wrong game."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from toy_games import LineWalk, all_tictactoe_positions, tictactoe_values

import games
from selfplay.arena import solve_rate
from selfplay.checkpoint import CheckpointError, game_info, load_checkpoint, save_checkpoint
from selfplay.config import ModelConfig, RunConfig, to_dict
from selfplay.mcts import SearchConfig
from selfplay.model import PolicyValueNet, make_evaluator
from selfplay.players import (
    MinimaxPlayer,
    NetworkPlayer,
    Player,
    RandomPlayer,
    RolloutMCTSPlayer,
    SolverPlayer,
    connect4_heuristic,
    connect4_moves,
    evaluation_config,
)
from selfplay.solver import Connect4Solver

torch.set_num_threads(1)

TICTACTOE = games.make("tictactoe")
CONNECT4 = games.make("connect4")


def _random_positions(game, count, plies, seed):
    """Live positions after ``plies`` random moves each, with their move lists."""
    rng = np.random.default_rng(seed)
    states = game.new_initial_states(count)
    histories = [[] for _ in range(count)]
    for _ in range(plies):
        live = ~game.is_terminal(states)
        actions = RandomPlayer().act(game, states, rng)
        for b in np.flatnonzero(live):
            histories[b].append(int(actions[b]))
        states = game.apply_actions(states, actions)
    keep = np.flatnonzero(~game.is_terminal(states))
    return states[keep], [histories[b] for b in keep]


def _mixed_tictactoe(count=24, seed=0):
    """Positions at 0 to 6 plies: both players to move in one batch."""
    parts = [_random_positions(TICTACTOE, 4, plies, seed + plies)[0] for plies in range(7)]
    states = np.concatenate(parts)[:count]
    assert set(TICTACTOE.current_player(states)) == {0, 1}
    return states


def _value_after(states, actions) -> np.ndarray:
    """Exact tic-tac-toe value of each move for the player who made it."""
    table = tictactoe_values()
    kids = TICTACTOE.apply_actions(states, actions)
    values = []
    for i in range(len(states)):
        kid = kids[i : i + 1]
        if TICTACTOE.is_terminal(kid)[0]:
            values.append(float(TICTACTOE.returns(kid)[0, states["player"][i]]))
        else:
            values.append(-table[kid.tobytes()])
    return np.array(values)


def _tiny_checkpoint(path, game_name="tictactoe", *, version=None, generation=3):
    game = games.make(game_name)
    config = RunConfig(game=game_name, model=ModelConfig(blocks=1, channels=8, value_hidden=8))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = PolicyValueNet(game.spec, config.model)
    info = game_info(game.spec)
    if version is not None:
        info["version"] = version
    save_checkpoint(
        path,
        {"game": info, "config": to_dict(config), "learner": {"model": model.state_dict()},
         "generation": generation},
    )  # fmt: skip
    return model


# -- every player --------------------------------------------------------------------------------


def _players():
    return [
        RandomPlayer(),
        RolloutMCTSPlayer(16),
        MinimaxPlayer(2),
        NetworkPlayer(PolicyValueNet(TICTACTOE.spec, ModelConfig(blocks=0, channels=4,
                                                                 value_hidden=4)),
                      evaluation_config(simulations=8), device="cpu"),
    ]  # fmt: skip


@pytest.mark.parametrize("index", range(4), ids=["random", "uct", "minimax", "network"])
def test_players_play_legal_moves_in_mixed_batches(index):
    player = _players()[index]
    assert isinstance(player, Player) and player.name
    states = _mixed_tictactoe()
    actions = player.act(TICTACTOE, states, np.random.default_rng(0), None)
    assert actions.shape == (len(states),) and np.issubdtype(actions.dtype, np.integer)
    assert TICTACTOE.legal_actions_mask(states)[np.arange(len(states)), actions].all()


def test_random_player_is_seeded_and_covers_the_legal_moves():
    states = TICTACTOE.new_initial_states(2000)
    a = RandomPlayer().act(TICTACTOE, states, np.random.default_rng(5), None)
    b = RandomPlayer().act(TICTACTOE, states, np.random.default_rng(5), None)
    assert np.array_equal(a, b)
    counts = np.bincount(a, minlength=9)
    assert counts.min() > 150  # about 222 each


# -- minimax -------------------------------------------------------------------------------------


def test_full_depth_minimax_keeps_the_value_of_every_tictactoe_position():
    states = all_tictactoe_positions(TICTACTOE)
    player = MinimaxPlayer(9)
    actions = player.act(TICTACTOE, states, np.random.default_rng(0), None)
    table = tictactoe_values()
    wanted = np.array([table[states[i : i + 1].tobytes()] for i in range(len(states))])
    assert np.array_equal(_value_after(states, actions), wanted)


def test_minimax_wins_at_once_and_blocks():
    # X (to move) wins at c1 (action 2); O (to move) must block X's a1-b1 row at c1.
    win = TICTACTOE.apply_actions(TICTACTOE.new_initial_states(1), np.array([0]))
    for a in (3, 1, 4):
        win = TICTACTOE.apply_actions(win, np.array([a]))
    block = TICTACTOE.apply_actions(TICTACTOE.new_initial_states(1), np.array([0]))
    for a in (4, 1):
        block = TICTACTOE.apply_actions(block, np.array([a]))
    for depth in (1, 2, 3):
        player = MinimaxPlayer(depth, tie_break="first")
        assert player.act(TICTACTOE, win, np.random.default_rng(0), None)[0] == 2
    assert MinimaxPlayer(2).act(TICTACTOE, block, np.random.default_rng(0), None)[0] == 2
    # Connect Four: X completes column 1; O must stop X's three in the bottom row.
    rng = np.random.default_rng(0)
    assert MinimaxPlayer(1).act(CONNECT4, CONNECT4.states_from_moves("121212"), rng)[0] == 0
    assert MinimaxPlayer(2).act(CONNECT4, CONNECT4.states_from_moves("11223"), rng)[0] == 3


def test_minimax_breaks_ties_at_random_or_first():
    empty = TICTACTOE.new_initial_states(1)
    first = MinimaxPlayer(9, tie_break="first")
    firsts = {int(first.act(TICTACTOE, empty, np.random.default_rng(s))[0]) for s in range(4)}
    assert len(firsts) == 1
    player = MinimaxPlayer(9)
    chosen = {int(player.act(TICTACTOE, empty, np.random.default_rng(s))[0]) for s in range(12)}
    assert len(chosen) > 2  # every first move draws


def test_connect4_heuristic_is_antisymmetric_and_likes_the_centre_and_threes():
    centre = CONNECT4.states_from_moves("4")  # O to move, X holds the centre
    edge = CONNECT4.states_from_moves("1")
    h_centre, h_edge = connect4_heuristic(CONNECT4, np.concatenate([centre, edge]))
    assert h_centre < h_edge == 0
    # O to move: X has three in a row with an empty fourth cell, O two stacked.
    assert connect4_heuristic(CONNECT4, CONNECT4.states_from_moves("15253"))[0] < -0.1
    # The same stones seen by the other player score the opposite.
    states, _ = _random_positions(CONNECT4, 40, 10, seed=1)
    swapped = states.copy()
    swapped["player"] = 1 - swapped["player"]
    h = connect4_heuristic(CONNECT4, states)
    assert np.allclose(connect4_heuristic(CONNECT4, swapped), -h)
    assert np.abs(h).max() < 1 and np.abs(h).min() < np.abs(h).max()


# -- rollout MCTS --------------------------------------------------------------------------------


def test_rollout_mcts_finds_wins_and_solves_a_puzzle():
    win = TICTACTOE.apply_actions(TICTACTOE.new_initial_states(1), np.array([0]))
    for a in (3, 1, 4):
        win = TICTACTOE.apply_actions(win, np.array([a]))
    player = RolloutMCTSPlayer(64)
    assert player.act(TICTACTOE, np.repeat(win, 8), np.random.default_rng(0))[0] == 2
    # One-player games: UCT finds landing exactly on 7 where random steps rarely do.
    game = LineWalk()
    rng = np.random.default_rng(1)
    start = game.new_initial_states(40)
    assert solve_rate(game, RolloutMCTSPlayer(60), start, rng) >= 0.9
    assert solve_rate(game, RandomPlayer(), start, rng) <= 0.5


def test_rollout_mcts_keeps_most_tictactoe_values():
    states = _random_positions(TICTACTOE, 60, 3, seed=4)[0]
    actions = RolloutMCTSPlayer(300).act(TICTACTOE, states, np.random.default_rng(0), None)
    table = tictactoe_values()
    wanted = np.array([table[states[i : i + 1].tobytes()] for i in range(len(states))])
    assert (_value_after(states, actions) == wanted).mean() >= 0.9


# -- solver ----------------------------------------------------------------------------------------


def test_solver_player_plays_a_best_scoring_move():
    states, histories = _random_positions(CONNECT4, 12, 16, seed=2)
    judge = Connect4Solver(20)
    rng = np.random.default_rng(0)
    player = SolverPlayer()
    with_history = player.act(CONNECT4, states, rng, histories)
    rebuilt = player.act(CONNECT4, states, rng, None)
    for b, moves in enumerate(histories):
        scores = judge.analyze([m + 1 for m in moves])
        best = max(s for s in scores if s is not None)
        assert scores[with_history[b]] == best
        assert scores[rebuilt[b]] == best


def test_connect4_moves_rebuild_the_position():
    states, _ = _random_positions(CONNECT4, 30, 24, seed=3)
    for b in range(len(states)):
        moves = connect4_moves(states, b)
        again = CONNECT4.states_from_moves("".join(str(m + 1) for m in moves))
        assert again.tobytes() == states[b : b + 1].tobytes()


def test_solver_player_refuses_other_games_and_wrong_histories():
    player = SolverPlayer(log2_table_size=12)
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="connect4 only"):
        player.act(TICTACTOE, TICTACTOE.new_initial_states(1), rng, [[]])
    states = CONNECT4.states_from_moves("4455")
    with pytest.raises(ValueError, match="history of 3 moves but 4 stones"):
        player.act(CONNECT4, states, rng, [[3, 3, 4]])


# -- network -------------------------------------------------------------------------------------


def test_network_player_from_checkpoint_plays_legal_moves(tmp_path):
    path = tmp_path / "run.pt"
    model = _tiny_checkpoint(path)
    states = _mixed_tictactoe()
    rng = np.random.default_rng(0)
    searching = NetworkPlayer.from_checkpoint(path, simulations=12, device="cpu")
    assert searching.name == "run@3/12"
    assert searching.search_config.dirichlet_fraction == 0
    assert searching.search_config.temperature == 0
    raw = NetworkPlayer.from_checkpoint(path, TICTACTOE, raw_policy=True, device="cpu")
    assert raw.name == "run@3/policy" and raw.search_config is None
    mask = TICTACTOE.legal_actions_mask(states)
    for player in (searching, raw):
        actions = player.act(TICTACTOE, states, rng, None)
        assert mask[np.arange(len(states)), actions].all()
    # The raw policy is the saved network's most likely legal move.
    logits, _ = make_evaluator(model, "cpu")(TICTACTOE.observation_tensor(states))
    wanted = np.where(mask, logits, -np.inf).argmax(axis=1)
    assert np.array_equal(raw.act(TICTACTOE, states, rng, None), wanted)


def test_a_checkpoint_without_a_best_network_plays_the_learners_average(tmp_path):
    """With no gated best, the learner's published weights play: its average when it keeps
    one (``learner.ema``), not the raw trained weights."""
    path = tmp_path / "run.pt"
    trained = _tiny_checkpoint(path)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(1)
        average = PolicyValueNet(TICTACTOE.spec, trained.config)
    payload = load_checkpoint(path)
    payload["learner"]["average"] = average.state_dict()
    del payload["format"]
    save_checkpoint(path, payload)
    player = NetworkPlayer.from_checkpoint(path, raw_policy=True, device="cpu")
    for key, value in average.state_dict().items():
        torch.testing.assert_close(player.model.state_dict()[key], value)


def test_network_player_defaults_to_a_noise_free_search():
    model = PolicyValueNet(TICTACTOE.spec, ModelConfig(blocks=0, channels=4, value_hidden=4))
    player = NetworkPlayer(model, device="cpu")
    assert player.search_config == evaluation_config()
    assert player.search_config.dirichlet_fraction == 0 and player.search_config.temperature == 0
    states = _mixed_tictactoe()
    # Deterministic: the same moves whatever the generator.
    a = player.act(TICTACTOE, states, np.random.default_rng(0), None)
    b = player.act(TICTACTOE, states, np.random.default_rng(1), None)
    assert np.array_equal(a, b)
    given = NetworkPlayer(model, SearchConfig(simulations=4), device="cpu")
    assert given.search_config == SearchConfig(simulations=4)  # used as given
    with pytest.raises(ValueError, match="plays 'tictactoe'"):
        player.act(CONNECT4, CONNECT4.new_initial_states(1), np.random.default_rng(0), None)


def test_checkpoint_of_another_game_or_version_or_a_corrupt_file_is_refused(tmp_path):
    other = tmp_path / "connect4.pt"
    _tiny_checkpoint(other, "connect4")
    with pytest.raises(CheckpointError, match=r"trained on 'connect4'.*'tictactoe'"):
        NetworkPlayer.from_checkpoint(other, TICTACTOE, device="cpu")
    with pytest.raises(CheckpointError, match=r"trained on 'connect4'.*'tictactoe'"):
        NetworkPlayer.from_checkpoint(other, "tictactoe", device="cpu")
    old = tmp_path / "old.pt"
    _tiny_checkpoint(old, version=7)
    with pytest.raises(CheckpointError, match="version 7"):
        NetworkPlayer.from_checkpoint(old, device="cpu")
    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes(b"not a checkpoint at all")
    with pytest.raises(CheckpointError, match=r"corrupt\.pt"):
        NetworkPlayer.from_checkpoint(corrupt, device="cpu")
    with pytest.raises(CheckpointError, match="no such file"):
        NetworkPlayer.from_checkpoint(tmp_path / "missing.pt", device="cpu")
    bare = tmp_path / "bare.pt"
    save_checkpoint(bare, {"game": game_info(TICTACTOE.spec), "config": to_dict(RunConfig(
        game="tictactoe"))})  # fmt: skip
    with pytest.raises(CheckpointError, match="no network weights"):
        NetworkPlayer.from_checkpoint(bare, device="cpu")
