"""Text-game speed, side by side: self-play with and without the evaluation cache, at several
numbers of simulations and games in lockstep, and the learner on single positions and on whole
games.

1. A Gumbel search starts every move from a fresh tree, so it evaluates again most of what the
   last move's search evaluated. The worker's evaluation cache (``selfplay.cache_evaluations``)
   remembers the network's outputs for the last two moves' positions. The same problems, the
   same network, one process (one torch thread, no Ray): without the cache at the first
   simulation count and games in lockstep, then with it at every pair of ``--simulations`` and
   ``--games``, each with the share of its games the search solved (fewer simulations play
   faster and solve fewer: the trade self-play makes). One more row plays with the task's
   rules in Python (``TextGame(task, compiled=False)``) instead of its compiled ones
   (``games/text/step_rules.py``, free-mode countdown and game24), at the first pair.
2. The games played in (1) fill a replay buffer; the learner trains on it with batches of
   ``--batch`` single positions (``learner.whole_games=false``) and of whole games
   (``--whole-batch`` positions, ``learner.whole_games=true``), where the transformer reads a
   whole game out of one pass. Positions trained per second.
3. Decoding with the network alone (greedy, one token per step: the gate's validation, the
   strength monitor, ``selfplay eval``'s greedy and best-of-N) on ``--decode-problems``
   validation problems: a full pass over every row at each step (``make_evaluator``) against
   the ``IncrementalEvaluator``, which runs only each row's new token. Seconds per decode, and
   whether both wrote the same answers.

Variants alternate over ``--rounds`` so that a change in the machine's load hits all of them.

    python benchmarks/text_speed.py runs/countdown-.../checkpoint.pt
    python benchmarks/text_speed.py --game countdown@k=3 --seconds 10   # untrained network
    python benchmarks/text_speed.py runs/.../checkpoint.pt --simulations 16 32 --games 128 256

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
from selfplay.incremental import IncrementalEvaluator
from selfplay.learner import Learner, published_weights
from selfplay.model import PolicyValueNet, count_parameters, make_evaluator
from selfplay.replay import ReplayBuffer
from selfplay.text_eval import decode
from selfplay.worker import SelfPlayWorker

ROOT = Path(__file__).resolve().parents[1]


@dataclasses.dataclass(frozen=True)
class Variant:
    """One self-play setting to time."""

    cache: bool
    simulations: int
    games: int
    compiled: bool = True  # the task's compiled rules, where it has them

    @property
    def name(self) -> str:
        return (
            f"{self.simulations} sims, {self.games} games"
            + ("" if self.cache else ", no cache")
            + ("" if self.compiled else ", Python rules")
        )


def variants(args: argparse.Namespace, simulations: list[int]) -> list[Variant]:
    """Without the cache at the first pair, with the Python rules there, then with the cache
    and compiled rules at every pair."""
    first = Variant(False, simulations[0], args.games[0])
    python = Variant(True, simulations[0], args.games[0], compiled=False)
    return [first, python] + [Variant(True, s, g) for s in simulations for g in args.games]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkpoint", nargs="?", help="a text game's checkpoint (its config)")
    parser.add_argument("--game", help="without a checkpoint: the text game, untrained network")
    parser.add_argument(
        "--games", type=int, nargs="+", default=[128], help="games in lockstep, e.g. 128 256"
    )
    parser.add_argument(
        "--simulations", type=int, nargs="+", help="per move, e.g. 16 32 (default: the run's)"
    )
    parser.add_argument("--seconds", type=float, default=20.0, help="timed play per row (20)")
    parser.add_argument("--rounds", type=int, default=2, help="passes over the variants (2)")
    parser.add_argument(
        "--warmup-moves", type=int, default=30, help="moves before timing (30): mixed game lengths"
    )
    parser.add_argument("--batch", type=int, default=256, help="single positions per step")
    parser.add_argument("--whole-batch", type=int, default=512, help="positions per step (games)")
    parser.add_argument("--steps", type=int, default=20, help="timed learner steps per row (20)")
    parser.add_argument(
        "--decode-problems", type=int, default=128, help="problems per decode (128: the gate's)"
    )
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/text_speed.json")
    args = parser.parse_args()
    if bool(args.checkpoint) == bool(args.game):
        parser.error("give a checkpoint or --game, not both")
    if min(args.rounds, args.batch, args.whole_batch, args.steps, args.decode_problems,
           *args.games) < 1:  # fmt: skip
        parser.error(
            "--games, --rounds, --batch, --whole-batch, --steps and --decode-problems must be >= 1"
        )
    if args.simulations and min(args.simulations) < 1:
        parser.error("--simulations must be >= 1")
    if args.seconds <= 0 or args.warmup_moves < 0:
        parser.error("--seconds must be > 0 and --warmup-moves >= 0")
    return args


def measure(game, config, network, variant: Variant, args, played: list) -> dict:
    """One self-play row: a fresh worker (same seed, same problems) with ``variant``'s
    settings; the games it finishes are added to ``played``."""
    selfplay = dataclasses.replace(
        config.selfplay,
        games_per_worker=variant.games,
        cache_evaluations=variant.cache,
        cheap_simulations=0,
    )
    search = dataclasses.replace(config.mcts, simulations=variant.simulations)
    if not variant.compiled:
        game = TextGame(game.task, compiled=False)
    worker = SelfPlayWorker(game, search, selfplay, make_evaluator(network, "cpu"), seed=0)
    warm = 0
    while warm < args.warmup_moves * variant.games:
        worker.play(1)  # with many slots, nearly always one move
        warm += worker.stats()["moves"]  # (and forgets the warm-up's counts)
    start = time.perf_counter()
    finished = []
    while time.perf_counter() - start < args.seconds:
        finished.extend(worker.play(1))
    played.extend(finished)
    s = worker.stats()
    seconds = s["seconds"]
    asked = s["evaluator_positions"] + s["cache_hits"]
    return {
        "variant": variant.name,
        **dataclasses.asdict(variant),
        "positions_per_s": s["moves"] / seconds,  # one training position per slot per move
        "moves": s["moves"] // variant.games,
        "games_finished": len(finished),
        "solved": float(np.mean([r.returns[0] > 0 for r in finished])) if finished else 0.0,
        "seconds": seconds,
        "network_positions_per_move": s["evaluator_positions"] / s["moves"],
        "cache_hit_rate": s["cache_hits"] / asked if asked else 0.0,
        "evaluator_share": s["evaluator_seconds"] / seconds,
        "load": os.getloadavg()[0],
    }


def measure_learner(game, config, played: list, args) -> list[dict]:
    """Learner rows: gradient steps on single positions and on whole games, alternating, from
    a replay buffer holding the ``played`` games."""
    replay = ReplayBuffer(sum(r.length for r in played), game.spec.observation_shape,
                          game.spec.num_actions,
                          observation_dtype=game.spec.observation_dtype)  # fmt: skip
    replay.add(played)
    learner = Learner(game.spec, config.model, config.learner)
    rows = []
    for round_ in range(args.rounds):
        for whole, batch in ((False, args.batch), (True, args.whole_batch)):
            for _ in range(2):  # warm-up
                learner.train_step(*replay.sample(batch, whole_games=whole))
            positions, start = 0, time.perf_counter()
            for _ in range(args.steps):
                observations, policies, values = replay.sample(batch, whole_games=whole)
                learner.train_step(observations, policies, values)
                positions += len(observations)
            seconds = time.perf_counter() - start
            rows.append({"round": round_, "whole_games": whole, "batch": batch,
                         "positions_per_step": positions / args.steps,
                         "ms_per_step": 1e3 * seconds / args.steps,
                         "positions_per_s": positions / seconds})  # fmt: skip
    return rows


def measure_decoding(game, network, args) -> list[dict]:
    """Decoding rows: the same validation problems answered greedily with a full pass per
    step and incrementally, alternating."""
    problems = game.validation_states(args.decode_problems, np.random.default_rng(1))
    evaluators = {"full pass": make_evaluator(network, "cpu"),
                  "incremental": IncrementalEvaluator(network)}  # fmt: skip
    rows, answers = [], {}
    for round_ in range(args.rounds + 1):  # round 0 warms up
        for method, evaluator in evaluators.items():
            start = time.perf_counter()
            final = decode(game, evaluator, problems, np.random.default_rng(0))
            seconds = time.perf_counter() - start
            answers[method] = [game.answer(final, i) for i in range(len(final))]
            if round_:
                rows.append({"round": round_, "method": method, "seconds": seconds,
                             "solved": float((game.returns(final)[:, 0] > 0).mean())})  # fmt: skip
    same = float(np.mean([a == b for a, b in zip(*answers.values(), strict=True)]))
    for row in rows:
        row["same_answers"] = same
    return rows


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
    simulations = args.simulations or [config.mcts.simulations]
    settings = variants(args, simulations)
    game = games.make(config.game)
    if not isinstance(game, TextGame):
        raise SystemExit(f"{config.game} is not a text game")
    network = PolicyValueNet(game.spec, config.model).eval()
    if payload is not None:
        network.load_state_dict(published_weights(payload["learner"]))
    console.print(
        f"{game.task.describe()}: {config.model.blocks}x{config.model.channels} transformer "
        f"({count_parameters(network):,} parameters), {config.mcts.algorithm} search, 1 torch "
        f"thread, {os.cpu_count()} CPUs",
        highlight=False,
    )
    rows, played = [], []
    for round_ in range(args.rounds):
        for variant in settings:
            row = {"round": round_, **measure(game, config, network, variant, args, played)}
            rows.append(row)
            console.print(
                f"round {round_} {variant.name}: {row['positions_per_s']:.0f} positions/s, "
                f"solved {row['solved']:.1%}",
                highlight=False,
            )
    learner_rows = measure_learner(game, config, played, args)
    decode_rows = measure_decoding(game, network, args)

    def mean(variant: str, key: str) -> float:
        return float(np.mean([r[key] for r in rows if r["variant"] == variant]))

    names = [v.name for v in settings]
    base = mean(names[0], "positions_per_s")
    table = Table(title="Text-game self-play settings (mean over rounds)")
    for column in ("variant", "positions/s", "vs first row", "solved", "network positions/move",
                   "cache hits", "network share"):  # fmt: skip
        table.add_column(column, justify="left" if column == "variant" else "right")
    summary = {}
    for variant in names:
        rate = mean(variant, "positions_per_s")
        summary[variant] = {
            "positions_per_s": rate, "speedup": rate / base, "solved": mean(variant, "solved")
        }  # fmt: skip
        table.add_row(variant, f"{rate:.0f}", f"{rate / base:.2f}x",
                      f"{mean(variant, 'solved'):.1%}",
                      f"{mean(variant, 'network_positions_per_move'):.1f}",
                      f"{mean(variant, 'cache_hit_rate'):.0%}",
                      f"{mean(variant, 'evaluator_share'):.0%}")  # fmt: skip
    console.print(table)
    learner_table = Table(title="The learner on the games played above (mean over rounds)")
    for column in ("batches", "positions/step", "ms/step", "positions/s", "speed-up"):
        learner_table.add_column(column, justify="left" if column == "batches" else "right")
    single = np.mean([r["positions_per_s"] for r in learner_rows if not r["whole_games"]])
    for whole in (False, True):
        picked = [r for r in learner_rows if r["whole_games"] == whole]
        rate = float(np.mean([r["positions_per_s"] for r in picked]))
        summary["whole games" if whole else "single positions"] = {
            "positions_per_s": rate, "speedup": rate / single
        }  # fmt: skip
        learner_table.add_row(
            "whole games" if whole else "single positions",
            f"{np.mean([r['positions_per_step'] for r in picked]):.0f}",
            f"{np.mean([r['ms_per_step'] for r in picked]):.0f}", f"{rate:.0f}",
            f"{rate / single:.2f}x",
        )  # fmt: skip
    console.print(learner_table)
    decode_table = Table(
        title=f"Greedy decoding of {args.decode_problems} problems (mean over rounds)"
    )
    for column in ("evaluator", "seconds", "speed-up", "solved", "same answers"):
        decode_table.add_column(column, justify="left" if column == "evaluator" else "right")
    full = np.mean([r["seconds"] for r in decode_rows if r["method"] == "full pass"])
    for method in ("full pass", "incremental"):
        picked = [r for r in decode_rows if r["method"] == method]
        seconds = float(np.mean([r["seconds"] for r in picked]))
        summary[f"decode, {method}"] = {"seconds": seconds, "speedup": full / seconds}
        solved, same = picked[0]["solved"], picked[0]["same_answers"]
        decode_table.add_row(
            method, f"{seconds:.3f}", f"{full / seconds:.2f}x", f"{solved:.1%}", f"{same:.1%}"
        )
    console.print(decode_table)
    meta = {
        "game": config.game, "checkpoint": args.checkpoint,
        "model": dataclasses.asdict(config.model),
        "parameters": count_parameters(network), "algorithm": config.mcts.algorithm,
        "simulations": simulations, "games": args.games, "seconds": args.seconds,
        "torch": torch.__version__, "cpus": os.cpu_count(),
        "machine": platform.processor() or platform.machine(),
    }  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    result = {"meta": meta, "summary": summary, "rows": rows, "learner_rows": learner_rows,
              "decode_rows": decode_rows}  # fmt: skip
    args.out.write_text(json.dumps(result, indent=2))
    console.print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
