"""A self-play worker: B games in lockstep, one batched search per move for all of them.

Every slot of the batch always holds a live game: when one ends, its record is kept and a new
game starts in that slot before the next move, so every search and network call sees B
positions. Games are never cut short: ``play(k)`` returns the games that finished during the
call, and the ones still running carry over to the next call.

A plain class with no Ray import (``actors.py`` wraps it); the network enters as an evaluator,
observations ``[B, *obs]`` -> (logits ``[B, A]``, values ``[B]``, player-to-move's view).
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np

from games.base import Game
from games.text.task import TextGame
from selfplay.arena import play_alone
from selfplay.cache import EvaluationCache
from selfplay.config import SelfPlayConfig
from selfplay.mcts import Evaluator, SearchConfig, Tree, search
from selfplay.mcts.common import choose_actions
from selfplay.players import PolicyPlayer
from selfplay.replay import GameRecord

_COUNTS = ("moves", "simulations", "games", "positions", "evaluator_calls", "evaluator_positions",
           "cache_hits", "hindsight_games", "sampled_answers")  # fmt: skip
_SECONDS = ("seconds", "search_seconds", "evaluator_seconds", "sample_seconds")


class SelfPlayWorker:
    """Plays ``selfplay_config.games_per_worker`` games at once and hands back finished ones.

    Move choice: PUCT samples visit counts at ``search_config.temperature`` for the first
    ``selfplay_config.temperature_moves`` plies of each game and plays the most visited move
    (lowest action on ties) after them. Gumbel search always plays its own choice, the best of
    the most visited actions by Gumbel noise + logit + sigma(q); its exploration is that noise
    (``gumbel_scale``), so ``temperature_moves`` does not apply. Root noise comes from
    ``search_config`` as it is.

    ``decoder``: the same network, to sample answers with (``selfplay.answer_samples``) one
    token per step; an ``IncrementalEvaluator`` decodes faster (default: ``evaluator``).
    """

    def __init__(
        self,
        game: Game,
        search_config: SearchConfig,
        selfplay_config: SelfPlayConfig,
        evaluator: Evaluator,
        seed: int,
        worker_id: int = 0,
        weights_version: int = 0,
        decoder: Evaluator | None = None,
    ):
        if selfplay_config.games_per_worker < 1:
            raise ValueError(
                f"games_per_worker must be >= 1, got {selfplay_config.games_per_worker}"
            )
        self.game = game
        self.worker_id = worker_id
        self.temperature = search_config.temperature
        self.temperature_moves = selfplay_config.temperature_moves
        self.discount = selfplay_config.value_discount
        self.solution_targets = selfplay_config.solution_targets and game.spec.num_players == 1
        self.hindsight = selfplay_config.hindsight and game.spec.num_players == 1
        self.gumbel = search_config.algorithm == "gumbel"
        # The search itself plays the most visited move (no draw from the generator); this
        # worker samples the moves of the opening plies from the visit counts.
        self.search_config = (
            search_config if self.gumbel else dataclasses.replace(search_config, temperature=0.0)
        )
        # Playout cap randomization: most moves get a cheap search and no policy target.
        self.full_search_share = (
            selfplay_config.full_search_share if selfplay_config.cheap_simulations else 1.0
        )
        self.cheap_search_config = dataclasses.replace(
            self.search_config, simulations=max(1, selfplay_config.cheap_simulations)
        )
        self.rng = np.random.default_rng([seed, worker_id])
        self.evaluator = evaluator
        self.decoder = evaluator if decoder is None else decoder
        self._cache = (
            EvaluationCache(self._timed_evaluator) if selfplay_config.cache_evaluations else None
        )
        self.weights_version = weights_version

        b = selfplay_config.games_per_worker
        self.states = game.new_initial_states(b, self.rng)
        self.plies = np.zeros(b, dtype=np.int64)  # plies played in each slot's current game
        self._started_version = np.full(b, weights_version, dtype=np.int64)
        # Per slot, the current game's plies so far: (observation, policy, player, action).
        self._history: list[list[tuple[np.ndarray, np.ndarray, int, int]]] = [[] for _ in range(b)]
        self._tree: Tree | None = None
        # Text games also keep each finished answer, with an empty policy target, so the
        # network learns to value answers, as the verifier-hidden search needs. Self-play's
        # are nearly all right: ``answer_samples`` adds wrong ones to learn from.
        self._keep_final = game.spec.vocabulary_size > 0
        self.answer_samples = selfplay_config.answer_samples
        if self.answer_samples and not isinstance(game, TextGame):
            raise ValueError(
                f"selfplay.answer_samples is for text games; {game.spec.name} is not one"
            )
        # The rules search-hidden plays by: the answers it values are finished ones.
        self._judge = (
            game.for_evaluation().without_early_verdicts() if self.answer_samples else None
        )
        self._problems = self.states.copy()  # each slot's game as it began
        self._finished_problems: list[np.ndarray] = []  # to sample answers to, in ``play``
        self._reset_stats()

    @property
    def batch_size(self) -> int:
        return len(self.states)

    def set_evaluator(
        self, evaluator: Evaluator, version: int, decoder: Evaluator | None = None
    ) -> None:
        """Plays the next moves with ``evaluator`` (network ``version``; ``decoder`` the same
        network, as in ``__init__``). The search trees kept from earlier moves hold the old
        network's numbers, so they are dropped."""
        self.evaluator = evaluator
        self.decoder = evaluator if decoder is None else decoder
        self.weights_version = version
        self._tree = None
        if self._cache is not None:
            self._cache.clear()

    def play(self, min_games: int) -> list[GameRecord]:
        """Plays moves until at least ``min_games`` games have finished since this call began,
        and returns exactly those games (often a few more than ``min_games``, when several end
        on the same move), with the hindsight twins of lost ones (``selfplay.hindsight``) and
        the answers sampled to their problems (``selfplay.answer_samples``)."""
        if min_games < 0:
            raise ValueError(f"min_games must be >= 0, got {min_games}")
        start = time.perf_counter()
        finished: list[GameRecord] = []
        played = 0
        while played < min_games:
            records = self._move()
            finished.extend(records)
            played += sum(r.played for r in records)
        if self._finished_problems:
            finished.extend(self._sample_answers(np.concatenate(self._finished_problems)))
            self._finished_problems = []
        self._stats["seconds"] += time.perf_counter() - start
        self._stats["games"] += played
        self._stats["positions"] += sum(r.length for r in finished if r.played)
        return finished

    def stats(self) -> dict[str, float]:
        """Counters since the last call, then resets them: ``moves`` (plies played over all
        slots), ``simulations``, ``games`` and ``positions`` finished, seconds in ``play``, in
        the search (evaluator included) and in the evaluator, ``evaluator_calls``,
        ``evaluator_positions`` and their mean, ``evaluator_batch``, ``cache_hits``
        (positions the evaluation cache answered without the network), ``hindsight_games``
        (relabelled twins of lost games, not counted in ``games``), ``sampled_answers`` and
        the seconds spent sampling them (``sample_seconds``, part of ``seconds``)."""
        if self._cache is not None:
            self._stats["cache_hits"] += self._cache.hits
            self._cache.hits = self._cache.misses = 0
        stats = dict(self._stats)
        calls = stats["evaluator_calls"]
        stats["evaluator_batch"] = stats["evaluator_positions"] / calls if calls else 0.0
        self._reset_stats()
        return stats

    # -- internals ------------------------------------------------------------------------------
    def _reset_stats(self) -> None:
        self._stats: dict[str, float] = {name: 0 for name in _COUNTS}
        self._stats.update({name: 0.0 for name in _SECONDS})

    def _timed_evaluator(self, observations: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        start = time.perf_counter()
        result = self.evaluator(observations)
        self._stats["evaluator_seconds"] += time.perf_counter() - start
        self._stats["evaluator_calls"] += 1
        self._stats["evaluator_positions"] += len(observations)
        return result

    def _move(self) -> list[GameRecord]:
        """One move in every slot; returns the games it finished and restarts their slots."""
        game, states = self.game, self.states
        observations = game.observation_tensor(states)
        players = game.current_player(states)

        full = self.full_search_share == 1.0 or self.rng.random() < self.full_search_share
        config = self.search_config if full else self.cheap_search_config
        start = time.perf_counter()
        evaluator = self._timed_evaluator if self._cache is None else self._cache
        out = search(game, states, evaluator, config, self.rng, self._tree)
        if self._cache is not None:
            self._cache.next_move()
        self._stats["search_seconds"] += time.perf_counter() - start
        actions = out.actions
        opening = self.plies < self.temperature_moves
        if not self.gumbel and self.temperature > 0 and opening.any():
            actions = actions.copy()
            actions[opening] = choose_actions(self.rng, out.visit_counts[opening], self.temperature)
        # A cheap search's visit shares are too noisy to learn from: an empty target.
        policies = out.policy.astype(np.float32) if full else np.zeros_like(out.policy, np.float32)

        for b, history in enumerate(self._history):
            history.append((observations[b], policies[b], int(players[b]), int(actions[b])))
        self.states = game.apply_actions(states, actions, check=False)
        self.plies += 1
        self._tree = out.tree.advance(actions)
        self._stats["moves"] += len(states)
        self._stats["simulations"] += len(states) * config.simulations

        done = np.flatnonzero(game.is_terminal(self.states))
        too_long = self.plies > game.spec.max_game_length
        if too_long.any():
            b = int(np.flatnonzero(too_long)[0])
            raise RuntimeError(
                f"{game.spec.name}: game in slot {b} is still running after {self.plies[b]} "
                f"plies, past spec.max_game_length={game.spec.max_game_length}:\n"
                f"{game.render(self.states, b)}"
            )
        if len(done) == 0:
            return []
        returns = game.returns(self.states[done])
        if self.answer_samples:
            self._finished_problems.append(self._problems[done])
        if self._keep_final:
            final = game.observation_tensor(self.states[done])
            empty = np.zeros(game.spec.num_actions, np.float32)
            for i, b in enumerate(done):
                self._history[b].append((final[i], empty, 0, -1))
        records = []
        for i, b in enumerate(done):
            version = int(self._started_version[b])
            if self.hindsight and returns[i, 0] <= 0:
                twin = self._hindsight_record(self.states[b : b + 1], version)
                if twin is not None:
                    records.append(twin)
            obs, pol, who, moves = zip(*self._history[b], strict=True)
            if self.solution_targets and returns[i, 0] > 0:
                pol = [
                    _one_hot(m, len(p)) if m >= 0 else p for p, m in zip(pol, moves, strict=True)
                ]
            record = GameRecord.from_plies(
                obs, pol, who, moves, returns[i], version, self.discount,
                observation_dtype=game.spec.observation_dtype,
            )  # fmt: skip
            records.append(record)
            self._history[b] = []
        self.states[done] = game.new_initial_states(len(done), self.rng)
        self._problems[done] = self.states[done]
        self.plies[done] = 0
        self._started_version[done] = self.weights_version
        self._tree.num_nodes[done] = 0  # a fresh game starts a fresh tree
        return records

    def _sample_answers(self, problems: np.ndarray) -> list[GameRecord]:
        """``answer_samples`` answers to each of ``problems`` (initial states), written by the
        network alone at temperature 1 and judged by the verifier: each a one-position record
        (the finished answer, a value target only)."""
        start = time.perf_counter()
        judge = self._judge
        rows = np.repeat(problems, self.answer_samples, axis=0)
        final = play_alone(judge, PolicyPlayer(self.decoder, temperature=1.0), rows, self.rng)
        returns = judge.returns(final)
        observations = judge.observation_tensor(final)
        empty = np.zeros((1, judge.spec.num_actions), np.float32)
        records = [
            GameRecord.from_plies(observations[i : i + 1], empty, [0], [-1], returns[i],
                                  self.weights_version, self.discount, sampled=True,
                                  observation_dtype=judge.spec.observation_dtype)
            for i in range(len(final))
        ]  # fmt: skip
        self._stats["sampled_answers"] += len(records)
        self._stats["sample_seconds"] += time.perf_counter() - start
        return records

    def _hindsight_record(self, state: np.ndarray, version: int) -> GameRecord | None:
        """The game's relabelled twin (``Game.hindsight``) as a solved game: the moves are its
        policy targets, as in ``solution_targets``."""
        game = self.game
        relabelled = game.hindsight(state, self.rng)
        if relabelled is None:
            return None
        states, actions = relabelled
        returns = game.returns(states[-1:])[0]
        if not game.is_terminal(states[-1:])[0] or returns[0] <= 0 or len(actions) == 0:
            raise RuntimeError(
                f"{game.spec.name}.hindsight must give a won game, got {len(actions)} moves "
                f"ending in {game.render(states, len(states) - 1)}"
            )
        if self._keep_final:
            actions = np.append(actions, -1)  # the finished answer: a value target only
        else:
            states = states[:-1]
        policies = np.zeros((len(actions), game.spec.num_actions), np.float32)
        moved = np.flatnonzero(actions >= 0)
        policies[moved, actions[moved]] = 1.0
        players = np.where(actions >= 0, game.current_player(states), 0)
        self._stats["hindsight_games"] += 1
        return GameRecord.from_plies(
            game.observation_tensor(states), policies, players, actions, returns, version,
            self.discount, hindsight=True, observation_dtype=game.spec.observation_dtype,
        )  # fmt: skip


def _one_hot(action: int, size: int) -> np.ndarray:
    target = np.zeros(size, np.float32)
    target[action] = 1.0
    return target
