"""Self-play throughput against the network's own speed: where a self-play worker's time goes.

Connect Four, one process, one torch thread, no Ray. For each batch size G (games in lockstep)
and each search backend, in the same run:

1. the bare forward-pass rate of the network through ``make_evaluator`` at batch G, in
   positions per second;
2. one ``SelfPlayWorker`` playing G games with N simulations per move with that network, after
   a warm-up, timed by the worker's own ``stats()``.

Self-play makes one training position per move in every slot and runs about one forward pass
per simulation per position (subtree reuse and terminal leaves make it a little less), so if
only the network cost anything, self-play would run at ``forward_rate / N`` positions per
second. The table sets the measured rate beside that ideal, and splits the worker's wall time
into the evaluator and everything else (search kernels, rules, bookkeeping). The project's goal:
search and bookkeeping take at most 20% of the wall time.

Before timing, the worker plays G games with a uniform evaluator (cheap), so that its slots
hold games of every length as they do in a long run rather than G openings in step; then it
switches to the network (which drops its trees) and plays a few warm-up moves.

    python benchmarks/selfplay_throughput.py                  # G = 64, 128, 256; N = 64
    python benchmarks/selfplay_throughput.py --quick          # G = 64, a few seconds a row
    python benchmarks/selfplay_throughput.py --profile 25     # + where the rest of the time goes
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import platform
import pstats
import time
from pathlib import Path

import numpy as np
import torch
from rich.console import Console
from rich.table import Table

import games
from selfplay.config import ModelConfig, SelfPlayConfig
from selfplay.mcts import SearchConfig, resolve_backend
from selfplay.model import PolicyValueNet, count_parameters, make_evaluator
from selfplay.worker import SelfPlayWorker

ROOT = Path(__file__).resolve().parents[1]
GOAL_SHARE = 0.20  # the project's ceiling on search + bookkeeping's share of wall time
MODEL = ModelConfig(blocks=5, channels=64)


def sample_observations(game: games.Game, count: int, seed: int = 0) -> np.ndarray:
    """``[count, *obs]`` observations of positions after 0-20 random plies (none finished), so
    the forward pass sees the same kind of input as in self-play."""
    rng = np.random.default_rng(seed)
    found: list[np.ndarray] = []
    while sum(len(s) for s in found) < count:
        states = game.new_initial_states(count, rng)
        for _ in range(int(rng.integers(0, 21))):
            mask = game.legal_actions_mask(states)
            actions = np.where(mask, rng.random(mask.shape), -1).argmax(axis=1)
            states = game.apply_actions(states, actions)
        found.append(states[~game.is_terminal(states)])
    return game.observation_tensor(np.concatenate(found)[:count])


def forward_rate(evaluate, observations: np.ndarray, min_seconds: float) -> float:
    """Positions per second of ``evaluate`` on ``observations`` after one warm-up call."""
    evaluate(observations)
    calls, start = 0, time.perf_counter()
    while True:
        evaluate(observations)
        calls += 1
        elapsed = time.perf_counter() - start
        if elapsed >= min_seconds:
            return calls * len(observations) / elapsed


def replay_rate(evaluate, observations: np.ndarray, sizes: list[int], min_seconds: float) -> float:
    """Positions per second of ``evaluate`` on batches of the given ``sizes`` in turn (cycled
    over at least ``min_seconds``): the network's speed on self-play's own mix of batches."""
    positions, start, i = 0, time.perf_counter(), 0
    while True:
        size = sizes[i % len(sizes)]
        evaluate(observations[:size])
        positions += size
        i += 1
        elapsed = time.perf_counter() - start
        if elapsed >= min_seconds and i >= len(sizes):
            return positions / elapsed
        if elapsed >= 3 * min_seconds:  # a long row: a prefix of its batches is enough
            return positions / elapsed


def recording(evaluate, sizes: list[int]):
    """``evaluate`` that appends the size of every batch it is called with to ``sizes``."""

    def evaluate_and_record(observations: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        sizes.append(len(observations))
        return evaluate(observations)

    return evaluate_and_record


def uniform_evaluator(num_actions: int):
    def evaluate(observations: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        n = len(observations)
        return np.zeros((n, num_actions), np.float32), np.zeros(n, np.float32)

    return evaluate


def measure_selfplay(
    game: games.Game,
    evaluate,
    *,
    games_in_lockstep: int,
    simulations: int,
    backend: str,
    min_seconds: float,
    warmup_moves: int,
    profiler: cProfile.Profile | None = None,
) -> tuple[dict[str, float], list[int]]:
    """The worker's ``stats()`` over whole moves taking at least ``min_seconds``, after
    desynchronising the slots with a uniform evaluator and ``warmup_moves`` with ``evaluate``,
    and the sizes of the timed evaluator calls."""
    worker = SelfPlayWorker(
        game,
        SearchConfig(simulations=simulations, backend=backend),
        SelfPlayConfig(games_per_worker=games_in_lockstep),
        uniform_evaluator(game.spec.num_actions),
        seed=0,
    )
    worker.play(games_in_lockstep)  # slots now hold games of mixed lengths
    sizes: list[int] = []
    worker.set_evaluator(recording(evaluate, sizes), version=1)  # drops the uniform's trees
    for _ in range(warmup_moves):
        worker.play(1)  # with this many slots, nearly always exactly one move
    worker.stats()  # discard the warm-up
    sizes.clear()
    if profiler is not None:
        profiler.enable()
    start = time.perf_counter()
    while time.perf_counter() - start < min_seconds:
        worker.play(1)
    if profiler is not None:
        profiler.disable()
    return worker.stats(), sizes


def profile_text(profiler: cProfile.Profile, top: int) -> str:
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("tottime").print_stats(top)
    return out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add = parser.add_argument
    add("--games", type=int, nargs="+", default=[64, 128, 256],
        help="games in lockstep (the batch of every network call)")  # fmt: skip
    add("--simulations", type=int, default=64, help="simulations per move")
    add("--backends", nargs="+", default=["cpp", "numba"], choices=["cpp", "numba"],
        help="search backends, one row each")  # fmt: skip
    add("--seconds", type=float, help="minimum self-play time per row (30; --quick: 5)")
    add("--forward-seconds", type=float,
        help="minimum time of each forward-pass measurement (4; --quick: 2)")  # fmt: skip
    add("--warmup-moves", type=int, default=2, help="moves played with the network before timing")
    add("--quick", action="store_true", help="G = 64 only, 5 seconds per row")
    add("--profile", type=int, default=0, metavar="TOP",
        help="cProfile the timed moves and print the TOP functions by own time")  # fmt: skip
    add("--out", type=Path, default=ROOT / "benchmarks/results/selfplay_throughput.json")
    args = parser.parse_args()
    if args.quick:
        args.games = [64]
    if args.seconds is None:
        args.seconds = 5.0 if args.quick else 30.0
    if args.forward_seconds is None:
        args.forward_seconds = 2.0 if args.quick else 4.0

    torch.set_num_threads(1)
    torch.manual_seed(0)
    console = Console(width=160)
    game = games.make("connect4")
    net = PolicyValueNet(game.spec, MODEL)
    evaluate = make_evaluator(net, "cpu")
    backends = [resolve_backend(name).name for name in args.backends]  # fails loudly if missing
    console.print(
        f"connect4, {MODEL.blocks} blocks x {MODEL.channels} channels "
        f"({count_parameters(net):,} parameters), {args.simulations} simulations, "
        f"torch {torch.__version__} with {torch.get_num_threads()} thread, "
        f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}"
    )

    rows, profiles = [], {}
    for g in args.games:
        observations = sample_observations(game, g)
        for backend in backends:
            load_before = os.getloadavg()[0]
            forward = forward_rate(evaluate, observations, args.forward_seconds)
            profiler = cProfile.Profile() if args.profile else None
            s, sizes = measure_selfplay(
                game, evaluate, games_in_lockstep=g, simulations=args.simulations,
                backend=backend, min_seconds=args.seconds, warmup_moves=args.warmup_moves,
                profiler=profiler,
            )  # fmt: skip
            # The forward rate again after the row: a change tells that the load changed, and
            # the mean of the two stands for the rate during the row.
            forward_after = forward_rate(evaluate, observations, args.forward_seconds)
            forward_before, forward = forward, (forward + forward_after) / 2
            forward_mix = replay_rate(evaluate, observations, sizes, args.forward_seconds)
            positions_per_s = s["moves"] / s["seconds"]  # one training position per move
            ideal = forward / args.simulations
            row = {
                "games": g,
                "backend": backend,
                "simulations": args.simulations,
                "forward_positions_per_s": forward,
                "forward_positions_per_s_before": forward_before,
                "forward_positions_per_s_after": forward_after,
                "forward_positions_per_s_selfplay_batches": forward_mix,
                "selfplay_positions_per_s": positions_per_s,
                "selfplay_simulations_per_s": s["simulations"] / s["seconds"],
                "ideal_positions_per_s": ideal,
                "ratio": positions_per_s / ideal,
                "evaluator_share": s["evaluator_seconds"] / s["seconds"],
                "search_bookkeeping_share": 1 - s["evaluator_seconds"] / s["seconds"],
                # Where the rest goes: tree kernels and rules inside the search; the worker's
                # own bookkeeping (histories, records, move choice) outside it.
                "search_without_evaluator_share": (s["search_seconds"] - s["evaluator_seconds"])
                / s["seconds"],
                "worker_outside_search_share": (s["seconds"] - s["search_seconds"]) / s["seconds"],
                # Evaluator time the bare network predicts for the positions it saw, timed on
                # the same sequence of batch sizes (the rate per position depends on the size).
                "evaluator_seconds_predicted": s["evaluator_positions"] / forward_mix,
                # Below the simulations: a simulation that ends on a terminal node (common near
                # the end of a game) needs no network call.
                "evaluator_positions_per_move": s["evaluator_positions"] / s["moves"],
                "load_before": load_before,
                "load_after": os.getloadavg()[0],
                "worker_stats": s,
            }
            rows.append(row)
            console.print(
                f"G={g} {backend}: {positions_per_s:.1f} positions/s of ideal {ideal:.1f}, "
                f"search+bookkeeping {row['search_bookkeeping_share']:.1%} "
                f"({s['moves'] // g} moves in {s['seconds']:.1f}s, load {row['load_after']:.2f})"
            )
            if profiler is not None:
                profiles[f"G={g} {backend}"] = text = profile_text(profiler, args.profile)
                console.print(text, markup=False, highlight=False)

    table = Table(
        title=f"Connect Four self-play, {MODEL.blocks}x{MODEL.channels} ResNet, "
        f"{args.simulations} simulations, 1 torch thread (goal: search+bookkeeping <= 20%)"
    )
    columns = (
        "G", "backend", "forward\npos/s", "self-play\npos/s", "ideal\npos/s", "ratio",
        "self-play\nsims/s", "evals\n/pos", "mean\nbatch", "eval\ns", "predicted\neval s",
        "wall\ns", "search+\nbooks", "in\nsearch", "in\nworker", "load",
    )  # fmt: skip
    for name in columns:
        table.add_column(name, justify="right", no_wrap=True)
    for r in rows:
        s = r["worker_stats"]
        share = r["search_bookkeeping_share"]
        table.add_row(
            str(r["games"]), r["backend"],
            f"{r['forward_positions_per_s']:,.0f}", f"{r['selfplay_positions_per_s']:.1f}",
            f"{r['ideal_positions_per_s']:.1f}", f"{r['ratio']:.2f}",
            f"{r['selfplay_simulations_per_s']:,.0f}", f"{r['evaluator_positions_per_move']:.1f}",
            f"{s['evaluator_batch']:.1f}", f"{s['evaluator_seconds']:.1f}",
            f"{r['evaluator_seconds_predicted']:.1f}", f"{s['seconds']:.1f}",
            f"[{'green' if share <= GOAL_SHARE else 'red'}]{share:.1%}",
            f"{r['search_without_evaluator_share']:.1%}", f"{r['worker_outside_search_share']:.1%}",
            f"{r['load_before']:.1f}-{r['load_after']:.1f}",
        )  # fmt: skip
    console.print(table)
    console.print(
        "forward pos/s: bare network, mean of before and after the row; ideal = forward pos/s / "
        "simulations; ratio = self-play / ideal; evals/pos: network evaluations per position "
        "played (below the simulations where they end on terminal nodes); predicted eval s = "
        "evaluator positions / bare network's rate on the row's own batch sizes; search+books = "
        "1 - eval s / wall s, split into the search's own work (kernels, rules) and the "
        "worker's outside the search; load = 1-minute load average before-after the row"
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    meta = {
        "game": "connect4", "model": {"blocks": MODEL.blocks, "channels": MODEL.channels},
        "parameters": count_parameters(net), "simulations": args.simulations,
        "torch": torch.__version__, "torch_threads": torch.get_num_threads(),
        "cpus": os.cpu_count(), "machine": platform.processor() or platform.machine(),
        "min_seconds": args.seconds, "goal_search_bookkeeping_share": GOAL_SHARE,
    }  # fmt: skip
    args.out.write_text(json.dumps({"meta": meta, "rows": rows, "profiles": profiles}, indent=2))
    console.print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
