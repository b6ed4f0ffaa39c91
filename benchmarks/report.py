"""What every benchmark writes: its JSON report, with facts about the machine it ran on."""

from __future__ import annotations

import json
import os
import platform
from pathlib import Path

import torch
from rich.console import Console
from rich.table import Table


def machine_facts(load_before: tuple[float, ...]) -> dict:
    """CPUs, GPU, the load average before (``load_before``) and now, platform and torch
    version: what a reader needs to judge a wall time taken on a shared machine."""
    return {
        "cpus": os.cpu_count(),
        "gpu": torch.cuda.get_device_name() if torch.cuda.is_available() else None,
        "load_avg_before": [round(x, 2) for x in load_before],
        "load_avg_after": [round(x, 2) for x in os.getloadavg()],
        "platform": platform.platform(),
        "torch": torch.__version__,
    }


def print_checkpoint_rows(table: Table, report: dict, cells, console: Console) -> None:
    """Fills ``table`` (its columns "#", "split", then those of ``cells(row)``, a list of
    strings) with ``report["rows"]``, one per checkpoint and split, numbered by checkpoint;
    prints it and which checkpoint each number is."""
    for r in report["rows"]:
        table.add_row(str(report["checkpoints"].index(r["checkpoint"])), r["split"], *cells(r))
    console.print(table)
    for i, path in enumerate(report["checkpoints"]):
        console.print(f"{i}: {path}")


def save_report(report: dict, out: Path, console: Console) -> None:
    """Writes ``report`` as JSON to ``out`` (its folder made if missing) and says where."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2))
    console.print(f"wrote {out}")
