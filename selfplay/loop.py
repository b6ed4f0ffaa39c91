"""The training loop, top to bottom: self-play actors fill the replay buffer, the learner trains
on it, the candidate it produces must beat the best network in the arena to be published to
self-play, and the run directory gets logs and checkpoints.

Self-play never waits for the learner: every worker always has a ``play`` call in flight, so
games keep coming while the learner trains. The learner and the replay buffer live in this
(driver) process: positions arrive once per game and are sampled many times, so keeping them
next to the learner saves a Ray round trip per batch, and a checkpoint is a local write.

Run directory: ``config.json`` (the resolved configuration), ``checkpoint.pt`` (network,
optimizer, scheduler, counters, RNG states), ``replay.npz`` (the buffer), ``tensorboard/``.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch
from rich.console import Console
from rich.progress import Progress

import games
from selfplay.actors import WorkerPool, init_ray
from selfplay.checkpoint import check_compatible, game_info, load_checkpoint, save_checkpoint
from selfplay.config import RunConfig, format_config, from_dict, parse_overrides, to_dict
from selfplay.gating import BestNetwork
from selfplay.learner import Learner
from selfplay.replay import GameRecord, ReplayBuffer
from selfplay.strength import StrengthMonitor

CHECKPOINT, REPLAY, CONFIG = "checkpoint.pt", "replay.npz", "config.json"


def new_run_dir(config: RunConfig) -> Path:
    """A fresh folder for the run, named by the config or by game and start time. Creating it
    claims it: two runs started in the same second get ``NAME`` and ``NAME-2``, and a name
    given twice is refused rather than shared."""
    root = Path(config.run_dir)
    root.mkdir(parents=True, exist_ok=True)
    if config.name:
        run_dir = root / config.name
        if (run_dir / CHECKPOINT).exists():
            raise FileExistsError(
                f"{run_dir} already holds a run; resume it with --resume {run_dir}"
            )
        try:
            run_dir.mkdir()
        except FileExistsError:
            if any(run_dir.iterdir()):
                raise FileExistsError(
                    f"{run_dir} is in use by another run (or one that died before its first "
                    "checkpoint); pick another name= or delete the folder"
                ) from None
        return run_dir
    stem = f"{games.make(config.game).spec.name}-{time.strftime('%Y%m%d-%H%M%S')}"
    for suffix in itertools.count(1):
        run_dir = root / (stem if suffix == 1 else f"{stem}-{suffix}")
        try:
            run_dir.mkdir()  # atomic: exactly one run gets each name
        except FileExistsError:
            continue
        break
    return run_dir


def _device() -> str:
    return "cuda" if torch.cuda.is_available() else "cpu"


@dataclasses.dataclass
class RunState:
    """Everything a checkpoint restores."""

    config: RunConfig
    learner: Learner
    replay: ReplayBuffer
    best: BestNetwork
    generation: int


def start_run(config: RunConfig) -> RunState:
    """A new learner, an empty replay buffer, and the initial network as the best one."""
    game = games.make(config.game)
    spec = game.spec
    learner = Learner(spec, config.model, config.learner, device=_device(), seed=config.seed)
    replay = ReplayBuffer(
        config.replay.window, spec.observation_shape, spec.num_actions, seed=config.seed,
        observation_dtype=spec.observation_dtype,
    )  # fmt: skip
    best = BestNetwork(game, config, learner.candidate, _device())
    return RunState(config, learner, replay, best, 0)


def load_run(run_dir: Path, overrides: Sequence[str] = ()) -> RunState:
    """The saved state of a run, its configuration changed by ``overrides`` (such as a new
    ``generations``)."""
    payload = load_checkpoint(Path(run_dir) / CHECKPOINT)
    config = parse_overrides(overrides, base=from_dict(payload["config"]))
    check_compatible(payload, games.make(config.game).spec)
    state = start_run(config)
    state.learner.load_state_dict(payload["learner"])
    state.best.load_state_dict(payload["best"])
    state.replay = ReplayBuffer.load(Path(run_dir) / REPLAY)
    state.generation = int(payload["generation"])
    return state


def train(
    config: RunConfig | None = None,
    *,
    resume: Path | None = None,
    overrides: Sequence[str] = (),
    console: Console | None = None,
    on_generation: Callable[[int, dict[str, float], WorkerPool], None] | None = None,
) -> Path:
    """Runs training until ``config.generations`` (or forever); returns the run directory.

    ``resume`` continues the run in that directory where its last checkpoint left it, with
    ``overrides`` applied to its saved configuration. ``on_generation(generation, metrics,
    pool)`` is called after each generation (tests use it).
    """
    console = console or Console()
    if resume is not None:
        run_dir = Path(resume)
        run = load_run(run_dir, overrides)
        console.print(f"resumed at generation {run.generation} with {len(run.replay)} positions")
    elif config is None:
        raise ValueError("train() needs a config or a run directory to resume")
    else:
        run_dir = new_run_dir(config)
        run = start_run(config)
    config, learner, replay, best = run.config, run.learner, run.replay, run.best
    (run_dir / CONFIG).write_text(json.dumps(to_dict(config), indent=2))
    console.print(f"[bold]run[/bold] {run_dir}\n{format_config(config)}", highlight=False)
    game = games.make(config.game)

    init_ray(config.ray)
    import ray  # after init_ray: only to read the cluster's resources

    cpus = int(ray.cluster_resources().get("CPU", 1))
    gpus = ray.cluster_resources().get("GPU", 0)
    workers = config.selfplay.workers or max(1, cpus - 1)
    # On GPU machines the workers share the GPUs with the learner for their network calls.
    gpus_per_worker = min(1.0, gpus / (workers + 1)) if gpus else 0.0
    # A resumed run's workers start from seeds the run has not used before.
    pool = WorkerPool(config, workers, gpus_per_worker, seed_offset=1000 * run.generation)
    pool.publish(best.generation, best.weights())  # self-play always uses the best network

    from torch.utils.tensorboard import SummaryWriter  # imports tensorboard: only when training

    writer = SummaryWriter(str(run_dir / "tensorboard"))
    monitor = StrengthMonitor(game, config, run_dir, _device())
    console.print(f"{workers} self-play workers, learner on {_device()}, logs in {writer.log_dir}")
    collected = time.perf_counter()  # when the last generation's games were collected
    try:
        while not config.generations or run.generation < config.generations:
            start = time.perf_counter()
            with Progress(console=console, transient=True) as progress:
                task = progress.add_task(
                    f"generation {run.generation + 1}: self-play",
                    total=config.selfplay.games_per_generation,
                )
                records, stats = pool.collect(
                    config.selfplay.games_per_generation,
                    on_games=lambda n, task=task: progress.advance(task, n),
                )
            replay.add(records)
            # The games were played since the last collect, while the learner trained too.
            now = time.perf_counter()
            period, waited, collected = now - collected, now - start, now
            losses = _learn(learner, replay, game, config, pool)
            run.generation += 1
            metrics = _metrics(records, stats, losses, replay, period, pool.replaced)
            metrics["selfplay/wait_share"] = waited / period
            # Where the driver's time goes, in seconds per generation.
            metrics["learner/seconds"], mark = _since(now)
            if losses:  # a candidate exists only once the learner has trained
                rng = np.random.default_rng([config.seed, run.generation])
                metrics |= best.consider(learner.candidate, run.generation, rng)
                if metrics["arena/promoted"]:
                    pool.publish(best.generation, best.weights())
                metrics["arena/seconds"], mark = _since(mark)
            if monitor.due(run.generation):
                metrics |= monitor.measure(best.model, run.generation)
                metrics["strength/seconds"], mark = _since(mark)
            _log(writer, console, run.generation, metrics, records, game)
            if run.generation % config.checkpoint_every == 0:
                _checkpoint(run_dir, run, game)
            if on_generation is not None:
                on_generation(run.generation, metrics, pool)
        if run.generation % config.checkpoint_every:
            _checkpoint(run_dir, run, game)  # the last generation is always saved
    except KeyboardInterrupt:
        console.print("interrupted: saving a checkpoint")
        _checkpoint(run_dir, run, game)
    finally:
        pool.shutdown()
        writer.close()
    return run_dir


def _since(mark: float) -> tuple[float, float]:
    """Seconds since ``mark``, and now (the next mark)."""
    now = time.perf_counter()
    return now - mark, now


def _learn(
    learner: Learner, replay: ReplayBuffer, game: games.Game, config: RunConfig, pool: WorkerPool
):
    """``steps_per_generation`` gradient steps, once the buffer holds enough positions, then
    (``learner.max_reuse``) more while the next generation's games are not all in and the
    reuse ratio allows. The pool is polled between steps, so the workers never wait for the
    learner."""
    if len(replay) < config.replay.min_positions:
        return []
    augment = game if config.replay.augment else None
    losses = []

    def more() -> bool:
        if len(losses) < config.learner.steps_per_generation:
            return True
        return (
            pool.waiting < config.selfplay.games_per_generation
            and replay.reuse_ratio < config.learner.max_reuse
        )

    while more():
        batch = replay.sample(
            config.learner.batch_size,
            game=augment,
            whole_games=config.learner.whole_games,
            buckets=config.learner.length_buckets,
        )
        losses.append(learner.train_step(*batch))
        pool.poll()
    return losses


def _metrics(records, stats, losses, replay, seconds, replaced) -> dict[str, float]:
    played = [r for r in records if r.played]
    positions = sum(r.length for r in played)
    metrics = {
        "selfplay/games_per_s": len(played) / seconds,
        "selfplay/positions_per_s": positions / seconds,
        "selfplay/game_length": positions / max(1, len(played)),
        "selfplay/workers_replaced": float(replaced),
        "replay/size": float(len(replay)),
        "replay/reuse_ratio": float(replay.reuse_ratio),
        "learner/steps": float(len(losses)),
        "replay/mean_age": float(replay.mean_age),
    }
    if played and len(played[0].returns) == 1:  # one-player games: how often self-play wins
        metrics["selfplay/solve_rate"] = float(np.mean([r.returns[0] > 0 for r in played]))
        metrics["selfplay/hindsight_share"] = sum(r.hindsight for r in records) / len(played)
        sampled = [r.returns[0] > 0 for r in records if r.sampled]
        if sampled:  # the network alone, sampling at temperature 1 (``answer_samples``)
            metrics["selfplay/sampled_solve_rate"] = float(np.mean(sampled))
    if stats:  # rates over the whole generation's wall time, all workers together
        metrics["selfplay/simulations_per_s"] = sum(s["simulations"] for s in stats) / seconds
        metrics["selfplay/evaluator_batch"] = sum(s["evaluator_positions"] for s in stats) / max(
            1, sum(s["evaluator_calls"] for s in stats)
        )
        evaluated = sum(s["evaluator_positions"] + s["cache_hits"] for s in stats)
        metrics["selfplay/cache_hit_rate"] = (
            sum(s["cache_hits"] for s in stats) / evaluated if evaluated else 0.0
        )
        worker_seconds = sum(s["seconds"] for s in stats)
        metrics["selfplay/evaluator_share"] = (
            sum(s["evaluator_seconds"] for s in stats) / worker_seconds if worker_seconds else 0.0
        )
        sampling = sum(s.get("sample_seconds", 0.0) for s in stats)
        if sampling:  # what answer_samples costs the workers
            metrics["selfplay/sample_share"] = sampling / worker_seconds
    for key in losses[0] if losses else ():
        metrics[f"learner/{key}"] = float(np.mean([loss[key] for loss in losses]))
    return metrics


def _log(writer, console: Console, generation: int, metrics: dict, records: list[GameRecord], game):
    for key, value in metrics.items():
        writer.add_scalar(key, value, generation)
    first_moves = [int(r.actions[0]) for r in records if r.played]
    if first_moves:
        writer.add_histogram("selfplay/first_move", np.array(first_moves), generation,
                             bins=np.arange(game.spec.num_actions + 1) - 0.5)  # fmt: skip
    loss = metrics.get("learner/total_loss", float("nan"))
    arena = ""
    if "arena/promoted" in metrics:
        verdict = "promoted" if metrics["arena/promoted"] else "kept best"
        score = metrics.get("arena/score", metrics.get("arena/solve_rate", float("nan")))
        arena = f"  arena {score:.2f} {verdict} (best: gen {int(metrics['arena/best_generation'])})"
    console.print(
        f"gen {generation:4d}  games {sum(r.played for r in records):5d}  "
        f"positions/s {metrics['selfplay/positions_per_s']:8.1f}  "
        f"replay {int(metrics['replay/size']):7d}  loss {loss:.4f}{arena}",
        highlight=False,
    )


def _checkpoint(run_dir: Path, run: RunState, game: games.Game) -> None:
    """Buffer first, then the checkpoint that names its generation: both atomic writes."""
    run.replay.save(run_dir / REPLAY)
    save_checkpoint(
        run_dir / CHECKPOINT,
        {
            "game": game_info(game.spec),
            "config": to_dict(run.config),
            "learner": run.learner.state_dict(),
            "best": run.best.state_dict(),
            "generation": run.generation,
        },
    )
