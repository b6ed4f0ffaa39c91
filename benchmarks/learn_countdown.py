"""Countdown from scratch: trains with the real loop and, as it trains, measures how many
held-out problems the network alone solves (greedy decoding, no search, no verifier).

The run is ``selfplay.loop.train`` with the text-game preset on ``countdown@k=3,mode=guided``
by default (``--game`` picks another, e.g. ``countdown@k=3`` for free mode), Ray started in
this process, a checkpoint after every generation. After each generation (with
``--eval-every``: the first one that many seconds after the last evaluation) the learner's
published weights are read back from the checkpoint and decode ``--problems`` problems of each
test split (countdown: seen targets and held-out targets, none of them ever seen in training;
any other text task with test splits works too, e.g. ``--game game24``). The evaluation runs in
the training process, so it slows training a little. The random-play floor is measured once on
the same problems. Training stops when the solve rate on the first split (countdown: seen
targets; game24: its test split) reaches ``--goal`` or time runs out; the script prints the
curve as a table and writes JSON.

    python benchmarks/learn_countdown.py                        # k=3 guided, 60 minutes
    python benchmarks/learn_countdown.py --game countdown@k=3   # free mode
    python benchmarks/learn_countdown.py --max-minutes 10 model.channels=64
    python benchmarks/learn_countdown.py --resume runs/countdown-... learner.lr=2.5e-4

The fastest k=3 recipe measured so far (see the README's text-games section):

    python benchmarks/learn_countdown.py --game countdown@k=3,reject=dead_end --eval-every 60
        mcts.simulations=16 selfplay.workers=2 selfplay.games_per_worker=256
        learner.decay_steps=30000

With ``model.blocks=6 learner.ema=0.999`` added, for 80 minutes, and then ``--resume RUN
learner.lr=2.5e-4``, the network alone reached 80% after 98 minutes.

Times are wall seconds since training started (Ray's start-up included) at the end of each
generation, before its evaluation. The curve so far is also kept in the run directory
(``learn_countdown.json``), so that ``--resume`` can train a run further, with overrides
applied to its saved settings, and continue its curve and its clock where they stopped.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import ray
import torch
from rich.console import Console
from rich.table import Table

import games
from games.text.task import TextGame
from selfplay.checkpoint import atomic_write_bytes, load_checkpoint
from selfplay.config import (
    ConfigError,
    RunConfig,
    from_dict,
    parse_overrides,
    resolve,
    to_dict,
)
from selfplay.incremental import decoding_evaluator
from selfplay.learner import published_weights
from selfplay.loop import CHECKPOINT, train
from selfplay.model import PolicyValueNet, count_parameters
from selfplay.text_eval import greedy_solve_rates

sys.path.insert(0, str(Path(__file__).resolve().parent))
from learn_tictactoe import _counters, _start_ray, _Stop  # shared run plumbing
from report import machine_facts, save_report

ROOT = Path(__file__).resolve().parents[1]
CURVE = "learn_countdown.json"  # the curve so far, kept in the run directory
EVERY = "checkpoint_every=1"  # the evaluation reads each generation's checkpoint


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "overrides",
        nargs="*",
        metavar="key=value",
        help="config overrides applied after the text-game preset",
    )
    parser.add_argument(
        "--game",
        default="countdown@k=3,mode=guided",
        help="a countdown game spec (default countdown@k=3,mode=guided)",
    )
    parser.add_argument(
        "--max-minutes",
        type=float,
        default=60.0,
        help="give up after this much wall time (default 60); a resumed run counts its "
        "earlier time too",
    )
    parser.add_argument(
        "--goal",
        type=float,
        default=0.8,
        help="stop once the first split's greedy solve rate (countdown: seen) reaches it (0.8)",
    )
    parser.add_argument(
        "--problems", type=int, default=500, help="test problems per split (default 500)"
    )
    parser.add_argument("--seed", type=int, default=0, help="the run's seed (default 0)")
    parser.add_argument(
        "--eval-every",
        type=float,
        default=0.0,
        help="seconds between evaluations (default 0: after every generation); the "
        "evaluation shares the CPU with training",
    )
    parser.add_argument(
        "--run-dir",
        type=Path,
        default=None,
        help="folder for the run directory (default: a temporary folder)",
    )
    parser.add_argument(
        "--resume",
        type=Path,
        default=None,
        metavar="RUN",
        help="train on the run in this directory (one this script made, with --run-dir); "
        "--game and --seed are then the run's own",
    )
    parser.add_argument(
        "--out", type=Path, default=ROOT / "benchmarks/results/learn_countdown.json"
    )
    args = parser.parse_intermixed_args(argv)
    if args.problems < 1 or args.max_minutes <= 0 or not 0 < args.goal <= 1:
        parser.error("--problems must be >= 1, --max-minutes > 0 and --goal in (0, 1]")
    if args.eval_every < 0:
        parser.error("--eval-every must be >= 0")
    return args


def make_config(args: argparse.Namespace, run_root: Path) -> RunConfig:
    """The preset, the seed, the user's overrides, then what this script needs: the run
    folder and a checkpoint after every generation (the evaluation reads it). A resumed run:
    its saved settings and the user's overrides."""
    if args.resume is not None:
        saved = from_dict(load_checkpoint(args.resume / CHECKPOINT)["config"])
        return parse_overrides(resume_overrides(args), base=saved)
    config = resolve(
        [f"game={args.game}", f"seed={args.seed}", *args.overrides, f"run_dir={run_root}", EVERY]
    )
    game = games.make(config.game)
    if not isinstance(game, TextGame) or not game.task.splits:
        raise ConfigError(f"this benchmark trains a text task with test splits, not {config.game}")
    if not config.name:
        config = dataclasses.replace(
            config, name=f"{game.spec.name}-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"
        )
    return config


def resume_overrides(args: argparse.Namespace) -> list[str]:
    """What a resumed run changes in its saved settings."""
    return [*args.overrides, EVERY]


def run(args: argparse.Namespace, console: Console) -> dict:
    torch.set_num_threads(1)  # the self-play actor gets the other core
    with tempfile.TemporaryDirectory(prefix="learn-countdown-") as scratch:
        config = make_config(args, args.run_dir or Path(scratch))
        game = games.make(config.game)
        run_dir = args.resume or Path(config.run_dir) / config.name
        tests = {
            split: game.states_from_prompts(game.task.test_prompts(split, limit=args.problems))
            for split in game.task.splits
        }
        goal_split = game.task.splits[0]  # countdown: "seen"; game24: "test"
        random_floor = greedy_solve_rates(game, None, tests, args.seed)
        console.print(f"random play solves {random_floor}", highlight=False)
        model = PolicyValueNet(game.spec, config.model).eval()
        evaluator = decoding_evaluator(model, "cpu")
        history = _earlier_curve(run_dir) if args.resume else []
        load_before = os.getloadavg()
        # A resumed run's clock goes on from its last evaluation.
        start = time.perf_counter() - (history[-1]["elapsed_s"] if history else 0.0)
        next_eval = 0.0

        def on_generation(generation: int, metrics: dict[str, float], pool) -> None:
            nonlocal next_eval
            elapsed = time.perf_counter() - start
            out_of_time = elapsed > args.max_minutes * 60
            if elapsed < next_eval and not out_of_time:
                return
            next_eval = elapsed + args.eval_every
            eval_start = time.perf_counter()
            payload = load_checkpoint(run_dir / CHECKPOINT)
            model.load_state_dict(published_weights(payload["learner"]))
            rates = greedy_solve_rates(game, evaluator, tests, args.seed)
            row = {
                "generation": generation,
                "elapsed_s": round(elapsed, 2),
                **_counters(run_dir, payload),
                **{f"greedy_{split}": rate for split, rate in rates.items()},
                "selfplay_solve_rate": metrics.get("selfplay/solve_rate"),
                "hindsight_share": metrics.get("selfplay/hindsight_share"),
                "loss": metrics.get("learner/total_loss"),
                "eval_s": round(time.perf_counter() - eval_start, 2),
            }
            history.append(row)
            # Atomic: --resume reads it back, and a run may be killed at any moment.
            atomic_write_bytes(run_dir / CURVE, json.dumps(history, indent=1).encode())
            console.print(
                f"eval {generation:4d}  {elapsed:6.0f} s  greedy: "
                + "  ".join(f"{split} {rate:6.1%}" for split, rate in rates.items())
                + f"  self-play {row['selfplay_solve_rate'] or 0:6.1%}",
                highlight=False,
            )
            if rates[goal_split] >= args.goal:
                raise _Stop(f"goal {args.goal:.0%} reached")
            if out_of_time:
                raise _Stop(f"time limit ({args.max_minutes:g} min)")

        reason = "training ended (generations)"
        _start_ray(config)
        try:
            if args.resume:
                train(
                    resume=args.resume,
                    overrides=resume_overrides(args),
                    console=console,
                    on_generation=on_generation,
                )
            else:
                train(config, console=console, on_generation=on_generation)
        except _Stop as stop:
            reason = stop.reason
        finally:
            ray.shutdown()
        wall = time.perf_counter() - start

    reached = next((r for r in history if r[f"greedy_{goal_split}"] >= args.goal), None)
    return {
        "game": config.game,
        "splits": list(tests),
        "goal": args.goal,
        "stopped_because": reason,
        "goal_elapsed_s": reached["elapsed_s"] if reached else None,
        "goal_generation": reached["generation"] if reached else None,
        **{
            f"best_greedy_{split}": max((r[f"greedy_{split}"] for r in history), default=None)
            for split in tests
        },
        "random_floor": random_floor,
        "problems_per_split": args.problems,
        "parameters": count_parameters(model),
        "wall_s": round(wall, 2),
        "resumed": None if args.resume is None else str(args.resume),
        "overrides": list(args.overrides),
        "config": to_dict(config),
        "machine": machine_facts(load_before),
        "history": history,
    }


def _earlier_curve(run_dir: Path) -> list[dict]:
    """The evaluations this script made of the run before, oldest first."""
    try:
        return json.loads((run_dir / CURVE).read_text())
    except FileNotFoundError:
        raise SystemExit(
            f"{run_dir} has no {CURVE}: --resume continues runs this script trained"
        ) from None


def print_report(report: dict, console: Console) -> None:
    floor, splits = report["random_floor"], report.get("splits", ["seen", "heldout"])
    table = Table(
        title=f"{report['game']} from scratch: greedy solve rate of the network alone "
        f"({report['problems_per_split']} problems per split; random play: "
        + ", ".join(f"{split} {floor[split]:.1%}" for split in splits)
        + ")"
    )
    for name in ("gen", "elapsed s", "games", "positions", "steps", *splits):
        table.add_column(name, justify="right")
    table.add_column("self-play solved", justify="right")
    table.add_column("loss", justify="right")
    for r in report["history"]:
        table.add_row(
            str(r["generation"]),
            f"{r['elapsed_s']:.0f}",
            str(r["selfplay_games"]),
            str(r["selfplay_positions"]),
            str(r["learner_steps"]),
            *(f"{r[f'greedy_{split}']:.1%}" for split in splits),
            f"{r['selfplay_solve_rate'] or 0:.1%}",
            "-" if r["loss"] is None else f"{r['loss']:.3f}",
            style="green" if r[f"greedy_{splits[0]}"] >= report["goal"] else None,
        )
    console.print(table)
    if report["goal_elapsed_s"] is not None:
        verdict = (
            f"{report['goal']:.0%} reached after {report['goal_generation']} generations "
            f"({report['goal_elapsed_s']:.0f} s)"
        )
    else:
        best = report[f"best_greedy_{splits[0]}"]
        verdict = f"{report['goal']:.0%} not reached (best {best:.1%})"
    m = report["machine"]
    console.print(
        f"{verdict}; stopped: {report['stopped_because']}; {report['parameters']:,} parameters; "
        f"wall {report['wall_s']:.0f} s; {m['cpus']} CPUs, load average "
        f"{m['load_avg_before'][0]:.2f} before, {m['load_avg_after'][0]:.2f} after",
        highlight=False,
    )


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    console = Console()
    report = run(args, console)
    print_report(report, console)
    save_report(report, args.out, console)


if __name__ == "__main__":
    main()
