"""benchmarks/whole_games.py: its token count of a batch is right, and a short run reports
every variant and puts the global last-layer setting back."""

from __future__ import annotations

import json

import numpy as np
from conftest import benchmark_module

import selfplay.model


def test_batch_tokens_counts_games_padding_and_real_tokens():
    with benchmark_module("whole_games") as bench:
        rows = []
        for length, first in ((3, 2), (5, 4)):  # games whose first positions hold 2 and 4 tokens
            for n in range(first, length + 1):
                rows.append([first + 5] * n + [0] * (6 - n))
        games_in, run, real = bench.batch_tokens(np.array(rows, np.float32))
    assert (games_in, run, real) == (2, 2 * 5, 3 + 5)


def test_a_short_run_reports_every_variant(tmp_path):
    out = tmp_path / "whole.json"
    with benchmark_module("whole_games") as bench:
        bench.main(["--game", "countdown@k=3", "--pool", "40", "--buckets", "1", "4",
                    "--steps", "1", "--rounds", "1", "--out", str(out),
                    "model.channels=16", "model.blocks=2", "learner.batch_size=32"])  # fmt: skip
        share = bench.READ_OUT_SHARE
    assert share == selfplay.model.READ_OUT_SHARE
    report = json.loads(out.read_text())
    assert list(report["summary"]) == ["buckets 1, read-outs only", "buckets 1", "buckets 4"]
    assert all(
        v["positions_per_step"] >= 32 and v["padding"] >= 1 for v in report["summary"].values()
    )
    assert report["summary"]["buckets 1, read-outs only"]["speedup"] == 1.0
