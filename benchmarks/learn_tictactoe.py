"""Time to perfect play: trains tic-tac-toe from scratch with the real loop and, after every
generation, checks the learner's network against a perfect player in every opening.

The run is ``selfplay.loop.train`` with the tic-tac-toe preset (plus any ``key=value``
overrides), Ray started in this process, a checkpoint after every generation. After each
generation the learner's weights are read back from that checkpoint and the agent (the network
plus a small PUCT search: no root noise, the most visited move) plays a minimax player from both
seats. The minimax player may answer with any of its optimal moves, and every such branch is
played out; the agent is deterministic, so a seat has a finite tree of lines. The agent passes
when no line of either tree ends in its loss; training then stops (``--passes N``: N passing
generations in a row) and the script prints a table and writes JSON. It is the learner's
network that is judged, not the arena's best one that self-play uses: the two differ while the
gate keeps an older network (the table's "self-play net" column names its generation).

    python benchmarks/learn_tictactoe.py                          # preset, seed 0, 30 minutes
    python benchmarks/learn_tictactoe.py --simulations 32 --seed 1 learner.lr=1e-3
    python benchmarks/learn_tictactoe.py --run-dir runs          # keep the run directory
    python benchmarks/learn_tictactoe.py --passes 10 arena.gate=none   # stable play, no gate

Per generation it reports the lines lost as first and as second player, and two diagnostics
over all 4,520 reachable non-terminal positions: the share where the network's own favourite
move (no search) is optimal, and the mean absolute error of its value against minimax. Times
are wall seconds since training started (Ray's start-up included) at the end of each
generation, before its evaluation; earlier evaluations are included (a fraction of a second
each). ``--simulations 1`` judges the network's policy alone (the search then plays the move
with the highest prior).
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import ray
import torch
from rich.console import Console
from rich.table import Table

import games
from games.base import Game
from selfplay.checkpoint import load_checkpoint
from selfplay.config import ConfigError, RunConfig, resolve, to_dict
from selfplay.learner import published_weights
from selfplay.loop import CHECKPOINT, REPLAY, train
from selfplay.mcts import SearchConfig, search
from selfplay.model import PolicyValueNet, make_evaluator
from selfplay.players import evaluation_config

sys.path.insert(0, str(Path(__file__).resolve().parent))
from report import machine_facts, save_report

ROOT = Path(__file__).resolve().parents[1]

Agent = Callable[[np.ndarray], np.ndarray]
"""states ``[B]`` (none terminal) -> the actions the agent plays, int ``[B]``."""

# -- The perfect player ---------------------------------------------------------------------
# Independent of games/tictactoe.py: boards are tuples of 9 cells, row-major, 0 empty, 1 X
# (moves first), 2 O, as the game's ``board`` field stores them.

_LINES = ((0, 1, 2), (3, 4, 5), (6, 7, 8), (0, 3, 6), (1, 4, 7), (2, 5, 8), (0, 4, 8), (2, 4, 6))


def _has_line(board: tuple[int, ...]) -> bool:
    return any(board[a] != 0 and board[a] == board[b] == board[c] for a, b, c in _LINES)


def _children(board: tuple[int, ...]) -> list[tuple[int, tuple[int, ...]]]:
    mark = 1 if board.count(1) == board.count(2) else 2
    return [(a, (*board[:a], mark, *board[a + 1 :])) for a in range(9) if board[a] == 0]


@functools.cache
def minimax_value(board: tuple[int, ...]) -> int:
    """+1, 0 or -1: the outcome for the player to move when both sides play perfectly."""
    if _has_line(board):
        return -1  # the player who just moved completed a line
    if 0 not in board:
        return 0
    return max(-minimax_value(child) for _, child in _children(board))


@functools.cache
def optimal_moves(board: tuple[int, ...]) -> tuple[int, ...]:
    """Every move that keeps the minimax value of a non-terminal ``board``. A win counts as a
    win however long it takes: keeping the value is enough to reach it."""
    best = minimax_value(board)
    return tuple(a for a, child in _children(board) if -minimax_value(child) == best)


@functools.cache
def _reachable_positions() -> tuple[tuple[int, ...], ...]:
    """Every non-terminal position reachable from the empty board (4,520 of them)."""
    seen: set[tuple[int, ...]] = set()
    frontier = [(0,) * 9]
    while frontier:
        board = frontier.pop()
        if board in seen or _has_line(board) or 0 not in board:
            continue
        seen.add(board)
        frontier.extend(child for _, child in _children(board))
    return tuple(sorted(seen))


def _boards(states: np.ndarray) -> list[tuple[int, ...]]:
    return [tuple(row) for row in states["board"].tolist()]


# -- Playing every line ---------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class SeatResult:
    """The agent's lines from one seat against every optimal reply of the minimax player."""

    seat: int  # 0: the agent moves first (X), 1: second (O)
    lines: int  # complete games: the leaves of the tree
    wins: int
    draws: int
    losses: int
    lost_lines: tuple[str, ...]  # the first few lost games, as moves ("b2 a1 ...")


def play_all_lines(game: Game, agent: Agent, seat: int, keep: int = 5) -> SeatResult:
    """Plays ``agent`` (in ``seat``) against the minimax player, which branches on each of its
    optimal moves, one tree level at a time: the agent moves in all positions of a level with
    one call (each distinct position once, so transposed lines get the same move)."""
    states = game.new_initial_states(1)
    moves: list[list[int]] = [[]]
    wins = draws = losses = 0
    lost: list[str] = []
    while len(states):
        agent_rows = np.flatnonzero(game.current_player(states) == seat)
        actions = np.full(len(states), -1, dtype=np.int64)
        if len(agent_rows):
            keys = np.ascontiguousarray(states[agent_rows]).view(np.uint8)
            keys = keys.reshape(len(agent_rows), -1)
            _, first, inverse = np.unique(keys, axis=0, return_index=True, return_inverse=True)
            chosen = np.asarray(agent(states[agent_rows[first]]), dtype=np.int64)
            actions[agent_rows] = chosen[inverse.reshape(-1)]
        # Each row becomes one row per move: the agent's one, or all the minimax player's.
        parents, children = [], []
        for i, board in enumerate(_boards(states)):
            for action in [actions[i]] if actions[i] >= 0 else optimal_moves(board):
                parents.append(i)
                children.append(action)
        states = game.apply_actions(states[parents], np.array(children, dtype=np.int64))
        moves = [[*moves[i], a] for i, a in zip(parents, children, strict=True)]
        done = game.is_terminal(states)
        agent_return = game.returns(states)[:, seat]
        for i in np.flatnonzero(done):
            if agent_return[i] > 0:
                wins += 1
            elif agent_return[i] < 0:
                losses += 1
                if len(lost) < keep:
                    lost.append(" ".join(game.action_to_string(a) for a in moves[i]))
            else:
                draws += 1
        states = states[~done]
        moves = [m for m, d in zip(moves, done, strict=True) if not d]
    return SeatResult(seat, wins + draws + losses, wins, draws, losses, tuple(lost))


def search_agent(
    game: Game, evaluator: Callable, config: SearchConfig, rng: np.random.Generator
) -> Agent:
    """The network plus search: plays the most visited move (lowest action on ties)."""

    def play(states: np.ndarray) -> np.ndarray:
        return search(game, states, evaluator, config, rng).actions

    return play


def evaluation_search(config: SearchConfig, simulations: int) -> SearchConfig:
    """``config`` made deterministic for evaluation: PUCT, no root noise, temperature 0."""
    return evaluation_config(dataclasses.replace(config, algorithm="puct"), simulations=simulations)


def network_diagnostics(game: Game, evaluator: Callable) -> dict[str, float]:
    """Over every reachable non-terminal position: the share where the network's favourite
    legal move is optimal, and the mean absolute error of its value against minimax."""
    boards = _reachable_positions()
    states = np.zeros(len(boards), dtype=game.state_dtype)
    states["board"] = np.array(boards, dtype=np.int8)
    states["player"] = [0 if b.count(1) == b.count(2) else 1 for b in boards]
    logits, values = evaluator(game.observation_tensor(states))
    favourite = np.where(game.legal_actions_mask(states), logits, -np.inf).argmax(axis=1)
    optimal = [int(a) in optimal_moves(b) for a, b in zip(favourite, boards, strict=True)]
    exact = np.array([minimax_value(b) for b in boards], dtype=np.float64)
    return {
        "policy_optimal": float(np.mean(optimal)),
        "value_mae": float(np.abs(np.asarray(values, np.float64) - exact).mean()),
    }


# -- The run --------------------------------------------------------------------------------


class _Stop(Exception):
    """Raised from the generation callback to end training (``train`` cleans up on the way)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "overrides",
        nargs="*",
        metavar="key=value",
        help="config overrides applied after the tic-tac-toe preset",
    )
    parser.add_argument(
        "--max-minutes",
        type=float,
        default=30.0,
        help="give up after this much wall time (default 30)",
    )
    parser.add_argument(
        "--simulations",
        type=int,
        default=16,
        help="simulations of the evaluation search (default 16)",
    )
    parser.add_argument(
        "--passes",
        type=int,
        default=1,
        help="passing generations in a row needed to stop (default 1)",
    )
    parser.add_argument("--seed", type=int, default=0, help="the run's seed (default 0)")
    parser.add_argument(
        "--run-dir",
        type=Path,
        default=None,
        help="folder for the run directory (default: a temporary folder)",
    )
    parser.add_argument(
        "--out", type=Path, default=ROOT / "benchmarks/results/learn_tictactoe.json"
    )
    args = parser.parse_intermixed_args(argv)  # overrides may come before or after options
    if args.simulations < 1 or args.passes < 1 or args.max_minutes <= 0:
        parser.error("--simulations and --passes must be >= 1 and --max-minutes > 0")
    return args


def make_config(args: argparse.Namespace, run_root: Path) -> RunConfig:
    """The preset, the seed, the user's overrides, then what this script needs: the run
    folder and a checkpoint after every generation (the evaluation reads it)."""
    config = resolve(
        [
            "game=tictactoe",
            f"seed={args.seed}",
            *args.overrides,
            f"run_dir={run_root}",
            "checkpoint_every=1",
        ]
    )
    if config.game != "tictactoe":
        raise ConfigError(f"this benchmark plays tic-tac-toe; drop game={config.game}")
    if not config.name:
        config = dataclasses.replace(
            config, name=f"tictactoe-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"
        )
    return config


def _int_or_none(value: float | None) -> int | None:
    return None if value is None else int(value)


def _counters(run_dir: Path, payload: dict) -> dict[str, int]:
    """Games and positions added to the buffer so far, and the learner's gradient steps."""
    with np.load(run_dir / REPLAY, allow_pickle=False) as archive:
        games_added, positions_added = archive["games_added"], archive["positions_added"]
    return {
        "selfplay_games": int(games_added),
        "selfplay_positions": int(positions_added),
        "learner_steps": int(payload["learner"]["step"]),
    }


def _start_ray(config: RunConfig) -> None:
    """Starts Ray in this process, as ``train`` would, but always a new instance: a bare
    ``ray.init()`` joins any cluster already running on the machine (another user's ``ray
    start`` or test cluster) and then refuses ``num_cpus``. With ``ray.address`` set, ``train``
    joins that cluster itself."""
    if config.ray.address or ray.is_initialized():
        return
    ray.init(
        address="local",
        num_cpus=config.ray.num_cpus or os.cpu_count(),
        num_gpus=torch.cuda.device_count() if config.ray.num_gpus < 0 else config.ray.num_gpus,
        include_dashboard=False,
        log_to_driver=False,
    )


def run(args: argparse.Namespace, console: Console) -> dict:
    """Trains until the agent passes ``args.passes`` times in a row or time runs out; returns
    the report."""
    torch.set_num_threads(1)  # the self-play actors get the other cores
    game = games.make("tictactoe")
    with tempfile.TemporaryDirectory(prefix="learn-tictactoe-") as scratch:
        config = make_config(args, args.run_dir or Path(scratch))
        run_dir = Path(config.run_dir) / config.name
        eval_config = evaluation_search(config.mcts, args.simulations)
        model = PolicyValueNet(game.spec, config.model).eval()
        evaluator = make_evaluator(model, "cpu")
        agent = search_agent(game, evaluator, eval_config, np.random.default_rng(config.seed))
        history: list[dict] = []
        deadline = args.max_minutes * 60
        load_before = os.getloadavg()
        start = time.perf_counter()

        def on_generation(generation: int, metrics: dict[str, float], pool) -> None:
            elapsed = time.perf_counter() - start
            eval_start = time.perf_counter()
            payload = load_checkpoint(run_dir / CHECKPOINT)
            model.load_state_dict(published_weights(payload["learner"]))
            first, second = play_all_lines(game, agent, 0), play_all_lines(game, agent, 1)
            row = {
                "generation": generation,
                "elapsed_s": round(elapsed, 2),
                **_counters(run_dir, payload),
                "lost_as_first": first.losses,
                "lines_as_first": first.lines,
                "lost_as_second": second.losses,
                "lines_as_second": second.lines,
                **network_diagnostics(game, evaluator),
                "loss": metrics.get("learner/total_loss"),  # None before the first step
                # The network self-play uses: the arena's last promoted generation.
                "best_generation": _int_or_none(metrics.get("arena/best_generation")),
                "lost_lines": [*first.lost_lines[:2], *second.lost_lines[:2]],
            }
            row["passed"] = first.losses == 0 and second.losses == 0
            row["eval_s"] = round(time.perf_counter() - eval_start, 2)
            history.append(row)
            console.print(
                f"eval {generation:4d}  lost as X {first.losses:3d}/{first.lines:<3d}  "
                f"as O {second.losses:3d}/{second.lines:<3d}  "
                f"net: optimal move {row['policy_optimal']:6.1%}, value error "
                f"{row['value_mae']:.3f}  ({row['eval_s']:.1f} s)"
                + ("  [bold green]PASS[/bold green]" if row["passed"] else ""),
                highlight=False,
            )
            streak = next((i for i, r in enumerate(reversed(history)) if not r["passed"]), None)
            if (len(history) if streak is None else streak) >= args.passes:
                raise _Stop("perfect play")
            if time.perf_counter() - start > deadline:
                raise _Stop(f"time limit ({args.max_minutes:g} min)")

        reason = "training ended (generations)"
        _start_ray(config)
        try:
            train(config, console=console, on_generation=on_generation)
        except _Stop as stop:
            reason = stop.reason
        finally:
            ray.shutdown()
        wall = time.perf_counter() - start

    solved = reason == "perfect play"
    first_pass = next((r for r in history if r["passed"]), None)
    return {
        "solved": solved,
        "stopped_because": reason,
        "wall_s": round(wall, 2),
        "eval_s_total": round(sum(r["eval_s"] for r in history), 2),
        "generations": len(history),
        # The first generation whose weights passed, and when it finished (before its own
        # evaluation); with --passes N the run stops N - 1 generations after a streak begins.
        "first_perfect_generation": first_pass["generation"] if first_pass else None,
        "first_perfect_elapsed_s": first_pass["elapsed_s"] if first_pass else None,
        "solved_elapsed_s": history[-1]["elapsed_s"] if solved else None,
        **(
            {k: history[-1][k] for k in ("selfplay_games", "selfplay_positions", "learner_steps")}
            if history
            else {}
        ),
        "evaluation": {
            "simulations": args.simulations,
            "algorithm": "puct",
            "root_noise": False,
            "temperature": 0.0,
            "passes_needed": args.passes,
        },
        "overrides": list(args.overrides),
        "config": to_dict(config),
        "machine": machine_facts(load_before),
        "history": history,
    }


def print_report(report: dict, console: Console) -> None:
    table = Table(
        title="tic-tac-toe from scratch vs a perfect player "
        f"(agent: network + {report['evaluation']['simulations']}-simulation PUCT)"
    )
    for name in (
        "gen",
        "elapsed s",
        "games",
        "positions",
        "steps",
        "lost as X",
        "lost as O",
        "self-play net",
        "net optimal",
        "value err",
        "loss",
    ):
        table.add_column(name, justify="right")
    for r in report["history"]:
        style = "green" if r["passed"] else None
        table.add_row(
            str(r["generation"]),
            f"{r['elapsed_s']:.0f}",
            str(r["selfplay_games"]),
            str(r["selfplay_positions"]),
            str(r["learner_steps"]),
            f"{r['lost_as_first']}/{r['lines_as_first']}",
            f"{r['lost_as_second']}/{r['lines_as_second']}",
            "-" if r["best_generation"] is None else f"gen {r['best_generation']}",
            f"{r['policy_optimal']:.1%}",
            f"{r['value_mae']:.3f}",
            "-" if r["loss"] is None else f"{r['loss']:.3f}",
            style=style,
        )
    console.print(table)
    m = report["machine"]
    verdict = "no perfect play"
    if report["first_perfect_generation"]:
        verdict = (
            f"first perfect play after {report['first_perfect_generation']} generations "
            f"({report['first_perfect_elapsed_s']:.0f} s)"
        )
    if report["solved"] and report["evaluation"]["passes_needed"] > 1:
        verdict += (
            f", {report['evaluation']['passes_needed']} in a row after {report['generations']} "
            f"({report['solved_elapsed_s']:.0f} s)"
        )
    console.print(
        f"{verdict}; stopped: {report['stopped_because']}; wall {report['wall_s']:.0f} s "
        f"(evaluation {report['eval_s_total']:.0f} s of it); {m['cpus']} CPUs, load average "
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
