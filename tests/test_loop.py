"""The whole training loop on Ray, end to end, in its smoke configuration: a run, its files, a
resume that continues where it stopped, and a self-play worker killed mid-run."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

ray = pytest.importorskip("ray")

from selfplay.checkpoint import load_checkpoint  # noqa: E402
from selfplay.config import RayConfig, parse_overrides, resolve, smoke  # noqa: E402
from selfplay.loop import CHECKPOINT, CONFIG, REPLAY, load_run, train  # noqa: E402
from selfplay.replay import ReplayBuffer  # noqa: E402


@pytest.fixture(scope="module", autouse=True)
def ray_session():
    torch.set_num_threads(1)
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def _config(tmp_path, *overrides: str):
    base = smoke(resolve(["game=tictactoe", f"run_dir={tmp_path}", "name=run"]))
    config = parse_overrides(overrides, base=base)
    assert config.ray == RayConfig()  # the session above is used as it is
    return config


def test_smoke_run_leaves_a_complete_run_directory(tmp_path):
    seen = []
    # The tic-tac-toe preset turns gating off; turn it on, and measure strength every time.
    config = _config(tmp_path, "arena.gate=sprt", "arena.strength_every=1")
    run_dir = train(config, on_generation=lambda g, m, pool: seen.append((g, m)))
    assert [g for g, _ in seen] == [1, 2]
    assert (run_dir / CONFIG).exists() and json.loads((run_dir / CONFIG).read_text())["game"]
    payload = load_checkpoint(run_dir / CHECKPOINT)
    assert payload["generation"] == 2 and payload["game"]["name"] == "tictactoe"
    assert len(ReplayBuffer.load(run_dir / REPLAY)) >= 16
    assert list((run_dir / "tensorboard").glob("events.out.tfevents.*"))
    metrics = seen[-1][1]
    assert metrics["selfplay/positions_per_s"] > 0 and "learner/total_loss" in metrics
    assert 0 <= metrics["selfplay/wait_share"] <= 1 and 0 <= metrics["selfplay/cache_hit_rate"] < 1
    assert metrics["arena/games"] >= 4 and metrics["arena/promoted"] in (0.0, 1.0)
    assert payload["best"]["generation"] == metrics["arena/best_generation"]
    # The driver's time per generation: training, the arena's games, the strength measurement.
    for part in ("learner", "arena", "strength"):
        assert 0 < metrics[f"{part}/seconds"] < 600
    assert (
        0 <= metrics["strength/score_vs_minimax:2"] <= 1 and "strength/elo_over_random" in metrics
    )


def test_the_pool_plays_on_between_collects(tmp_path):
    import time

    from selfplay.actors import WorkerPool

    pool = WorkerPool(_config(tmp_path), num_workers=1, per_call=2)
    try:
        first, _ = pool.collect(2)
        assert len(first) >= 2
        taken, deadline = 0, time.monotonic() + 60
        while taken < 6 and time.monotonic() < deadline:  # the driver is busy elsewhere
            taken += pool.poll()
            time.sleep(0.05)
        assert taken >= 6  # the worker went on playing without a collect
        games, stats = pool.collect(1)  # what poll took in comes first, all of it
        assert len(games) >= taken and sum(s["games"] for s in stats) == len(games)
    finally:
        pool.shutdown()


def test_resume_continues_from_the_checkpoint(tmp_path):
    run_dir = train(_config(tmp_path, "generations=1"))
    first = load_checkpoint(run_dir / CHECKPOINT)
    buffered = len(ReplayBuffer.load(run_dir / REPLAY))
    seen = []
    train(resume=run_dir, overrides=["generations=3"], on_generation=lambda g, m, p: seen.append(g))
    assert seen == [2, 3]  # the generation counter went on from the checkpoint
    last = load_checkpoint(run_dir / CHECKPOINT)
    assert last["generation"] == 3
    assert last["learner"]["step"] > first["learner"]["step"]
    assert len(ReplayBuffer.load(run_dir / REPLAY)) > buffered


def test_resume_restores_the_learner_exactly(tmp_path):
    run_dir = train(_config(tmp_path, "generations=1"))
    saved = load_checkpoint(run_dir / CHECKPOINT)["learner"]
    run = load_run(run_dir, ["generations=5"])
    assert run.config.generations == 5 and run.config.game == "tictactoe"
    restored, replay, generation = run.learner.state_dict(), run.replay, run.generation
    for key, value in saved["model"].items():
        torch.testing.assert_close(restored["model"][key], value, rtol=0, atol=0)
    assert restored["step"] == saved["step"] and generation == 1
    assert len(replay) == len(ReplayBuffer.load(run_dir / REPLAY))


def test_a_killed_worker_is_replaced_and_the_run_goes_on(tmp_path):
    seen = []

    def kill_one(generation, metrics, pool):
        seen.append(metrics["selfplay/workers_replaced"])
        if generation == 1:
            ray.kill(pool.actors[0])

    config = _config(tmp_path, "generations=3", "selfplay.workers=2")
    train(config, on_generation=kill_one)
    assert len(seen) == 3
    assert seen[-1] >= 1  # the dead worker was noticed and replaced; the run finished


def test_a_text_game_trains_and_its_checkpoint_evaluates(tmp_path, capsys):
    """countdown runs the same loop: validation gating, greedy test solve rates in the
    strength metrics, answers sampled to learn to judge answers, and `selfplay eval` on the
    checkpoint reports every method. The learner takes whole games grouped by length."""
    from selfplay.cli import main

    base = smoke(resolve(["game=countdown@k=3,mode=guided", f"run_dir={tmp_path}", "name=cd"]))
    config = parse_overrides(
        ["arena.strength_every=1", "selfplay.answer_samples=1", "learner.length_buckets=4"],
        base=base,
    )
    assert config.learner.whole_games
    seen = []
    run_dir = train(config, on_generation=lambda g, m, pool: seen.append(m))
    metrics = seen[-1]
    assert 0 <= metrics["arena/solve_rate"] <= 1 and "arena/best_solve_rate" in metrics
    assert 0 <= metrics["selfplay/solve_rate"] <= 1
    assert 0 <= metrics["selfplay/sampled_solve_rate"] <= 1
    assert 0 < metrics["selfplay/sample_share"] < 1
    assert set(metrics) >= {"strength/greedy_seen", "strength/greedy_heldout"}
    assert load_checkpoint(run_dir / CHECKPOINT)["game"]["vocabulary_size"] > 0

    capsys.readouterr()
    code = main(["eval", str(run_dir / CHECKPOINT), "--limit", "6", "--simulations", "4",
                 "--json"])  # fmt: skip
    assert code == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert report["game"] == "countdown@k=3,mode=guided"
    methods = {(s["split"], s["method"]) for s in report["scores"]}
    assert len(methods) == 10 and all(s["problems"] == 6 for s in report["scores"])

    assert main(["answer", str(run_dir / CHECKPOINT), "3,7,25|46", "--simulations", "8"]) == 0
    out = capsys.readouterr().out
    assert "3,7,25|46" in out and ("accepted" in out or "rejected" in out)
    assert main(["answer", str(run_dir / CHECKPOINT), "3,x|46"]) == 2
    assert "'x' is not in the alphabet" in capsys.readouterr().err


def test_runs_started_together_get_their_own_folders(tmp_path, monkeypatch):
    from selfplay import loop

    monkeypatch.setattr(loop.time, "strftime", lambda _: "20261127-150000")  # the same second
    config = resolve(["game=tictactoe", f"run_dir={tmp_path}"])
    folders = [loop.new_run_dir(config) for _ in range(3)]
    assert [f.name for f in folders] == [
        "tictactoe-20261127-150000", "tictactoe-20261127-150000-2", "tictactoe-20261127-150000-3"
    ]  # fmt: skip
    new_run_dir = loop.new_run_dir
    named = resolve(["game=tictactoe", f"run_dir={tmp_path}", "name=mine"])
    (new_run_dir(named) / CONFIG).write_text("{}")  # a run has started writing there
    with pytest.raises(FileExistsError, match="in use by another run"):
        new_run_dir(named)
    (tmp_path / "mine" / CHECKPOINT).write_text("")
    with pytest.raises(FileExistsError, match="resume it with --resume"):
        new_run_dir(named)


def test_metrics_count_played_games_and_report_twins_and_samples_apart():
    from selfplay.loop import _metrics
    from selfplay.replay import GameRecord

    def game(result: float, plies: int, **origin: bool) -> GameRecord:
        return GameRecord.from_plies([np.zeros(3)] * plies, [np.full(2, 0.5)] * plies,
                                     [0] * plies, [0] * plies, np.array([result]),
                                     **origin)  # fmt: skip

    records = [game(1, 4), game(-1, 2), game(1, 3, hindsight=True), game(-1, 2),
               game(1, 1, sampled=True), game(-1, 1, sampled=True), game(-1, 1, sampled=True),
               game(-1, 1, sampled=True)]  # fmt: skip
    metrics = _metrics(records, [], [], ReplayBuffer(100, (3,), 2), 2.0, 0)
    # Neither the twin nor the sampled answers are played games.
    assert metrics["selfplay/solve_rate"] == pytest.approx(1 / 3)
    assert metrics["selfplay/hindsight_share"] == pytest.approx(1 / 3)
    assert metrics["selfplay/sampled_solve_rate"] == pytest.approx(1 / 4)
    # Two workers' stats: shares of their time, sampling's among them.
    stats = [{"simulations": 8, "evaluator_positions": 6, "evaluator_calls": 2, "cache_hits": 0,
              "seconds": 4.0, "evaluator_seconds": 3.0, "sample_seconds": sample}
             for sample in (1.0, 0.0)]  # fmt: skip
    metrics = _metrics(records, stats, [], ReplayBuffer(100, (3,), 2), 2.0, 0)
    assert metrics["selfplay/sample_share"] == pytest.approx(1 / 8)
    assert metrics["selfplay/evaluator_share"] == pytest.approx(6 / 8)
    assert "selfplay/sample_share" not in _metrics(
        records, stats[1:], [], ReplayBuffer(100, (3,), 2), 2.0, 0
    )
    assert metrics["selfplay/games_per_s"] == 1.5 and metrics["selfplay/positions_per_s"] == 4
    assert metrics["learner/steps"] == 0


class _GamesArriving:
    """A stand-in for WorkerPool: ``waiting`` reaches ``total`` games after ``polls`` polls."""

    def __init__(self, polls: int, total: int):
        self.polls, self.total, self.seen = polls, total, 0

    @property
    def waiting(self) -> int:
        return self.total if self.seen >= self.polls else 0

    def poll(self) -> int:
        self.seen += 1
        if self.seen > 1000:
            raise RuntimeError("the learner does not stop")
        return 0


@pytest.mark.parametrize(
    ("max_reuse", "polls", "expected"),
    [
        (0.0, 100, 5),  # fixed steps, however long the games take
        (50.0, 0, 5),  # the games were in before the learner began: no extra step
        (50.0, 12, 12),  # extra steps until the games are in
        (4.0, 100, 10),  # extra steps until the reuse ratio reaches 4 (0.4 a step)
    ],
)
def test_the_learner_trains_while_waiting_within_max_reuse(tmp_path, max_reuse, polls, expected):
    import games
    from selfplay.learner import Learner
    from selfplay.loop import _learn
    from selfplay.replay import GameRecord

    config = _config(
        tmp_path,
        "learner.steps_per_generation=5",
        "learner.batch_size=8",
        f"learner.max_reuse={max_reuse}",
        "selfplay.games_per_generation=4",
        "replay.min_positions=1",
    )
    game = games.make(config.game)
    replay = ReplayBuffer(1000, game.spec.observation_shape, game.spec.num_actions)
    states = game.new_initial_states(1)
    observations = game.observation_tensor(states).repeat(20, axis=0)
    policies = np.full((20, game.spec.num_actions), 1 / game.spec.num_actions)
    replay.add([GameRecord.from_plies(observations, policies, [0] * 20, [0] * 20, np.zeros(2))])
    learner = Learner(game.spec, config.model, config.learner)
    losses = _learn(learner, replay, game, config, _GamesArriving(polls, total=4))
    assert len(losses) == learner.step == expected
    assert replay.reuse_ratio == pytest.approx(expected * 8 / 20)
