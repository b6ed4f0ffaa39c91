"""Times the exact Connect Four solver on Pascal Pons' six benchmark sets.

For every position it clears the transposition table, times score() of the root, then times
analyze() (the score of every column; the table is warm from score(), as in real use), checks
both against the published score, prints a table and writes JSON.

    python benchmarks/solver.py                        # all six sets, every position (hours)
    python benchmarks/solver.py --limit 50             # the first 50 positions of each set
    python benchmarks/solver.py --sets L3_R1 L2_R1     # some sets ("Test_" may be left off)

Positions and scores: Pascal Pons, "Solving Connect 4" (blog.gamesolver.org), test protocol.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from selfplay.evaluation import SETS  # file -> Pons' name for it
from selfplay.solver import Connect4Solver

REPO = Path(__file__).resolve().parents[1]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sets", nargs="+", default=list(SETS), help="sets to run (default: all)")
    parser.add_argument("--limit", type=int, default=None, help="first N positions of each set")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks/results/solver.json")
    parser.add_argument("--data-dir", type=Path, default=REPO.parent / "shared/connect4")
    parser.add_argument("--log2-table-size", type=int, default=23, help="table: 2**N entries")
    args = parser.parse_args(argv)
    args.sets = [s if s.startswith("Test_") else f"Test_{s}" for s in args.sets]
    unknown = [s for s in args.sets if s not in SETS]
    if unknown:
        parser.error(f"unknown sets {unknown}; choose from {list(SETS)}")
    if args.limit is not None and args.limit < 1:
        parser.error("--limit must be >= 1")
    return args


def load(path: Path, limit: int | None) -> list[tuple[str, int]]:
    positions = []
    for line in path.read_text().splitlines()[:limit]:
        moves, score = line.split()
        positions.append((moves, int(score)))
    return positions


def run_set(
    solver: Connect4Solver, positions: list[tuple[str, int]], progress: Progress, name: str
) -> dict:
    """Solves each position from an empty table; returns per-position records and a summary."""
    records = []
    task = progress.add_task(name, total=len(positions))
    for moves, want in positions:
        solver.reset()
        start = time.perf_counter()
        score = solver.score(moves)
        score_s = time.perf_counter() - start
        score_nodes = solver.last_node_count
        start = time.perf_counter()
        scores = solver.analyze(moves)
        analyze_s = time.perf_counter() - start
        best = max(s for s in scores if s is not None)
        records.append(
            {
                "moves": moves,
                "expected": want,
                "score": score,
                "score_s": score_s,
                "score_nodes": score_nodes,
                "analyze": scores,
                "analyze_s": analyze_s,
                "analyze_nodes": solver.last_node_count,
                "correct": score == want,
                "analyze_consistent": best == want,
            }
        )
        progress.advance(task)
    score_times = [r["score_s"] for r in records]
    analyze_times = [r["analyze_s"] for r in records]
    return {
        "name": SETS[name],
        "positions": len(records),
        "correct": sum(r["correct"] for r in records),
        "analyze_consistent": sum(r["analyze_consistent"] for r in records),
        "score_mean_s": statistics.fmean(score_times),
        "score_max_s": max(score_times),
        "score_mean_nodes": statistics.fmean(r["score_nodes"] for r in records),
        "analyze_mean_s": statistics.fmean(analyze_times),
        "analyze_max_s": max(analyze_times),
        "total_s": sum(score_times) + sum(analyze_times),
        "records": records,
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    console = Console(width=160)  # keep every column whole when piped to a file
    missing = [s for s in args.sets if not (args.data_dir / s).is_file()]
    if missing:
        console.print(f"[red]positions not found in {args.data_dir}: {missing}")
        return 2
    solver = Connect4Solver(log2_table_size=args.log2_table_size)
    results = {}
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console) as progress:
        for name in args.sets:
            positions = load(args.data_dir / name, args.limit)
            results[name] = run_set(solver, positions, progress, name)

    table = Table(title="Connect Four solver on Pascal Pons' test sets (seconds per position)")
    for header in ("set", "name", "positions", "correct", "score mean", "score max"):
        table.add_column(header, justify="left" if header in ("set", "name") else "right")
    for header in ("analyze mean", "analyze max", "analyze ok", "nodes (score)"):
        table.add_column(header, justify="right")
    for name, r in results.items():
        table.add_row(
            name,
            r["name"],
            str(r["positions"]),
            str(r["correct"]),
            f"{r['score_mean_s']:.2e}",
            f"{r['score_max_s']:.2e}",
            f"{r['analyze_mean_s']:.2e}",
            f"{r['analyze_max_s']:.2e}",
            str(r["analyze_consistent"]),
            f"{r['score_mean_nodes']:.3g}",
        )
    console.print(table)

    report = {
        "benchmark": "connect4 solver",
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": {
            "platform": platform.platform(),
            "processor": platform.processor(),
            "cpus": os.cpu_count(),
            "python": sys.version.split()[0],
        },
        "settings": {
            "limit": args.limit,
            "log2_table_size": args.log2_table_size,
            "table_bytes": solver.table_bytes,
            "table_reset": "before each position's score(); analyze() runs on the warm table",
        },
        "sets": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1))
    console.print(f"wrote {args.out}")
    wrong = sum(r["positions"] - r["correct"] for r in results.values())
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
