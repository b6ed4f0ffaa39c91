"""The evaluation methods of text games, with evaluators whose right answers are known: an
oracle that spells the solver's answer, a uniform one, and a liar about terminal values."""

from __future__ import annotations

import math

import numpy as np
import pytest
from toy_games import LineWalk, oracle_evaluator, prompt_and_answer, uniform_evaluator

import games
from games.text.steps import StepTask
from games.text.task import END, TextGame
from games.text.verifier import solve_steps
from selfplay.mcts import SearchConfig, search
from selfplay.text_eval import (
    best_of_n,
    decode,
    evaluate_text,
    greedy_solve_rates,
    search_answers,
    solve_answers,
)


@pytest.fixture(scope="module")
def countdown3():
    game = games.make("countdown@k=3")
    return game, game.states_from_prompts(game.task.test_prompts("seen", limit=24))


def test_greedy_decoding_follows_the_network(countdown3):
    game, states = countdown3
    final = decode(game, oracle_evaluator(game), states, np.random.default_rng(0))
    assert (game.returns(final)[:, 0] == 1).all()
    # Sampling at a low temperature from the same network agrees with it.
    sampled = decode(game, oracle_evaluator(game), states, np.random.default_rng(0),
                     temperature=0.05)  # fmt: skip
    assert (game.returns(sampled)[:, 0] == 1).all()


def test_random_play_rarely_solves_free_countdown(countdown3):
    game, states = countdown3
    final = decode(game, None, states, np.random.default_rng(0))
    assert game.is_terminal(final).all()
    assert (game.returns(final)[:, 0] == 1).mean() < 0.1


def test_search_with_the_verifier_counts_its_calls():
    game = games.make("countdown@k=3,mode=guided")
    states = game.states_from_prompts(game.task.test_prompts("seen", limit=32))
    config = SearchConfig(simulations=24, dirichlet_fraction=0.0, temperature=0.0)
    rng = np.random.default_rng(0)
    uniform = uniform_evaluator(game.spec.num_actions)
    final, calls, sims = search_answers(game, uniform, states, config, rng)
    searched = (game.returns(final)[:, 0] > 0).mean()
    randomly = (game.returns(decode(game, None, states, rng))[:, 0] > 0).mean()
    assert searched > randomly + 0.2  # the verifier at the leaves finds answers
    assert (calls > 0).all()
    assert (sims % 24 == 0).all() and (sims >= 24).all()  # one search of 24 per token
    hidden = SearchConfig(simulations=24, dirichlet_fraction=0.0, temperature=0.0,
                          terminal_values="network")  # fmt: skip
    final, calls, _ = search_answers(game, uniform, states, hidden, rng)
    assert (calls == 0).all() and game.is_terminal(final).all()


def test_solving_search_turns_to_other_branches_after_a_rejection():
    """With a network that knows nothing, a search per token commits to tokens and solves few
    problems; one tree per problem searched until an answer is accepted solves them all, with
    as many simulations and verifier calls."""
    game = games.make("countdown@k=3,mode=guided")
    states = game.states_from_prompts(game.task.test_prompts("seen", limit=32))
    config = SearchConfig(simulations=24, dirichlet_fraction=0.0, temperature=0.0)
    uniform = uniform_evaluator(game.spec.num_actions)
    budget = 24 * game.spec.max_game_length
    per_token, token_calls, token_sims = search_answers(
        game, uniform, states, config, np.random.default_rng(0)
    )
    final, calls, sims = solve_answers(
        game, uniform, states, config, np.random.default_rng(0), budget=budget
    )
    solved = game.returns(final)[:, 0] > 0
    assert solved.mean() > (game.returns(per_token)[:, 0] > 0).mean() + 0.3
    assert sims.mean() < token_sims.mean() * 1.5 and calls.mean() < token_calls.mean() * 1.5
    # It stops at the first accepted answer, in rounds of config.simulations.
    assert (sims[solved] < budget).all() and (sims % 24 == 0).all()
    for i in np.flatnonzero(solved)[:5]:
        assert game.explain(final, i).accepted
    # Searching the problems in small batches changes nothing.
    again = solve_answers(
        game, uniform, states, config, np.random.default_rng(0), budget=budget, batch=5
    )
    np.testing.assert_array_equal(again[0], final)
    np.testing.assert_array_equal(again[1], calls)
    np.testing.assert_array_equal(again[2], sims)


def test_solving_search_keeps_to_its_budget():
    game = games.make("countdown@k=3")
    states = game.states_from_prompts(game.task.test_prompts("seen", limit=6))
    config = SearchConfig(simulations=4, dirichlet_fraction=0.0, temperature=0.0)
    oracle = oracle_evaluator(game)
    final, calls, sims = solve_answers(
        game, oracle, states, config, np.random.default_rng(0), budget=3
    )
    # Three simulations reach no answer: each problem ends on its most visited path, the
    # first three characters of the oracle's answer, unfinished.
    assert (sims == 3).all() and (calls == 0).all() and not game.is_terminal(final).any()
    for i, prompt in enumerate(game.task.test_prompts("seen", limit=6)):
        numbers, target = StepTask.parse_prompt(prompt)
        solution = solve_steps(list(numbers), target, max_value=game.task.max_value)
        assert game.answer(final, i) == solution[:3]
    solved, _, _ = solve_answers(game, oracle, states, config, np.random.default_rng(0),
                                 budget=1000)  # fmt: skip
    assert (game.returns(solved)[:, 0] == 1).all()
    with pytest.raises(ValueError, match="budget"):
        solve_answers(game, oracle, states, config, np.random.default_rng(0), budget=0)


def judge_evaluator(game: TextGame, sign: float = 1.0):
    """A uniform policy whose value is the verifier's verdict on a finished answer (times
    ``sign``: -1 makes a liar), 0 before the answer ends."""

    def evaluate(observations):
        values = np.zeros(len(observations), np.float32)
        for i, row in enumerate(observations):
            prompt, answer = prompt_and_answer(game, row)
            if answer.endswith(END):
                values[i] = sign * (1 if game.task.verify(prompt, answer[:-1]) else -1)
        return np.zeros((len(observations), game.spec.num_actions), np.float32), values

    return evaluate


def test_hidden_solving_search_answers_with_the_networks_judgement():
    """With the verifier hidden, the tree runs its whole budget and answers with the finished
    answer the network values most: an honest judge solves every problem that the search with
    the verifier solves (the same tree, searched further), a liar almost none."""
    game = games.make("countdown@k=3,mode=guided").without_early_verdicts()
    states = game.states_from_prompts(game.task.test_prompts("seen", limit=24))
    visible = SearchConfig(simulations=24, dirichlet_fraction=0.0, temperature=0.0)
    hidden = SearchConfig(simulations=24, dirichlet_fraction=0.0, temperature=0.0,
                          terminal_values="network")  # fmt: skip
    budget = 24 * game.spec.max_game_length

    def solved_by(evaluator, config):
        final, calls, sims = solve_answers(
            game, evaluator, states, config, np.random.default_rng(0), budget=budget
        )
        return game.returns(final)[:, 0] > 0, calls, sims

    with_verifier, _, visible_sims = solved_by(judge_evaluator(game), visible)
    honest, calls, sims = solved_by(judge_evaluator(game), hidden)
    assert (calls == 0).all() and (sims == budget).all() and (visible_sims < budget).any()
    assert with_verifier.mean() > 0.5 and (honest >= with_verifier).all()
    lied, _, _ = solved_by(judge_evaluator(game, sign=-1.0), hidden)
    assert lied.mean() < 0.2


def test_hidden_terminal_values_come_from_the_network():
    """LineWalk from 5: +2 lands on 7 and wins. A network that calls landing on 7 a loss steers
    the hidden search away from it; the game's own returns steer the visible search to it."""
    game = LineWalk()
    states = game.new_initial_states(1)
    states["pos"] = 5

    def liar(observations):
        values = np.where(observations[:, 0] == 7, -1.0, 0.5).astype(np.float32)
        return np.zeros((len(observations), 3), np.float32), values

    base = dict(simulations=60, dirichlet_fraction=0.0, temperature=0.0)
    rng = np.random.default_rng(0)
    visible = search(game, states, liar, SearchConfig(**base), rng)
    hidden = search(game, states, liar, SearchConfig(**base, terminal_values="network"), rng)
    assert visible.actions[0] == 1 and hidden.actions[0] != 1
    with pytest.raises(ValueError, match="one-player"):
        two = games.make("tictactoe")
        search(two, two.new_initial_states(1), uniform_evaluator(9),
               SearchConfig(**base, terminal_values="network"), rng)  # fmt: skip


def test_best_of_n_solves_more_with_more_samples(countdown3):
    game = games.make("countdown@k=3,mode=guided")
    states = game.states_from_prompts(game.task.test_prompts("seen", limit=40))
    uniform = uniform_evaluator(game.spec.num_actions)
    rng = np.random.default_rng(1)
    one = best_of_n(game, uniform, states, 1, rng).mean()
    many = best_of_n(game, uniform, states, 30, rng).mean()
    assert many > one + 0.2


def test_evaluate_text_reports_every_method(countdown3):
    game, _ = countdown3
    prompts = {"seen": game.task.test_prompts("seen", limit=12),
               "heldout": game.task.test_prompts("heldout", limit=12)}  # fmt: skip
    config = SearchConfig(simulations=8, dirichlet_fraction=0.0, temperature=0.0)
    scores = evaluate_text(game, oracle_evaluator(game), prompts, config, np.random.default_rng(0))
    by = {(s.split, s.method): s for s in scores}
    assert len(scores) == 10
    for split in prompts:
        assert by[split, "greedy"].solved == 1.0
        assert by[split, "greedy"].simulations == 0
        assert by[split, "search-hidden"].verifier_calls == 1.0
        # search-hidden runs its whole budget, search-verifier stops at an accepted answer.
        assert by[split, "search-hidden"].simulations == 8 * game.spec.max_game_length
        assert 0 < by[split, "search-verifier"].simulations <= 8 * game.spec.max_game_length
        n = math.ceil(by[split, "search-verifier"].verifier_calls)
        assert by[split, "best-of-N"].verifier_calls == n
        assert by[split, "random"].solved < 0.5
    with pytest.raises(ValueError, match="search-verifier"):
        evaluate_text(game, oracle_evaluator(game), prompts, config, np.random.default_rng(0),
                      methods=["best-of-N"])  # fmt: skip


def test_greedy_solve_rates_measure_the_network_and_the_random_floor():
    game = games.make("countdown@k=3")
    tests = {s: game.states_from_prompts(game.task.test_prompts(s, limit=10)) for s in ("seen",)}
    assert greedy_solve_rates(game, oracle_evaluator(game), tests, 0) == {"seen": 1.0}
    assert greedy_solve_rates(game, None, tests, 0)["seen"] < 0.5
    np.testing.assert_equal(
        greedy_solve_rates(game, None, tests, 3), greedy_solve_rates(game, None, tests, 3)
    )
