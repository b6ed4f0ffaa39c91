"""benchmarks/learn_countdown.py without training: its settings and its measurement."""

from __future__ import annotations

import json

import pytest
from conftest import benchmark_module
from rich.console import Console

from selfplay.checkpoint import save_checkpoint
from selfplay.config import ConfigError, to_dict
from selfplay.loop import CHECKPOINT


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
    with pytest.raises(ConfigError, match="text task with test splits, not tictactoe"):
        bench.make_config(bench.parse_args(["--game", "tictactoe"]), tmp_path)
    with pytest.raises(ConfigError, match="test splits, not addition"):
        bench.make_config(bench.parse_args(["--game", "addition"]), tmp_path)
    game24 = bench.make_config(bench.parse_args(["--game", "game24"]), tmp_path)
    assert game24.name.startswith("game24-")
    with pytest.raises(SystemExit):
        bench.parse_args(["--goal", "1.5"])
    with pytest.raises(SystemExit):
        bench.parse_args(["--eval-every", "-1"])
    assert bench.parse_args(["--eval-every", "60"]).eval_every == 60


def test_a_resumed_run_keeps_its_settings_and_its_curve(bench, tmp_path):
    args = bench.parse_args(["--game", "countdown@k=3", "model.blocks=1", "--run-dir", "x"])
    config = bench.make_config(args, tmp_path)
    run_dir = tmp_path / config.name
    save_checkpoint(run_dir / CHECKPOINT, {"config": to_dict(config)})
    resumed = bench.parse_args(["--resume", str(run_dir), "learner.lr=2.5e-4"])
    again = bench.make_config(resumed, tmp_path / "elsewhere")
    assert again.game == "countdown@k=3" and again.model.blocks == 1
    assert again.learner.lr == 2.5e-4 and again.checkpoint_every == 1
    with pytest.raises(SystemExit, match=r"learn_countdown\.json"):
        bench._earlier_curve(run_dir)  # a run this script did not evaluate
    curve = [{"generation": 3, "elapsed_s": 12.5}]
    (run_dir / bench.CURVE).write_text(json.dumps(curve))
    assert bench._earlier_curve(run_dir) == curve


def test_the_report_shows_every_split_of_the_task(bench):
    """A game24 report: its splits ("test", "tot") are the table's columns, the goal is on
    the first."""
    row = {"generation": 4, "elapsed_s": 30.0, "selfplay_games": 9, "selfplay_positions": 90,
           "learner_steps": 50, "greedy_test": 0.125, "greedy_tot": 0.5,
           "selfplay_solve_rate": 0.75, "loss": 1.5}  # fmt: skip
    report = {"game": "game24", "splits": ["test", "tot"], "goal": 0.8,
              "random_floor": {"test": 0.0, "tot": 0.01}, "problems_per_split": 100,
              "history": [row], "goal_elapsed_s": None, "best_greedy_test": 0.125,
              "stopped_because": "time limit", "parameters": 1000, "wall_s": 31.0,
              "machine": {"cpus": 2, "load_avg_before": [0.5],
                          "load_avg_after": [1.5]}}  # fmt: skip
    console = Console(record=True, width=200)
    bench.print_report(report, console)
    text = console.export_text()
    assert "random play: test 0.0%, tot 1.0%" in text and "12.5%" in text and "50.0%" in text
    assert "80% not reached (best 12.5%)" in text
