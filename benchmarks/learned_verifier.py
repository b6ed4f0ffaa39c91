"""How well a text network's value head judges finished answers, and what search-hidden makes
of it: the checkpoints side by side, on the same held-out problems.

For each checkpoint and split:

- ``greedy``: the network alone;
- ``sampled``: the share of ``--samples`` answers sampled from it (temperature 1, the rules
  search-hidden plays by) that the verifier accepts, and ``AUC``: the chance that the value
  head ranks an accepted one of them above a rejected one (0.5: it cannot tell them apart);
- ``rerank@N``: the first N samples of each problem, the one the value head ranks first
  verified, against ``any@N``, solved when any of them is accepted (best-of-N);
- ``hidden per token``: a search per token that commits to a token at a time, the network
  valuing finished answers (``text_eval.search_answers``, ``--simulations`` per token);
- ``hidden tree``: one tree per problem for ``--budget`` simulations, the finished answer the
  network values most (``text_eval.solve_answers``, the ``selfplay eval`` search-hidden).

    python benchmarks/learned_verifier.py BEFORE/checkpoint.pt AFTER/checkpoint.pt \
        --game game24 --splits test --limit 362 --simulations 64 --budget 2048
"""

from __future__ import annotations

import argparse
import dataclasses
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
from games.text.task import TextGame
from selfplay.players import NetworkPlayer
from selfplay.text_eval import decode, search_answers, solve_answers

sys.path.insert(0, str(Path(__file__).resolve().parent))
from report import machine_facts, print_checkpoint_rows, save_report

ROOT = Path(__file__).resolve().parents[1]
RERANK = (4, 32)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkpoints", nargs="+", help="text game runs' checkpoint.pt files")
    parser.add_argument("--game", required=True, help="the game to evaluate on, e.g. game24")
    parser.add_argument("--splits", nargs="+", default=None, help="test splits (all)")
    parser.add_argument("--limit", type=int, default=200, help="problems per split (200)")
    parser.add_argument("--samples", type=int, default=32, help="answers per problem (32)")
    parser.add_argument("--simulations", type=int, default=32, help="per token or round (32)")
    parser.add_argument("--budget", type=int, default=1024, help="the tree's simulations (1024)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (0)")
    parser.add_argument(
        "--out", type=Path, default=ROOT / "benchmarks/results/learned_verifier.json",
        help="JSON report (benchmarks/results/learned_verifier.json)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    if min(args.limit, args.samples, args.simulations, args.budget) < 1:
        parser.error("--limit, --samples, --simulations and --budget must be at least 1")
    return args


def auc(accepted: np.ndarray, values: np.ndarray) -> float:
    """The chance that a random accepted answer's value exceeds a random rejected one's (ties
    count half): the area under the ROC curve; NaN without both kinds."""
    positives, negatives = int(accepted.sum()), int((~accepted).sum())
    if positives == 0 or negatives == 0:
        return float("nan")
    _, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    average_rank = (np.cumsum(counts) - (counts - 1) / 2)[inverse]  # ranks from 1, ties shared
    return float((average_rank[accepted].sum() - positives * (positives + 1) / 2)
                 / (positives * negatives))  # fmt: skip


def measure(game: TextGame, player: NetworkPlayer, args: argparse.Namespace, split: str) -> dict:
    """One checkpoint's row on one split (``game`` as evaluations play it)."""
    hidden_game = game.without_early_verdicts()
    config = dataclasses.replace(player.search_config, terminal_values="network")
    states = game.states_from_prompts(game.task.test_prompts(split, limit=args.limit))
    rng = np.random.default_rng(args.seed)
    row: dict = {"split": split, "problems": len(states)}

    def solved(final: np.ndarray) -> float:
        return float((game.returns(final)[:, 0] > 0).mean())

    row["greedy"] = solved(decode(game, player.decoder, states, rng))
    copies = np.repeat(np.arange(len(states)), args.samples)
    answers = decode(hidden_game, player.decoder, states[copies], rng, temperature=1.0)
    accepted = (game.returns(answers)[:, 0] > 0).reshape(len(states), args.samples)
    _, values = player.evaluator(game.observation_tensor(answers))
    values = np.asarray(values, np.float64).reshape(len(states), args.samples)
    row["sampled"] = float(accepted.mean())
    row["auc"] = auc(accepted.ravel(), values.ravel())
    for n in (n for n in RERANK if n <= args.samples):
        first = np.argmax(values[:, :n], axis=1)
        row[f"rerank@{n}"] = float(accepted[np.arange(len(states)), first].mean())
        row[f"any@{n}"] = float(accepted[:, :n].any(axis=1).mean())
    start = time.perf_counter()
    final, _, _ = search_answers(hidden_game, player.evaluator, states, config, rng)
    row["hidden_per_token"], row["per_token_s"] = solved(final), time.perf_counter() - start
    start = time.perf_counter()
    final, _, _ = solve_answers(
        hidden_game, player.evaluator, states, config, rng, budget=args.budget
    )
    row["hidden_tree"], row["tree_s"] = solved(final), time.perf_counter() - start
    return row


def print_report(report: dict, console: Console) -> None:
    rows = report["rows"]
    table = Table(
        title=f"{report['game']}: the value head as a verifier ({report['samples']} samples; "
        f"hidden search per token and in a tree of {report['budget']})"
    )
    # The seconds stay in the JSON: the table keeps to what fits a terminal.
    numbers = [k for k in rows[0] if k not in ("checkpoint", "split", "problems", "per_token_s",
                                                "tree_s")]  # fmt: skip
    for column in ("#", "split", *numbers):
        table.add_column(column.replace("hidden_", "").replace("_", " "), justify="right")
    print_checkpoint_rows(
        table,
        report,
        lambda r: [f"{r[k]:.2f}" if k == "auc" else f"{r[k]:.1%}" for k in numbers],
        console,
    )


def main(argv: Sequence[str] | None = None) -> None:
    console = Console(width=max(Console().width, 110))
    args = parse_args(argv)
    torch.set_num_threads(1)
    load_before = os.getloadavg()
    game = games.make(args.game).for_evaluation()
    rows = []
    for checkpoint in args.checkpoints:
        player = NetworkPlayer.from_checkpoint(checkpoint, game, simulations=args.simulations)
        for split in args.splits or list(game.task.splits):
            rows.append({"checkpoint": checkpoint, **measure(game, player, args, split)})
            console.print(f"{checkpoint} {split}: AUC {rows[-1]['auc']:.2f}, hidden tree "
                          f"{rows[-1]['hidden_tree']:.1%}")  # fmt: skip
    report = {
        "game": args.game, "checkpoints": args.checkpoints, "problems_per_split": args.limit,
        "samples": args.samples, "simulations": args.simulations, "budget": args.budget,
        "rows": rows, "machine": machine_facts(load_before),
    }  # fmt: skip
    print_report(report, console)
    save_report(report, args.out, console)


if __name__ == "__main__":
    main()
