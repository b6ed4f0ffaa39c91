"""benchmarks/verifier_search.py: a short run on an untrained network fills every row."""

from __future__ import annotations

import json

import pytest
from conftest import benchmark_module, untrained_checkpoint

GAME = "countdown@k=3,mode=guided"


@pytest.fixture(scope="module")
def bench():
    with benchmark_module("verifier_search") as module:
        yield module


def test_search_and_sampling_are_compared_at_every_budget(bench, tmp_path):
    checkpoint = untrained_checkpoint(tmp_path / "checkpoint.pt", GAME)
    out = tmp_path / "report.json"
    bench.main([str(checkpoint), "--game", GAME, "--splits", "seen", "--limit", "4",
                "--simulations", "4", "--budgets", "8", "40", "--out", str(out)])  # fmt: skip
    rows = json.loads(out.read_text())["rows"]
    assert [(r["method"], r["budget"]) for r in rows] == [
        ("per-token", None), ("best-of-N", None), ("search-verifier", 8), ("best-of-N", 8),
        ("search-verifier", 40), ("best-of-N", 40),
    ]  # fmt: skip
    for search, sampled in zip(rows[::2], rows[1::2], strict=True):
        assert sampled["verifier_calls"] >= search["verifier_calls"]  # N rounded up
        assert 0 <= search["solved"] <= 1 and 0 <= sampled["solved"] <= 1
        if search["budget"] is not None:
            assert 0 < search["simulations"] <= search["budget"]
    with pytest.raises(SystemExit):
        bench.parse_args([str(checkpoint), "--game", GAME, "--budgets", "0"])
