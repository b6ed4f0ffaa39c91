"""Search with the verifier against sampling, at the same number of verifier calls: how many
held-out problems of a text game a trained network solves with each, over a range of budgets.

For every split and every ``--budgets`` value (simulations per problem), on the same problems:

- ``search-verifier`` (``text_eval.solve_answers``): one tree per problem, ``--simulations``
  at a time, until an answer is accepted or the budget is spent; its verifier calls are the
  distinct answers its tree reached;
- ``best-of-N``: N answers sampled from the network at temperature 1, N the search's mean
  verifier calls (rounded up);

and once, as the baseline, the search per token that commits to a token at a time
(``text_eval.search_answers``, ``--simulations`` per token, the verifier visible), with
best-of-N at its verifier calls.

    python benchmarks/verifier_search.py runs/countdown-.../checkpoint.pt --game countdown@k=4
    python benchmarks/verifier_search.py runs/game24-.../checkpoint.pt --game game24 \
        --splits test --simulations 64 --budgets 512 2048 8192
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from rich.console import Console
from rich.table import Table

import games
from selfplay.players import NetworkPlayer
from selfplay.text_eval import best_of_n, search_answers, solve_answers

sys.path.insert(0, str(Path(__file__).resolve().parent))
from report import machine_facts, save_report

ROOT = Path(__file__).resolve().parents[1]


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkpoint", help="a text game run's checkpoint.pt")
    parser.add_argument(
        "--game", required=True,
        help="the game to evaluate on, e.g. countdown@k=4 (played as selfplay eval plays it: "
        "without reject=dead_end)",
    )  # fmt: skip
    parser.add_argument("--splits", nargs="+", default=None, help="test splits (all)")
    parser.add_argument("--limit", type=int, default=300, help="problems per split (300)")
    parser.add_argument("--simulations", type=int, default=32, help="per round or token (32)")
    parser.add_argument(
        "--budgets", type=int, nargs="+", default=[256, 1024, 4096],
        help="search-verifier's simulations per problem (256 1024 4096)",
    )  # fmt: skip
    parser.add_argument("--seed", type=int, default=0, help="random seed (0)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1)")
    parser.add_argument(
        "--out", type=Path, default=ROOT / "benchmarks/results/verifier_search.json",
        help="JSON report (benchmarks/results/verifier_search.json)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    if args.limit < 1 or args.simulations < 1 or min(args.budgets) < 1:
        parser.error("--limit, --simulations and every budget must be at least 1")
    return args


def _row(split, method, budget, solved, calls, sims, seconds) -> dict:
    return {
        "split": split, "method": method, "budget": budget,
        "solved": float(np.mean(solved)), "verifier_calls": float(np.mean(calls)),
        "simulations": float(np.mean(sims)), "seconds": round(seconds, 2),
    }  # fmt: skip


def run(args: argparse.Namespace, console: Console) -> dict:
    torch.set_num_threads(args.threads)
    load_before = os.getloadavg()
    game = games.make(args.game).for_evaluation()
    player = NetworkPlayer.from_checkpoint(args.checkpoint, game, simulations=args.simulations)
    config = player.search_config
    rows = []

    def sample(split, states, calls, budget, rng):
        n = max(1, math.ceil(float(np.mean(calls))))
        start = time.perf_counter()
        solved = best_of_n(game, player.decoder, states, n, rng)
        rows.append(_row(split, "best-of-N", budget, solved, n, 0, time.perf_counter() - start))

    for split in args.splits or list(game.task.splits):
        states = game.states_from_prompts(game.task.test_prompts(split, limit=args.limit))
        rng = np.random.default_rng(args.seed)
        start = time.perf_counter()
        final, calls, sims = search_answers(game, player.evaluator, states, config, rng)
        solved = game.returns(final)[:, 0] > 0
        rows.append(_row(split, "per-token", None, solved, calls, sims,
                         time.perf_counter() - start))  # fmt: skip
        sample(split, states, calls, None, rng)
        for budget in args.budgets:
            start = time.perf_counter()
            final, calls, sims = solve_answers(
                game, player.evaluator, states, config, rng, budget=budget
            )
            solved = game.returns(final)[:, 0] > 0
            rows.append(_row(split, "search-verifier", budget, solved, calls, sims,
                             time.perf_counter() - start))  # fmt: skip
            sample(split, states, calls, budget, rng)
            console.print(f"{split} budget {budget}: {rows[-2]['solved']:.1%} against "
                          f"{rows[-1]['solved']:.1%}")  # fmt: skip
    return {
        "checkpoint": str(args.checkpoint),
        "game": game.task.describe(),
        "problems_per_split": args.limit,
        "simulations": args.simulations,
        "rows": rows,
        "machine": machine_facts(load_before),
    }


def print_report(report: dict, console: Console) -> None:
    table = Table(
        title=f"{report['game']}: solved at the same verifier calls "
        f"({report['problems_per_split']} problems per split, {report['simulations']} "
        "simulations per round or token)"
    )
    for column in ("split", "method", "budget", "solved", "verifier calls", "simulations", "s"):
        table.add_column(column, justify="left" if column in ("split", "method") else "right")
    for r in report["rows"]:
        budget = "per token" if r["budget"] is None else str(r["budget"])
        table.add_row(r["split"], r["method"], budget, f"{r['solved']:.1%}",
                      f"{r['verifier_calls']:.1f}", f"{r['simulations']:.0f}",
                      f"{r['seconds']:.1f}")  # fmt: skip
    console.print(table)


def main(argv: Sequence[str] | None = None) -> None:
    console = Console()
    args = parse_args(argv)
    report = run(args, console)
    print_report(report, console)
    save_report(report, args.out, console)


if __name__ == "__main__":
    main()
