"""benchmarks/learned_verifier.py: its AUC against counting pairs, and a short run on an
untrained network that fills every column."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from conftest import benchmark_module, untrained_checkpoint

GAME = "countdown@k=3,mode=guided"


@pytest.fixture(scope="module")
def bench():
    with benchmark_module("learned_verifier") as module:
        yield module


@pytest.mark.parametrize("seed", range(5))
def test_auc_counts_the_pairs_an_accepted_answer_wins(bench, seed):
    rng = np.random.default_rng(seed)
    accepted = rng.random(40) < 0.3
    values = rng.integers(-3, 4, 40) / 3  # many ties
    pairs = [1.0 if p > n else 0.5 if p == n else 0.0
             for p in values[accepted] for n in values[~accepted]]  # fmt: skip
    assert bench.auc(accepted, values) == pytest.approx(np.mean(pairs))
    assert math.isnan(bench.auc(np.ones(3, bool), values[:3]))


def test_every_checkpoint_and_split_gets_a_row(bench, tmp_path):
    checkpoint = untrained_checkpoint(tmp_path / "checkpoint.pt", GAME)
    out = tmp_path / "report.json"
    bench.main([str(checkpoint), str(checkpoint), "--game", GAME, "--limit", "3", "--samples",
                "4", "--simulations", "4", "--budget", "12", "--out", str(out)])  # fmt: skip
    rows = json.loads(out.read_text())["rows"]
    assert [r["split"] for r in rows] == ["seen", "heldout"] * 2
    for r in rows:
        assert r["problems"] == 3 and "rerank@32" not in r
        for key in ("greedy", "sampled", "rerank@4", "any@4", "hidden_per_token", "hidden_tree"):
            assert 0 <= r[key] <= 1
        assert r["rerank@4"] <= r["any@4"]
    assert rows[0] == {
        **rows[2],
        "tree_s": rows[0]["tree_s"],
        "per_token_s": rows[0]["per_token_s"],
    }  # same seed, same network
    with pytest.raises(SystemExit):
        bench.parse_args([str(checkpoint), "--game", GAME, "--budget", "0"])
