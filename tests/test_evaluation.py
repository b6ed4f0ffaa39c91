"""Objective strength on Pascal Pons' solved Connect Four positions."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import ROOT

from selfplay.evaluation import evaluate, floors, judge, load_pons_sets, move_scores
from selfplay.players import RandomPlayer, SolverPlayer

PONS = ROOT.parent / "shared" / "connect4"
needs_data = pytest.mark.skipif(not PONS.is_dir(), reason="../shared/connect4 is not here")


def test_judge_and_floors_on_a_known_position():
    scores = [None, -2, 0, 3, 3, -1, None]  # columns 4 and 5 win; column 3 draws
    assert judge(scores, 3) == (True, True)
    assert judge(scores, 2) == (False, False)
    with pytest.raises(ValueError, match="column 1 is full"):
        judge(scores, 0)
    assert floors(scores) == {"random": (0.4, 0.4), "centre-first": (1.0, 1.0)}
    lost = [-3, -1, -5, None, -1, -2, -4]  # every move loses: all weakly optimal
    assert judge(lost, 0) == (True, False) and judge(lost, 1) == (True, True)
    # Column 4 is full, so centre-first plays column 3 (index 2), which loses fastest.
    assert floors(lost)["centre-first"] == (1.0, 0.0)


@needs_data
def test_the_solver_plays_only_optimal_moves_and_scores_are_cached(tmp_path):
    sets = load_pons_sets(PONS, limit=8, names=["End-Easy", "Middle-Easy"])
    cache = tmp_path / "scores.json"
    scores = move_scores(sets, cache)
    assert set(json.loads(cache.read_text())) == {m for s in sets for m in s.moves}
    for pons in sets:  # the cached move scores agree with the published position scores
        assert [max(v for v in scores[m] if v is not None) for m in pons.moves] == list(pons.scores)

    def no_solver(moves):
        raise AssertionError("the cache should have answered")

    assert move_scores(sets, cache, analyze=no_solver) == scores
    rows = evaluate(SolverPlayer(), sets, scores, np.random.default_rng(0))
    assert [(r["weak"], r["strong"]) for r in rows] == [(1.0, 1.0), (1.0, 1.0)]
    random_rows = evaluate(RandomPlayer(), sets, scores, np.random.default_rng(0))
    assert all(r["strong"] < 1.0 for r in random_rows)
    assert all(0 < r["random weak"] < 1 for r in rows)


@needs_data
def test_unknown_set_names_are_refused():
    with pytest.raises(ValueError, match="unknown test set"):
        load_pons_sets(PONS, names=["Very-Hard"])
