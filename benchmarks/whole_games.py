"""The learner on whole text games, side by side: length buckets on and off, and the last
transformer layer run at the read-out positions only or over every position.

A whole-game batch is cut to its longest game (``selfplay/model.py``), so where answer lengths
vary, as in written searches with undos (``countdown_ceiling.py --dfs``), short games pay for
the padding of long ones. ``learner.length_buckets=N`` draws N batches' games at once, sorts
them by length and cuts them into batches of about one length. And the network's last layer
runs at the read-out positions only while they are few (``selfplay.model.READ_OUT_SHARE``);
the rows marked "read-outs only" force that path, as every batch took it before.

One network trains on the same countdown answers in each variant in turn, alternating over
``--rounds`` so that a change in the machine's load hits all of them. The table gives the
positions trained per second and the tokens each batch runs (padding included) per real one.

    python benchmarks/whole_games.py --game countdown@k=4,backtrack=24 --dfs sum
    python benchmarks/whole_games.py --game countdown@k=4   # bare answers: about one length

Throughput only: whether bucketed batches learn as well per step is for
``countdown_ceiling.py learner.length_buckets=N`` beside a run without.
"""

from __future__ import annotations

import argparse
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
import selfplay.model
from selfplay.config import ConfigError, resolve, to_dict
from selfplay.learner import Learner
from selfplay.model import READ_OUT_SHARE, _prefix_hosts, count_parameters
from selfplay.replay import ReplayBuffer

sys.path.insert(0, str(Path(__file__).resolve().parent))
from countdown_ceiling import DFS_ORDERS, Writing, load_pool, to_record
from report import machine_facts, save_report

ROOT = Path(__file__).resolve().parents[1]
MEANS = ("positions_per_step", "games_per_step", "padding", "ms_per_step", "positions_per_s")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("overrides", nargs="*", metavar="key=value", help="config overrides")
    parser.add_argument("--game", default="countdown@k=4,backtrack=24", help="a countdown game")
    parser.add_argument("--dfs", choices=DFS_ORDERS, default=None, help="answers: written DFS")
    parser.add_argument("--pool", type=int, default=3000, help="training problems (3000)")
    parser.add_argument("--pool-file", type=Path, default=None, help="a countdown_ceiling pool")
    parser.add_argument("--buckets", type=int, nargs="+", default=[1, 4, 8, 16], help="(1 4 8 16)")
    parser.add_argument("--steps", type=int, default=20, help="timed steps per variant and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/whole_games.json")
    args = parser.parse_args(argv)
    if min(args.buckets) < 1 or args.steps < 1 or args.rounds < 1:
        parser.error("--buckets, --steps and --rounds must be >= 1")
    return args


def _name(buckets: int, read_outs_only: bool) -> str:
    return f"buckets {buckets}" + (", read-outs only" if read_outs_only else "")


def batch_tokens(observations: np.ndarray) -> tuple[int, int, int]:
    """A whole-game batch's games, the tokens its pass runs (every game padded to the longest)
    and the real ones, from the rows the network reads the others out of (``_prefix_hosts``)."""
    ids = torch.from_numpy(observations).long()
    hosts, _ = _prefix_hosts(ids, ids != 0)
    lengths = (ids != 0).sum(dim=1)
    return len(hosts), len(hosts) * int(lengths.max()), int(lengths[hosts].sum())


def measure(args: argparse.Namespace, console: Console) -> dict:
    config = resolve([f"game={args.game}", f"seed={args.seed}", *args.overrides])
    game = games.make(config.game)
    if game.spec.name != "countdown":
        raise ConfigError(f"this benchmark trains countdown; drop game={config.game}")
    if not config.learner.whole_games:
        raise ConfigError("length buckets group whole games: drop learner.whole_games=false")
    torch.set_num_threads(1)
    pairs = load_pool(args.pool_file, config.game, args.pool, 1, args.seed, Writing(dfs=args.dfs))
    discount = config.selfplay.value_discount
    records = [to_record(game, prompt, answer, discount) for prompt, answer in pairs]
    positions = sum(r.length for r in records)
    shape, actions = game.spec.observation_shape, game.spec.num_actions
    buffer = ReplayBuffer(positions, shape, actions, args.seed, game.spec.observation_dtype)
    buffer.add(records)
    lengths = np.array([r.length for r in records])
    console.print(
        f"{len(pairs)} problems, {positions} positions, answers of {lengths.mean():.0f} "
        f"characters on average (at most {lengths.max()}), batches of "
        f"{config.learner.batch_size} positions",
        highlight=False,
    )
    learner = Learner(game.spec, config.model, config.learner, torch.device("cpu"), args.seed)
    load_before = os.getloadavg()
    batch = config.learner.batch_size
    # (buckets, last layer at the read-outs only): the old path first, as the baseline.
    variants = [(args.buckets[0], True)] + [(b, False) for b in args.buckets]
    rows = []
    for round_ in range(args.rounds):
        for buckets, read_outs_only in variants:
            selfplay.model.READ_OUT_SHARE = 0 if read_outs_only else READ_OUT_SHARE
            for _ in range(2):  # warm-up
                learner.train_step(*buffer.sample(batch, whole_games=True, buckets=buckets))
            trained = ran = real = count = 0
            seconds = 0.0
            for _ in range(args.steps):
                start = time.perf_counter()
                observations, policies, values = buffer.sample(
                    batch, whole_games=True, buckets=buckets
                )
                learner.train_step(observations, policies, values)
                seconds += time.perf_counter() - start
                games_in, tokens_run, tokens_real = batch_tokens(observations)
                trained, count = trained + len(observations), count + games_in
                ran, real = ran + tokens_run, real + tokens_real
            rows.append({"round": round_, "buckets": buckets, "read_outs_only": read_outs_only,
                         "seconds": seconds, "positions_per_step": trained / args.steps,
                         "games_per_step": count / args.steps, "padding": ran / real,
                         "ms_per_step": 1e3 * seconds / args.steps,
                         "positions_per_s": trained / seconds})  # fmt: skip
            console.print(
                f"round {round_} {_name(buckets, read_outs_only)}: "
                f"{trained / seconds:.0f} positions/s",
                highlight=False,
            )
    selfplay.model.READ_OUT_SHARE = READ_OUT_SHARE
    summary = {}
    for buckets, read_outs_only in variants:
        picked = [
            r for r in rows if (r["buckets"], r["read_outs_only"]) == (buckets, read_outs_only)
        ]
        summary[_name(buckets, read_outs_only)] = {
            key: float(np.mean([r[key] for r in picked])) for key in MEANS
        }
    base = summary[_name(*variants[0])]["positions_per_s"]
    for values in summary.values():
        values["speedup"] = values["positions_per_s"] / base
    return {
        "game": config.game,
        "answers": f"from {args.pool_file}"
        if args.pool_file
        else f"dfs {args.dfs}"
        if args.dfs
        else "bare",
        "problems": len(pairs),
        "mean_answer_positions": float(lengths.mean()),
        "parameters": count_parameters(learner.model),
        "read_out_share": READ_OUT_SHARE,
        "summary": summary,
        "rows": rows,
        "overrides": list(args.overrides),
        "config": to_dict(config),
        "machine": machine_facts(load_before),
    }


def print_report(report: dict, console: Console) -> None:
    table = Table(
        title=f"{report['game']} (answers {report['answers']}, "
        f"{report['mean_answer_positions']:.0f} positions a game), "
        f"{report['parameters']:,} parameters, one CPU thread: mean over rounds"
    )
    for column in ("variant", "positions/step", "games/step", "tokens run per real",
                   "ms/step", "positions/s", "vs first row"):  # fmt: skip
        table.add_column(column, justify="right")
    for name, s in report["summary"].items():
        table.add_row(name, f"{s['positions_per_step']:.0f}", f"{s['games_per_step']:.1f}",
                      f"{s['padding']:.2f}", f"{s['ms_per_step']:.0f}",
                      f"{s['positions_per_s']:.0f}", f"{s['speedup']:.2f}x")  # fmt: skip
    console.print(table)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    console = Console(width=140)
    try:
        report = measure(args, console)
    except ConfigError as error:
        raise SystemExit(f"error: {error}") from None
    print_report(report, console)
    save_report(report, args.out, console)


if __name__ == "__main__":
    main()
