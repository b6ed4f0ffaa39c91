"""Strength measurements of the best network during training."""

from __future__ import annotations

import pytest
import torch
from conftest import ROOT

import games
from selfplay.config import parse_overrides, smoke
from selfplay.model import PolicyValueNet
from selfplay.strength import StrengthMonitor

PONS = ROOT.parent / "shared" / "connect4"


@pytest.mark.skipif(not PONS.is_dir(), reason="../shared/connect4 is not here")
def test_connect4_strength_has_baseline_ratings_and_optimal_move_rates(tmp_path):
    torch.set_num_threads(1)
    overrides = ["game=connect4", f"arena.pons_dir={PONS}", "arena.strength_every=2"]
    config = smoke(parse_overrides(overrides))
    game = games.make("connect4")
    monitor = StrengthMonitor(game, config, tmp_path, "cpu")
    assert (tmp_path / "pons-scores.json").exists()  # labels cached in the run directory
    assert not monitor.due(1) and monitor.due(2)
    metrics = monitor.measure(PolicyValueNet(game.spec, config.model), 2)
    for name in ("End-Easy", "Middle-Easy", "Middle-Medium"):
        assert 0 <= metrics[f"strength/{name}_strong"] <= metrics[f"strength/{name}_weak"] <= 1
    assert set(metrics) >= {"strength/score_vs_random", "strength/elo_over_random"}


def test_one_player_games_have_no_baselines(tmp_path):
    from toy_games import LineWalk

    config = smoke(parse_overrides(["game=tictactoe"]))
    monitor = StrengthMonitor(LineWalk(), config, tmp_path, "cpu")
    assert monitor.baselines == [] and not monitor.due(5)
