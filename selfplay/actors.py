"""The only module that imports Ray: thin actor wrappers around the plain classes, and the pool
that keeps self-play workers busy and replaces the ones that die.

Everything these wrap (SelfPlayWorker, PolicyValueNet, ...) runs and is tested without Ray.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import Any

import ray
import torch
from ray.exceptions import ActorDiedError, ActorUnavailableError, RayActorError

import games
from selfplay.config import RayConfig, RunConfig, from_dict, to_dict
from selfplay.incremental import decoding_evaluator
from selfplay.model import PolicyValueNet, make_evaluator
from selfplay.replay import GameRecord
from selfplay.worker import SelfPlayWorker

log = logging.getLogger("selfplay.actors")


def init_ray(config: RayConfig) -> None:
    """Joins the cluster at ``config.address``, or starts Ray in this process."""
    if ray.is_initialized():
        return
    if config.address:
        ray.init(address=config.address, log_to_driver=False)
        return
    num_gpus = torch.cuda.device_count() if config.num_gpus < 0 else config.num_gpus
    ray.init(
        address="local",  # a new in-process cluster, never one that happens to be running here
        num_cpus=config.num_cpus or os.cpu_count(),
        num_gpus=num_gpus,
        include_dashboard=False,
        log_to_driver=False,
    )


class SelfPlayActor:
    """A self-play worker in its own process, with its own copy of the network."""

    def __init__(self, config: dict[str, Any], seed: int, worker_id: int):
        torch.set_num_threads(1)  # many workers share the machine's cores
        run = from_dict(config)
        self.game = games.make(run.game)
        self.device = "cuda" if torch.cuda.is_available() and ray.get_gpu_ids() else "cpu"
        # Evaluation mode once: the evaluator would otherwise switch modes on every call.
        self.model = PolicyValueNet(self.game.spec, run.model).to(self.device).eval()
        self.worker = SelfPlayWorker(
            self.game, run.mcts, run.selfplay, make_evaluator(self.model, self.device),
            seed=seed, worker_id=worker_id, decoder=decoding_evaluator(self.model, self.device),
        )  # fmt: skip
        self.version = -1

    def set_weights(self, version: int, weights: dict[str, torch.Tensor]) -> int:
        """Loads the network of ``version`` (Ray resolves the shared object once per node)."""
        if version > self.version:
            self.model.load_state_dict(weights)
            self.version = version
            self.worker.set_evaluator(
                make_evaluator(self.model, self.device), version,
                decoding_evaluator(self.model, self.device),
            )  # fmt: skip
        return self.version

    def play(self, min_games: int) -> tuple[list[GameRecord], dict[str, float]]:
        return self.worker.play(min_games), self.worker.stats()

    def node_id(self) -> str:
        return ray.get_runtime_context().get_node_id()


class WorkerPool:
    """Self-play actors kept busy with ``play`` calls; a dead actor is replaced by a new one
    with the same id and a fresh seed, and gets the current weights.

    Every worker always has one ``play(per_call)`` call in flight. ``collect`` waits for games;
    between collects, ``poll`` takes in the calls that have finished and starts the next ones,
    so self-play goes on while the driver trains (the games wait in the pool for the next
    ``collect``). ``per_call`` defaults to a quarter of a worker's games in lockstep.
    """

    def __init__(
        self,
        config: RunConfig,
        num_workers: int,
        gpus_per_worker: float = 0.0,
        seed_offset: int = 0,
        per_call: int | None = None,
    ):
        self._config = config
        self._options = {"num_cpus": 1, "num_gpus": gpus_per_worker, "max_restarts": 0}
        self._actor_cls = ray.remote(SelfPlayActor)
        self._weights: tuple[int, Any] | None = None
        self._pending: dict[Any, int] = {}  # play() future -> worker id
        self._spawned = 0
        self._seed_offset = seed_offset
        self._per_call = per_call or max(1, config.selfplay.games_per_worker // 4)
        self._records: list[GameRecord] = []  # finished games not yet collected
        self._stats: list[dict] = []
        self.replaced = 0
        self.actors = [self._spawn(i) for i in range(num_workers)]

    def _spawn(self, worker_id: int):
        # Never reuse a seed: not for a replacement, nor after a resume (seed_offset).
        seed = self._config.seed * 1_000_003 + self._seed_offset + self._spawned
        self._spawned += 1
        actor = self._actor_cls.options(**self._options).remote(
            to_dict(self._config), seed, worker_id
        )
        if self._weights is not None:
            actor.set_weights.remote(*self._weights)
        return actor

    def publish(self, version: int, weights: dict[str, torch.Tensor]) -> None:
        """Puts the weights in the object store once; every actor loads them by reference."""
        self._weights = (version, ray.put(weights))
        for actor in self.actors:
            actor.set_weights.remote(*self._weights)

    def collect(
        self, min_games: int, on_games: Callable[[int], None] | None = None
    ) -> tuple[list[GameRecord], list[dict]]:
        """Finished games, at least ``min_games`` of them (all that ``poll`` took in, and more
        from whichever workers are ready), with the workers' stats of those calls.
        ``on_games(n)`` is told of each batch of ``n`` games as it arrives (for a progress
        display)."""
        self._keep_busy()
        if on_games is not None and self._records:
            on_games(self.waiting)
        while self.waiting < min_games:
            ready, _ = ray.wait(list(self._pending), num_returns=1)
            games = self._take(ready[0])
            if on_games is not None:
                on_games(games)
        records, stats = self._records, self._stats
        self._records, self._stats = [], []
        return records, stats

    @property
    def waiting(self) -> int:
        """Games played among the records not yet collected (not counting hindsight twins or
        sampled answers)."""
        return sum(r.played for r in self._records)

    def poll(self) -> int:
        """Takes in the ``play`` calls that have finished, without waiting, and starts the
        next ones; returns how many games it took in."""
        self._keep_busy()
        ready, _ = ray.wait(list(self._pending), num_returns=len(self._pending), timeout=0)
        return sum(self._take(ref) for ref in ready)

    def _keep_busy(self) -> None:
        for worker_id, actor in enumerate(self.actors):
            if worker_id not in self._pending.values():
                self._pending[actor.play.remote(self._per_call)] = worker_id

    def _take(self, ref) -> int:
        """Keeps the games of the finished call ``ref`` (replacing its worker if it died) and
        starts that worker's next call; returns the number of games."""
        worker_id = self._pending.pop(ref)
        games = 0
        try:
            games_done, worker_stats = ray.get(ref)
        except (RayActorError, ActorDiedError, ActorUnavailableError) as e:
            log.warning("self-play worker %d died (%s); starting a new one", worker_id, e)
            self.replaced += 1
            self.actors[worker_id] = self._spawn(worker_id)
        else:
            self._records.extend(games_done)
            self._stats.append(worker_stats)
            games = sum(r.played for r in games_done)
        self._pending[self.actors[worker_id].play.remote(self._per_call)] = worker_id
        return games

    def shutdown(self) -> None:
        for actor in self.actors:
            ray.kill(actor)
        self.actors, self._pending = [], {}
