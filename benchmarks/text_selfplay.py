"""Text-game self-play speed with and without the worker's evaluation cache, side by side.

A Gumbel search starts every move from a fresh tree, so it evaluates again most of what the
last move's search evaluated. The worker's evaluation cache (``selfplay.cache_evaluations``)
remembers the network's outputs for the last two moves' positions. This benchmark plays the
same problems with the same network in one process (one torch thread, no Ray) without and
with it, alternating the two over ``--rounds`` so that a change in the machine's load hits
both, and prints positions per second and how many positions the network was asked about.

    python benchmarks/text_selfplay.py runs/countdown-.../checkpoint.pt
    python benchmarks/text_selfplay.py --game countdown@k=3 --seconds 10   # untrained network

An untrained network's answers end at their first wrong character, so its games are much
shorter than a trained one's: pass a checkpoint for numbers that stand for a real run.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import time
from pathlib import Path

import numpy as np
import torch
from rich.console import Console
from rich.table import Table

import games
from games.text.task import TextGame
from selfplay.checkpoint import load_checkpoint
from selfplay.config import from_dict, resolve
from selfplay.model import PolicyValueNet, count_parameters, make_evaluator
from selfplay.worker import SelfPlayWorker

ROOT = Path(__file__).resolve().parents[1]
VARIANTS = {"no cache": False, "evaluation cache": True}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkpoint", nargs="?", help="a text game's checkpoint (its config)")
    parser.add_argument("--game", help="without a checkpoint: the text game, untrained network")
    parser.add_argument("--games", type=int, default=128, help="games in lockstep (128)")
    parser.add_argument("--simulations", type=int, help="per move (default: the run's config)")
    parser.add_argument("--seconds", type=float, default=20.0, help="timed play per row (20)")
    parser.add_argument("--rounds", type=int, default=2, help="passes over the variants (2)")
    parser.add_argument(
        "--warmup-moves", type=int, default=30, help="moves before timing (30): mixed game lengths"
    )
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/text_selfplay.json")
    args = parser.parse_args()
    if bool(args.checkpoint) == bool(args.game):
        parser.error("give a checkpoint or --game, not both")
    if args.games < 1 or args.seconds <= 0 or args.rounds < 1 or args.warmup_moves < 0:
        parser.error("--games, --rounds >= 1, --seconds > 0 and --warmup-moves >= 0")
    return args


def measure(game, config, network, variant: str, args) -> dict:
    """One row: a fresh worker (same seed, same problems) with or without the cache."""
    selfplay = dataclasses.replace(
        config.selfplay,
        games_per_worker=args.games,
        cache_evaluations=VARIANTS[variant],
        cheap_simulations=0,
    )
    worker = SelfPlayWorker(game, config.mcts, selfplay, make_evaluator(network, "cpu"), seed=0)
    warm = 0
    while warm < args.warmup_moves * args.games:
        worker.play(1)  # with many slots, nearly always one move
        warm += worker.stats()["moves"]  # (and forgets the warm-up's counts)
    start = time.perf_counter()
    while time.perf_counter() - start < args.seconds:
        worker.play(1)
    s = worker.stats()
    seconds = s["seconds"]
    asked = s["evaluator_positions"] + s["cache_hits"]
    return {
        "variant": variant,
        "positions_per_s": s["moves"] / seconds,  # one training position per slot per move
        "moves": s["moves"] // args.games,
        "seconds": seconds,
        "network_positions_per_move": s["evaluator_positions"] / s["moves"],
        "cache_hit_rate": s["cache_hits"] / asked if asked else 0.0,
        "evaluator_share": s["evaluator_seconds"] / seconds,
        "load": os.getloadavg()[0],
    }


def main() -> None:
    args = parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    console = Console(width=140)
    if args.checkpoint:
        payload = load_checkpoint(args.checkpoint)
        config = from_dict(payload["config"])
    else:
        payload, config = None, resolve([f"game={args.game}"])
    if args.simulations:
        config = dataclasses.replace(
            config, mcts=dataclasses.replace(config.mcts, simulations=args.simulations)
        )
    game = games.make(config.game)
    if not isinstance(game, TextGame):
        raise SystemExit(f"{config.game} is not a text game")
    network = PolicyValueNet(game.spec, config.model).eval()
    if payload is not None:
        network.load_state_dict(payload["learner"]["model"])
    console.print(
        f"{game.task.describe()}: {config.model.blocks}x{config.model.channels} transformer "
        f"({count_parameters(network):,} parameters), {config.mcts.algorithm} "
        f"{config.mcts.simulations} simulations, {args.games} games in lockstep, 1 torch "
        f"thread, {os.cpu_count()} CPUs",
        highlight=False,
    )
    rows = []
    for round_ in range(args.rounds):
        for variant in VARIANTS:
            row = {"round": round_, **measure(game, config, network, variant, args)}
            rows.append(row)
            console.print(f"round {round_} {variant}: {row['positions_per_s']:.0f} positions/s")

    def mean(variant: str, key: str) -> float:
        return float(np.mean([r[key] for r in rows if r["variant"] == variant]))

    base = mean("no cache", "positions_per_s")
    table = Table(title="Text-game self-play with and without the cache (mean over rounds)")
    for column in ("variant", "positions/s", "speed-up", "network positions/move",
                   "cache hits", "network share"):  # fmt: skip
        table.add_column(column, justify="left" if column == "variant" else "right")
    summary = {}
    for variant in VARIANTS:
        rate = mean(variant, "positions_per_s")
        summary[variant] = {"positions_per_s": rate, "speedup": rate / base}
        table.add_row(variant, f"{rate:.0f}", f"{rate / base:.2f}x",
                      f"{mean(variant, 'network_positions_per_move'):.1f}",
                      f"{mean(variant, 'cache_hit_rate'):.0%}",
                      f"{mean(variant, 'evaluator_share'):.0%}")  # fmt: skip
    console.print(table)
    meta = {
        "game": config.game, "checkpoint": args.checkpoint,
        "model": dataclasses.asdict(config.model),
        "parameters": count_parameters(network), "algorithm": config.mcts.algorithm,
        "simulations": config.mcts.simulations, "games": args.games, "seconds": args.seconds,
        "torch": torch.__version__, "cpus": os.cpu_count(),
        "machine": platform.processor() or platform.machine(),
    }  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"meta": meta, "summary": summary, "rows": rows}, indent=2))
    console.print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
