"""The ``selfplay`` console script, run in-process through ``main``."""

from __future__ import annotations

import json

import pytest

from selfplay.cli import main


@pytest.fixture(autouse=True)
def wide_terminal(monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")  # rich would cut table cells at 80 columns


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_games_lists_builtins_with_their_facts(capsys):
    code, out, _ = run(capsys, "games")
    assert code == 0
    for name in ("tictactoe", "connect4", "othello"):
        assert name in out
    assert "2x6x7" in out and "games.connect4:ConnectFour" in out


def test_check_game_passes_a_good_game(capsys, nim_file):
    code, out, _ = run(capsys, "check-game", f"{nim_file}:Nim", "--num-games", "8")
    assert code == 0
    assert "0 failed" in out


def test_check_game_names_the_broken_invariant_and_position(capsys, tmp_path, nim_source):
    path = tmp_path / "bad.py"
    path.write_text(
        nim_source + "\n\nclass BadNim(Nim):\n"
        "    def returns(self, states):\n"
        "        return abs(super().returns(states))\n"
    )
    code, out, _ = run(capsys, "check-game", f"{path}:BadNim")
    assert code == 1
    assert "FAIL returns" in out and "not zero-sum" in out and "heap 0" in out


def test_bad_game_spec_is_a_clear_error_not_a_traceback(capsys):
    code, _, err = run(capsys, "check-game", "chess")
    assert code == 2
    assert "unknown game 'chess'" in err and "Traceback" not in err


def test_solve_prints_score_and_move_scores(capsys):
    pytest.importorskip("selfplay._core")
    # From Test_L3_R1 (End-Easy): the side to move scores -1 here.
    code, out, _ = run(
        capsys, "solve", "connect4", "2252576253462244111563365343671351441", "--json"
    )
    assert code == 0
    result = json.loads(out)
    assert result["score"] == -1
    assert max(v for v in result["move_scores"].values() if v is not None) == -1


def test_solve_human_output_and_errors(capsys):
    pytest.importorskip("selfplay._core")
    code, out, _ = run(capsys, "solve", "connect4", "2252576253462244111563365343671351441")
    assert code == 0 and "score -1" in out and "the opponent wins" in out
    code, _, err = run(capsys, "solve", "connect4", "12x")
    assert code == 2 and "error" in err
    code, _, err = run(capsys, "solve", "tictactoe", "1")
    assert code == 2 and "no solver for 'tictactoe'" in err


def test_arena_plays_two_players_and_reports_score_and_elo(capsys):
    code, out, _ = run(capsys, "arena", "minimax:9", "random", "--game", "tictactoe",
                       "--games", "8", "--openings", "0")  # fmt: skip
    assert code == 0
    # From the empty board perfect play never loses: the losses column is 0.
    row = next(line for line in out.splitlines() if line.strip().startswith("│") and "8 │" in line)
    cells = [c.strip() for c in row.strip("│ ").split("│")]
    assert cells[0] == "8" and cells[3] == "0" and int(cells[1]) >= 4
    assert "Elo" in out and "minimax:9 vs random" in out


def test_ladder_rates_stronger_players_higher(capsys):
    code, out, _ = run(capsys, "ladder", "random", "minimax:9", "--game", "tictactoe",
                       "--games", "10", "--openings", "0")  # fmt: skip
    assert code == 0 and "random = 0" in out
    rows = {c[0]: c[1] for line in out.splitlines() if line.startswith("│")
            for c in [[x.strip() for x in line.strip("│ ").split("│")]]}  # fmt: skip
    assert int(rows["minimax:9"]) > 0 == int(rows["random"])


def test_unknown_player_is_a_clear_error(capsys):
    code, _, err = run(capsys, "arena", "nobody", "random", "--game", "tictactoe")
    assert code == 2 and "unknown player 'nobody'" in err and "minimax:DEPTH" in err


def test_eval_reports_optimal_move_rates(capsys, tmp_path):
    from conftest import ROOT

    pons = ROOT.parent / "shared" / "connect4"
    if not pons.is_dir():
        pytest.skip("../shared/connect4 is not here")
    code, out, _ = run(capsys, "eval", "solver", "--pons", str(pons), "--sets", "End-Easy",
                       "--limit", "5", "--cache", str(tmp_path / "c.json"), "--json")  # fmt: skip
    assert code == 0
    rows = json.loads(out.strip().splitlines()[-1])["rows"]
    assert rows[0]["set"] == "End-Easy" and rows[0]["weak"] == rows[0]["strong"] == 1.0
