"""benchmarks/verifier_search.py: a short run on an untrained network fills every row."""

from __future__ import annotations

import json

import pytest
import torch
from conftest import benchmark_module

import games
from selfplay.checkpoint import game_info, save_checkpoint
from selfplay.config import resolve, to_dict
from selfplay.model import PolicyValueNet

GAME = "countdown@k=3,mode=guided"


@pytest.fixture(scope="module")
def bench():
    with benchmark_module("verifier_search") as module:
        yield module


def test_search_and_sampling_are_compared_at_every_budget(bench, tmp_path):
    game = games.make(GAME)
    config = resolve([f"game={GAME}", "model.blocks=1", "model.channels=16"])
    torch.manual_seed(0)
    model = PolicyValueNet(game.spec, config.model)
    checkpoint = tmp_path / "checkpoint.pt"
    save_checkpoint(checkpoint, {"game": game_info(game.spec), "config": to_dict(config),
                                 "learner": {"model": model.state_dict()}})  # fmt: skip
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
