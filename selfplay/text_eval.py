"""How well a network solves held-out problems of a text game, by every method worth comparing.

Searching with the verifier at the leaves can brute-force small problems, so the search's
score alone says little about the network. We report, on the same problems:

1. ``greedy``: the network alone, its most likely legal token at every step, no search;
2. ``search-hidden``: search where finished answers are valued by the network (the
   verifier never runs during the search, and answers are not cut short at a wrong step):
   one tree per problem from the first token, grown for its whole budget of simulations,
   answers with the finished answer the network values most; only that one is verified;
3. ``search-verifier``: search with the verifier valuing finished answers, with the number
   of verifier calls it used (each distinct answer the search reached counts once). It grows
   one tree per problem until the tree holds an accepted answer or has run its budget: a
   rejected answer is a lost branch, and the search turns to others instead of committing to
   a token at a time (``solve_answers``);

and the baselines ``random`` (uniformly random legal play) and ``best-of-N`` (N answers
sampled from the network, solved if any is accepted) with N = the mean verifier calls of (3).
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Sequence

import numpy as np

from games.text.task import TextGame
from selfplay.arena import play_alone
from selfplay.mcts import Evaluator, SearchConfig, Tree, search
from selfplay.players import PolicyPlayer, RandomPlayer

METHODS = ("greedy", "search-hidden", "search-verifier", "random", "best-of-N")
TREE_BYTES = 1 << 29  # what solve_answers' trees may take at once (growing them copies them)


@dataclasses.dataclass(frozen=True)
class TextScore:
    """One method on one split: the share of problems solved and what it cost."""

    split: str
    method: str
    problems: int
    solved: float  # share of problems with an accepted answer
    verifier_calls: float  # per problem
    seconds: float
    simulations: float = 0.0  # search simulations per problem (0 without search)


def decode(
    game: TextGame,
    evaluator: Evaluator | None,
    states: np.ndarray,
    rng: np.random.Generator,
    *,
    temperature: float = 0.0,
) -> np.ndarray:
    """Plays every game of ``states`` to its end without search, one token per step for all of
    them: the network's most likely legal token (``temperature`` 0), a token sampled from its
    policy at ``temperature``, or a uniformly random legal token (``evaluator`` None). Returns
    the final states."""
    player = RandomPlayer() if evaluator is None else PolicyPlayer(evaluator, temperature)
    return play_alone(game, player, states, rng)


def greedy_solve_rates(
    game: TextGame, evaluator: Evaluator | None, tests: dict[str, np.ndarray], seed: int
) -> dict[str, float]:
    """Share of each split's problems (split name -> initial states) that greedy decoding
    solves, the network alone; ``evaluator`` None: uniformly random legal play."""
    rng = np.random.default_rng(seed)
    return {
        split: float((game.returns(decode(game, evaluator, states, rng))[:, 0] > 0).mean())
        for split, states in tests.items()
    }


def _reached(tree: Tree) -> np.ndarray:
    """bool ``[B, N]``: the terminal nodes (answers the game has judged) of each tree."""
    return tree.terminal & (np.arange(tree.capacity)[None, :] < tree.num_nodes[:, None])


def search_answers(
    game: TextGame,
    evaluator: Evaluator,
    states: np.ndarray,
    config: SearchConfig,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Plays every game to its end with a search per token, committing to the chosen token
    each time (``config`` as given: use ``terminal_values="network"`` to hide the verifier).
    Returns the final states and, per game, the terminal answers the search valued with the
    verifier (0 when hidden; an answer reached in the searches of several tokens counts for
    each) and the simulations run."""
    states = states.copy()
    calls = np.zeros(len(states), dtype=np.int64)
    simulations = np.zeros(len(states), dtype=np.int64)
    visible = config.terminal_values == "game"
    for _ in range(game.spec.max_game_length + 1):
        live = np.flatnonzero(~game.is_terminal(states))
        if len(live) == 0:
            return states, calls, simulations
        out = search(game, states[live], evaluator, config, rng)
        if visible:
            calls[live] += _reached(out.tree).sum(axis=1)
        simulations[live] += config.simulations
        states[live] = game.apply_actions(states[live], out.actions, check=False)
    raise RuntimeError(f"{game.spec.name}: answers still running after max_game_length steps")


def solve_answers(
    game: TextGame,
    evaluator: Evaluator,
    states: np.ndarray,
    config: SearchConfig,
    rng: np.random.Generator,
    *,
    budget: int,
    batch: int | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Searches one tree per problem from its first token, ``config.simulations``
    simulations at a time (PUCT, whatever ``config.algorithm``: the tree grows across rounds),
    until the tree holds an accepted answer or has run ``budget`` simulations.

    Unlike ``search_answers`` it never commits to a token: a rejected answer backs up a loss
    and the search turns to other branches, as a solver does. Returns the final states (the
    accepted answer where one was found, else the end of the most visited path: a rejected
    answer, or an unfinished one when no answer was reached), the verifier calls per problem
    (the distinct answers its tree reached) and the simulations run.

    With ``config.terminal_values="network"`` the verifier stays hidden: the network values
    finished answers (``game`` should then be ``without_early_verdicts``), every tree runs its
    whole budget, the answer is the finished one the network values most (the most visited
    of equals; the most visited path's end when none was reached), and the calls are 0.

    ``batch`` problems are searched at once (default: as many as fit ``TREE_BYTES`` at the
    full budget, at most 256), which bounds the memory the trees take."""
    if budget < 1:
        raise ValueError(f"budget must be at least one simulation, got {budget}")
    if batch is None:
        # Per node: children (int32), prior (float64) and legal (bool) per action, the state.
        node_bytes = game.spec.num_actions * 13 + game.state_dtype.itemsize + 32
        batch = int(np.clip(TREE_BYTES // (node_bytes * (budget + 1)), 1, 256))
    config = dataclasses.replace(config, algorithm="puct")
    hidden = config.terminal_values == "network"
    final = states.copy()
    calls = np.zeros(len(states), dtype=np.int64)
    simulations = np.zeros(len(states), dtype=np.int64)
    open_rows = np.flatnonzero(~game.is_terminal(states))
    for start in range(0, len(open_rows), batch):
        live, tree, spent = open_rows[start : start + batch], None, 0
        while len(live):
            step = dataclasses.replace(config, simulations=min(config.simulations, budget - spent))
            tree = search(game, states[live], evaluator, step, rng, tree=tree).tree
            spent += step.simulations
            reached = _reached(tree)
            simulations[live] = spent
            if hidden:  # no verdicts to stop at: the search runs its budget
                done = np.full(len(live), spent >= budget)
            else:
                calls[live] = reached.sum(axis=1)
                accepted = reached & (tree.leaf_value > 0)
                done = accepted.any(axis=1) | (spent >= budget)
            if not done.any():
                continue  # the same trees search on (``rows`` would copy them all)
            if hidden:  # the answers the network values most
                values = np.where(reached, tree.leaf_value, -np.inf)
                chosen = reached & (values == values.max(axis=1, keepdims=True))
            else:
                chosen = accepted
            for i in np.flatnonzero(done):
                final[live[i]] = tree.states[i, _answer_node(tree, i, chosen[i])]
            live, tree = live[~done], tree.rows(~done)
    return final, calls, simulations


def _answer_node(tree: Tree, i: int, chosen: np.ndarray) -> int:
    """Tree ``i``'s answer: the most visited of its ``chosen`` nodes, else the end of its
    most visited path from the root."""
    if chosen.any():
        return int(np.flatnonzero(chosen)[np.argmax(tree.visits[i, chosen])])
    node = 0
    while not tree.terminal[i, node]:
        children = tree.children[i, node]
        if (children < 0).all():
            break
        node = int(children[np.argmax(np.where(children >= 0, tree.visits[i, children], -1))])
    return node


def best_of_n(
    game: TextGame,
    evaluator: Evaluator,
    states: np.ndarray,
    n: int,
    rng: np.random.Generator,
    *,
    temperature: float = 1.0,
    chunk: int = 4096,
) -> np.ndarray:
    """bool ``[B]``: whether any of ``n`` answers sampled from the network is accepted."""
    solved = np.zeros(len(states), dtype=bool)
    copies = np.repeat(np.arange(len(states)), n)
    for start in range(0, len(copies), chunk):
        rows = copies[start : start + chunk]
        final = decode(game, evaluator, states[rows], rng, temperature=temperature)
        np.logical_or.at(solved, rows, game.returns(final)[:, 0] > 0)
    return solved


def default_budget(game: TextGame, config: SearchConfig) -> int:
    """The searches' simulations per problem unless told: ``config.simulations`` per token
    of the longest answer, the most a search per token (``search_answers``) can spend."""
    return config.simulations * game.spec.max_game_length


def evaluate_text(
    game: TextGame,
    evaluator: Evaluator,
    prompts: dict[str, Sequence[str]],
    search_config: SearchConfig,
    rng: np.random.Generator,
    *,
    methods: Sequence[str] = METHODS,
    on_done: Callable[[TextScore], None] | None = None,
    decoder: Evaluator | None = None,
    budget: int | None = None,
) -> list[TextScore]:
    """Every method in ``methods`` on every split of ``prompts`` (split name -> problems).
    The searches use ``search_config`` (made deterministic by the caller): rounds of its
    simulations, up to ``budget`` per problem (default: ``default_budget``); search-hidden
    always runs all of them. Best-of-N needs search-verifier before it, whose mean verifier
    calls set its N. ``decoder``: the same network for the methods without
    search (default ``evaluator``; ``NetworkPlayer.decoder`` decodes faster)."""
    decoder = evaluator if decoder is None else decoder
    budget = default_budget(game, search_config) if budget is None else budget
    unknown = set(methods) - set(METHODS)
    if unknown:
        raise ValueError(f"unknown methods {sorted(unknown)}; methods: {', '.join(METHODS)}")
    scores = []
    for split, split_prompts in prompts.items():
        states = game.states_from_prompts(split_prompts)
        calls_per_problem = math.nan
        for method in methods:
            start = time.perf_counter()
            calls, simulations = np.ones(len(states)), np.zeros(len(states))
            if method == "greedy":
                final = decode(game, decoder, states, rng)
            elif method == "random":
                final = decode(game, None, states, rng)
            elif method == "search-hidden":
                config = dataclasses.replace(search_config, terminal_values="network")
                # No answer may end early either, as that would betray a mistake.
                played = game.without_early_verdicts()
                final, _, simulations = solve_answers(
                    played, evaluator, states, config, rng, budget=budget
                )
            elif method == "search-verifier":
                final, calls, simulations = solve_answers(
                    game, evaluator, states, search_config, rng, budget=budget
                )
                calls_per_problem = float(calls.mean())
            else:  # best-of-N with the verifier calls of search-verifier
                if math.isnan(calls_per_problem):
                    raise ValueError("best-of-N takes its N from search-verifier: run it first")
                n = max(1, math.ceil(calls_per_problem))
                solved = best_of_n(game, decoder, states, n, rng)
                calls = np.full(len(states), float(n))
            if method != "best-of-N":
                solved = game.returns(final)[:, 0] > 0
            score = TextScore(
                split, method, len(states), float(solved.mean()), float(calls.mean()),
                time.perf_counter() - start, float(simulations.mean()),
            )  # fmt: skip
            scores.append(score)
            if on_done is not None:
                on_done(score)
    return scores
