"""The batched search: every backend gives exactly the pure-Python reference's visit counts,
and the search finds the answers a search must find."""

from __future__ import annotations

import numpy as np
import pytest
from toy_games import (
    LineWalk,
    all_tictactoe_positions,
    hash_evaluator,
    perfect_tictactoe_evaluator,
    tictactoe_values,
    uniform_evaluator,
)

import games
from selfplay.mcts import SearchConfig, resolve_backend, search
from selfplay.mcts.reference import reference_search


def _available_backends() -> list[str]:
    names = ["numba"]
    try:
        resolve_backend("cpp")
        names.append("cpp")
    except RuntimeError:
        pass
    return names


BACKENDS = _available_backends()


def _random_positions(game, count, plies, seed):
    """Positions after ``plies`` random moves, the finished ones dropped."""
    rng = np.random.default_rng(seed)
    states = game.new_initial_states(count)
    for _ in range(plies):
        mask = game.legal_actions_mask(states)
        states = game.apply_actions(states, np.array([rng.choice(np.flatnonzero(m)) for m in mask]))
    return states[~game.is_terminal(states)]


def _connect4(moves_list):
    game = games.make("connect4")
    return np.concatenate([game.states_from_moves(m) for m in moves_list])


# Connect Four: X wins at once (column 4); O must block (column 1); X has two wins; O faces two
# threats (lost); a quiet opening.
CONNECT4_TACTICS = ["112233", "12131", "445566", "44556", "3344"]

CONFIGS = {
    "puct": dict(simulations=48),
    "puct-noise-fpu": dict(simulations=48, dirichlet_fraction=0.25, fpu_reduction=0.3),
    "puct-virtual-loss": dict(simulations=50, leaves_per_step=4, virtual_loss=1.0),
    "puct-temperature": dict(simulations=30, temperature=1.0),
    "gumbel": dict(simulations=32, algorithm="gumbel", max_considered_actions=4),
    "gumbel-few": dict(simulations=5, algorithm="gumbel"),
}


def _cases():
    tictactoe, connect4, walk = games.make("tictactoe"), games.make("connect4"), LineWalk()
    return {
        "tictactoe": (tictactoe, _random_positions(tictactoe, 12, 3, seed=1)),
        "connect4": (connect4, np.concatenate([_connect4(CONNECT4_TACTICS),
                                               _random_positions(connect4, 8, 10, seed=2)])),
        "linewalk": (walk, _random_positions(walk, 6, 2, seed=3)),
    }  # fmt: skip


CASES = _cases()


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("config_name", sorted(CONFIGS))
@pytest.mark.parametrize("case", sorted(CASES))
def test_backends_match_the_reference_exactly(backend, config_name, case):
    game, states = CASES[case]
    config = SearchConfig(backend=backend, **CONFIGS[config_name])
    evaluator = hash_evaluator(game.spec.num_actions)
    expected = reference_search(game, states, evaluator, config, np.random.default_rng(7))
    got = search(game, states, evaluator, config, np.random.default_rng(7))
    assert got.backend == backend
    np.testing.assert_array_equal(got.visit_counts, expected["visit_counts"])
    np.testing.assert_array_equal(got.actions, expected["actions"])
    np.testing.assert_allclose(got.root_values, expected["root_values"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(got.policy, expected["policy"], rtol=0, atol=1e-12)
    assert (got.visit_counts.sum(axis=1) == config.simulations).all()


@pytest.mark.parametrize("backend", BACKENDS)
def test_subtree_reuse_matches_the_reference_over_a_game(backend):
    game = games.make("connect4")
    config = SearchConfig(simulations=40, backend=backend, dirichlet_fraction=0.25)
    evaluator = hash_evaluator(7)
    states = game.new_initial_states(4)
    rng_ref, rng = np.random.default_rng(3), np.random.default_rng(3)
    roots, tree = None, None
    for _ in range(6):
        expected = reference_search(game, states, evaluator, config, rng_ref, roots=roots)
        got = search(game, states, evaluator, config, rng, tree=tree)
        np.testing.assert_array_equal(got.visit_counts, expected["visit_counts"])
        np.testing.assert_array_equal(got.actions, expected["actions"])
        # the reused root keeps its earlier visits
        assert (got.tree.visits[:, 0] >= config.simulations + 1).all()
        roots = [root.children[a] for root, a in zip(expected["roots"], got.actions, strict=True)]
        tree = got.tree.advance(got.actions)
        states = game.apply_actions(states, got.actions)


def test_reuse_restarts_trees_whose_root_changed():
    game = games.make("connect4")
    config = SearchConfig(simulations=30, backend="numba")
    states = game.new_initial_states(2)
    first = search(game, states, uniform_evaluator(7), config, np.random.default_rng(0))
    tree = first.tree.advance(first.actions)
    moved = game.apply_actions(states, np.array([first.actions[0], (first.actions[1] + 1) % 7]))
    second = search(game, moved, uniform_evaluator(7), config, np.random.default_rng(0), tree=tree)
    assert second.tree.visits[0, 0] > config.simulations + 1  # reused
    assert second.tree.visits[1, 0] == config.simulations + 1  # restarted: other move played


@pytest.mark.parametrize("algorithm", ["puct", "gumbel"])
def test_win_in_one_and_forced_block_found_with_few_simulations(algorithm):
    game = games.make("connect4")
    states = _connect4(["112233", "12131"])  # X to move can win at 4; O must block 1
    config = SearchConfig(simulations=16, algorithm=algorithm, temperature=0,
                          dirichlet_fraction=0.0, gumbel_scale=0.0, backend="numba")  # fmt: skip
    out = search(game, states, uniform_evaluator(7), config, np.random.default_rng(0))
    assert list(out.actions) == [3, 0]


def test_tictactoe_win_in_one_and_block():
    game = games.make("tictactoe")
    states = game.new_initial_states(2)
    # X: a1 b1, O: a2 b2 -> X wins at c1; X: a1 b1, O: c3 -> O to move must block c1.
    for a, b in [(0, 0), (3, 8), (1, 1)]:
        states = game.apply_actions(states, np.array([a, b]))
    states = np.concatenate([game.apply_actions(states[:1], np.array([4])), states[1:]])
    config = SearchConfig(simulations=24, temperature=0, dirichlet_fraction=0.0, backend="numba")
    out = search(game, states, uniform_evaluator(9), config, np.random.default_rng(0))
    assert list(out.actions) == [2, 2]


def test_perfect_values_never_choose_a_losing_move():
    """From every tic-tac-toe position that is not lost, with exact values and a uniform
    prior, PUCT never plays into a lost position.

    (Gumbel's interior selection is deterministic and can starve a refutation it has not yet
    visited, so with a uniform prior it does not promise this; see the Gumbel test below.)
    """
    game = games.make("tictactoe")
    states = all_tictactoe_positions(game)
    table = tictactoe_values()
    config = SearchConfig(simulations=16, temperature=0, dirichlet_fraction=0.0, backend="numba")
    out = search(game, states, perfect_tictactoe_evaluator(game), config, np.random.default_rng(0))
    after = game.apply_actions(states, out.actions)
    for i in range(len(states)):
        if table[states[i : i + 1].tobytes()] >= 0:
            assert -table[after[i : i + 1].tobytes()] >= 0, game.render(states, i)


@pytest.mark.parametrize("simulations", [2, 4, 8, 16])
def test_gumbel_improves_the_policy_with_few_simulations(simulations):
    """With a misleading prior and exact values, the improved policy is worth more than the
    prior, in expectation over every tic-tac-toe position."""
    game = games.make("tictactoe")
    states = all_tictactoe_positions(game)
    table = tictactoe_values()
    perfect = perfect_tictactoe_evaluator(game)
    prior_logits = hash_evaluator(9)

    def evaluator(obs):
        return prior_logits(obs)[0], perfect(obs)[1]

    config = SearchConfig(simulations=simulations, algorithm="gumbel", backend="numba")
    out = search(game, states, evaluator, config, np.random.default_rng(0))
    mask = game.legal_actions_mask(states)
    logits = prior_logits(game.observation_tensor(states))[0]
    prior = np.where(mask, np.exp(logits - logits.max(axis=1, keepdims=True)), 0)
    prior /= prior.sum(axis=1, keepdims=True)
    action_values = np.zeros(mask.shape)
    for a in range(9):
        legal = mask[:, a]
        after = game.apply_actions(states[legal], np.full(legal.sum(), a))
        action_values[legal, a] = [-table[after[i : i + 1].tobytes()] for i in range(len(after))]
    prior_value = (prior * action_values).sum(axis=1).mean()
    improved_value = (out.policy * action_values).sum(axis=1).mean()
    assert improved_value > prior_value + 0.05, (prior_value, improved_value)


def test_single_player_values_are_not_flipped():
    game = LineWalk()
    states = game.new_initial_states(1)
    for a in [1, 1, 1]:  # at 6 after 3 moves: +1 wins now, +2 overshoots, -1 still can win
        states = game.apply_actions(states, np.array([a]))
    config = SearchConfig(simulations=60, temperature=0, dirichlet_fraction=0.0, backend="numba")
    out = search(game, states, uniform_evaluator(3), config, np.random.default_rng(0))
    assert out.actions[0] == 0
    assert out.root_values[0] > 0.5  # a win, seen as a win by the one player


def test_terminal_roots_are_rejected():
    game = games.make("connect4")
    with pytest.raises(ValueError, match="terminal states"):
        search(game, _connect4(["1212121"]), uniform_evaluator(7), SearchConfig(),
               np.random.default_rng(0))  # fmt: skip


def test_backend_choice_is_explicit(monkeypatch, caplog):
    import sys

    resolve_backend.cache_clear()
    monkeypatch.setitem(sys.modules, "selfplay._core", None)  # as if the build had failed
    try:
        with pytest.raises(RuntimeError, match="backend='cpp' was asked for"):
            resolve_backend("cpp")
        with caplog.at_level("WARNING", logger="selfplay.mcts"):
            assert resolve_backend("auto").name == "numba"
        assert "using the Numba backend" in caplog.text
    finally:
        resolve_backend.cache_clear()


def test_config_rejects_bad_values():
    with pytest.raises(ValueError, match="simulations must be an int >= 1"):
        SearchConfig(simulations=0)
    with pytest.raises(ValueError, match="algorithm must be 'puct' or 'gumbel'"):
        SearchConfig(algorithm="mcts")
    with pytest.raises(ValueError, match="gumbel search takes leaves_per_step=1"):
        SearchConfig(algorithm="gumbel", leaves_per_step=2)


def test_readme_search_example_runs():
    from conftest import readme_code

    namespace: dict = {}
    exec(readme_code("Search"), namespace)  # our own README, not model output
    out = namespace["out"]
    assert out.visit_counts.shape == (256, 7) and (out.visit_counts.sum(axis=1) == 200).all()
    assert namespace["next_tree"].batch_size == 256


def test_auto_says_which_backend_it_chose(caplog):
    resolve_backend.cache_clear()
    try:
        with caplog.at_level("INFO", logger="selfplay.mcts"):
            backend = resolve_backend("auto")
        expected = "search backend: cpp" if backend.name == "cpp" else "using the Numba backend"
        assert expected in caplog.text
        assert ("cpp" in BACKENDS) == (backend.name == "cpp")  # C++ whenever it imports
    finally:
        resolve_backend.cache_clear()
