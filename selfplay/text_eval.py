"""How well a network solves held-out problems of a text game, by every method worth comparing.

Searching with the verifier at the leaves can brute-force small problems, so the search's
score alone says little about the network. We report, on the same problems:

1. ``greedy``: the network alone, its most likely legal token at every step, no search;
2. ``search-hidden``: search with N simulations where terminal answers are valued by the
   network (the verifier never runs during the search, and answers are not cut short at a
   wrong step); only the final answer is verified;
3. ``search-verifier``: search with the verifier valuing terminal answers, with the number of
   verifier calls it used (each distinct answer the search reached counts once per move);

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
from selfplay.mcts import Evaluator, SearchConfig, search
from selfplay.players import PolicyPlayer, RandomPlayer

METHODS = ("greedy", "search-hidden", "search-verifier", "random", "best-of-N")


@dataclasses.dataclass(frozen=True)
class TextScore:
    """One method on one split: the share of problems solved and what it cost."""

    split: str
    method: str
    problems: int
    solved: float  # share of problems with an accepted answer
    verifier_calls: float  # per problem
    seconds: float


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


def search_answers(
    game: TextGame,
    evaluator: Evaluator,
    states: np.ndarray,
    config: SearchConfig,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Plays every game to its end with a search per token (``config`` as given: use
    ``terminal_values="network"`` to hide the verifier). Returns the final states and, per
    game, the terminal answers the search valued with the verifier (0 when hidden)."""
    states = states.copy()
    calls = np.zeros(len(states), dtype=np.int64)
    visible = config.terminal_values == "game"
    for _ in range(game.spec.max_game_length + 1):
        live = np.flatnonzero(~game.is_terminal(states))
        if len(live) == 0:
            return states, calls
        out = search(game, states[live], evaluator, config, rng)
        if visible:
            nodes = np.arange(out.tree.capacity)[None, :] < out.tree.num_nodes[:, None]
            calls[live] += (out.tree.terminal & nodes).sum(axis=1)
        states[live] = game.apply_actions(states[live], out.actions, check=False)
    raise RuntimeError(f"{game.spec.name}: answers still running after max_game_length steps")


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
) -> list[TextScore]:
    """Every method in ``methods`` on every split of ``prompts`` (split name -> problems).
    The searches use ``search_config`` (made deterministic by the caller); best-of-N needs
    search-verifier before it, whose mean verifier calls set its N. ``decoder``: the same
    network for the methods without search (default ``evaluator``; ``NetworkPlayer.decoder``
    decodes faster)."""
    decoder = evaluator if decoder is None else decoder
    unknown = set(methods) - set(METHODS)
    if unknown:
        raise ValueError(f"unknown methods {sorted(unknown)}; methods: {', '.join(METHODS)}")
    scores = []
    for split, split_prompts in prompts.items():
        states = game.states_from_prompts(split_prompts)
        calls_per_problem = math.nan
        for method in methods:
            start = time.perf_counter()
            calls = np.ones(len(states))
            if method == "greedy":
                final = decode(game, decoder, states, rng)
            elif method == "random":
                final = decode(game, None, states, rng)
            elif method.startswith("search"):
                hidden = method == "search-hidden"
                config = dataclasses.replace(
                    search_config, terminal_values="network" if hidden else "game"
                )
                # Hidden: no answer may end early either, as that would betray a mistake.
                played = game.without_early_verdicts() if hidden else game
                final, used = search_answers(played, evaluator, states, config, rng)
                if not hidden:
                    calls = used.astype(float)
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
                time.perf_counter() - start,
            )  # fmt: skip
            scores.append(score)
            if on_done is not None:
                on_done(score)
    return scores
