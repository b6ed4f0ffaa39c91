"""benchmarks/countdown_failures.py: each class on answers written by hand, the classes against
the game's own verdicts on random play, and a short run on an untrained network."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from conftest import benchmark_module, careless_answer, untrained_checkpoint

import games
from games.text.task import END

PROMPT = "3,5,7|22"  # 3*5=15,15+7=22


@pytest.fixture(scope="module")
def bench():
    with benchmark_module("countdown_failures") as module:
        yield module


@pytest.mark.parametrize(
    ("answer", "verdict"),
    [
        ("3*5=15,15+7=22" + END, "solved"),
        ("3*5=15,15-7=8" + END, "last step"),  # a finished answer that misses
        ("3+5=8,8+7=15" + END, "dead end"),
        ("4", "operand"),  # never given
        ("3+3", "operand"),  # used twice
        ("3-5", "operation"),  # negative
        ("7/3", "operation"),  # inexact
        ("3*5=16", "arithmetic"),
        ("3*5=16,", "arithmetic"),  # a whole step, wrong
        ("3*5=2", "arithmetic"),  # cut at the first wrong digit
        ("3+5=8,8", "dead end"),  # 7 and 8 cannot make 22
        ("3+5=8,8*7=5", "dead end"),  # the first mistake, before the arithmetic
        ("3*5=15,15*", "last step"),  # 15+7 would have
        ("3*5=1", "other"),  # stopped short
    ],
)
def test_each_class_on_answers_written_by_hand(bench, answer, verdict):
    task = games.make("countdown@k=3").task
    assert bench.classify(task, PROMPT, answer) == (verdict, 0, 0)


def test_the_first_mistake_is_where_the_answer_went_wrong(bench):
    task = games.make("countdown@k=3,backtrack=2").task
    assert bench.first_mistake(task, PROMPT, "3*5=15,15+7=22" + END) is None
    assert bench.first_mistake(task, PROMPT, "3*5=15,<3+5=8,8*7=5") == bench.Mistake(
        "dead end", 8, "3+5=8", (3, 5, 7), 1
    )
    assert bench.first_mistake(task, PROMPT, "3+5=8,<3*5=15,15*") == bench.Mistake(
        "last step", 14, "15*", (7, 15), 1
    )
    assert bench.first_mistake(task, PROMPT, "3*5=15,15+7=3") == bench.Mistake(
        "arithmetic", 7, "15+7=3", (7, 15), 0
    )


def test_steps_taken_back_and_dead_ends_among_them(bench):
    task = games.make("countdown@k=3,backtrack=2").task
    trace = "3+5=8,<3*5=15,15+7=22" + END  # a dead end taken back
    assert bench.classify(task, PROMPT, trace) == ("solved", 1, 1)
    trace = "3*5=15,<3*5=15,15+7=22" + END  # a good step taken back
    assert bench.classify(task, PROMPT, trace) == ("solved", 1, 0)
    trace = "3+5=8,<7-3=4,<3+5=8,8"  # two dead ends taken back, then the first kept
    assert bench.classify(task, PROMPT, trace) == ("dead end", 2, 2)


@pytest.mark.parametrize("spec", ["countdown@k=4", "countdown@k=4,backtrack=3"])
def test_classes_agree_with_the_games_verdicts(bench, spec):
    """Careless answers make every kind of mistake; the class must say solved exactly where
    the verifier accepts, arithmetic exactly where the rules' reason is a wrong result, and
    the other step mistakes only where the rules found no step to begin."""
    task = games.make(spec).task
    rng = np.random.default_rng(0)
    seen = set()
    for prompt in task.test_prompts("seen", limit=300):
        answer = careless_answer(task, prompt, rng)
        verdict, undos, undone = bench.classify(task, prompt, answer)
        seen.add(verdict)
        early = task.early_verdict(prompt, answer)
        if early is None:
            early = task.verify(prompt, answer.removesuffix(END))
        assert (verdict == "solved") == early.accepted, answer
        assert undos == answer.count("<") and 0 <= undone <= undos
        wrong_result = re.search(r"is \d+, not \d+$", early.reason) is not None
        # A dead end left standing comes first, whatever the rules rejected after it.
        assert wrong_result == (verdict == "arithmetic") or verdict == "dead end", answer
        if verdict in ("operand", "operation"):
            begins = r"no (legal )?step( that makes the target \d+)? begins"
            assert re.search(begins, early.reason), (answer, early.reason)
    assert set(bench.CLASSES) - {"other"} <= seen


def test_every_checkpoint_and_split_gets_a_row(bench, tmp_path):
    game = "countdown@k=3"
    checkpoint = untrained_checkpoint(tmp_path / "checkpoint.pt", game)
    out = tmp_path / "report.json"
    bench.main([str(checkpoint), "--game", game, "--limit", "20", "--out", str(out)])
    report = json.loads(out.read_text())
    assert [r["split"] for r in report["rows"]] == ["seen", "heldout"]
    for row in report["rows"]:
        shares = [row[c] for c in bench.CLASSES]
        assert row["problems"] == 20 and sum(shares) == pytest.approx(1)
        assert 0 <= row["dead_end_first_step"] <= row["dead end"]
        assert 0 <= row["solved_after_undo"] <= min(row["took_back"], row["solved"])
        for c in bench.CLASSES:
            assert len(row["examples"][c]) == min(bench.EXAMPLES, round(row[c] * 20))
    with pytest.raises(SystemExit):
        bench.main([str(checkpoint), "--game", "tictactoe", "--out", str(out)])
