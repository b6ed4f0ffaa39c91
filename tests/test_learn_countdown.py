"""benchmarks/learn_countdown.py without training: its settings and its measurement."""

from __future__ import annotations

import importlib.util
import sys

import pytest
from conftest import ROOT

from selfplay.config import ConfigError


@pytest.fixture(scope="module")
def bench():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    path = ROOT / "benchmarks" / "learn_countdown.py"
    spec = importlib.util.spec_from_file_location("learn_countdown", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    yield module
    del sys.modules[spec.name]
    sys.path.remove(str(ROOT / "benchmarks"))


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
