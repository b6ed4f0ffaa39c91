"""benchmarks/learn_countdown.py without training: its settings and its measurement."""

from __future__ import annotations

import pytest
from conftest import benchmark_module

from selfplay.config import ConfigError


@pytest.fixture(scope="module")
def bench():
    with benchmark_module("learn_countdown") as module:
        yield module


def test_settings_take_the_preset_then_overrides(bench, tmp_path):
    args = bench.parse_args(["--game", "countdown@k=3", "model.blocks=1", "--problems", "7"])
    config = bench.make_config(args, tmp_path)
    assert config.game == "countdown@k=3" and config.model.blocks == 1
    assert config.mcts.algorithm == "gumbel" and config.checkpoint_every == 1
    assert config.selfplay.solution_targets and config.arena.validation_player == "policy"
    with pytest.raises(ConfigError, match="trains countdown"):
        bench.make_config(bench.parse_args(["--game", "tictactoe"]), tmp_path)
    with pytest.raises(SystemExit):
        bench.parse_args(["--goal", "1.5"])
    with pytest.raises(SystemExit):
        bench.parse_args(["--eval-every", "-1"])
    assert bench.parse_args(["--eval-every", "60"]).eval_every == 60
