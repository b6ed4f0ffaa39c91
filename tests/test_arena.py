"""The arena: matches pair openings and swap colours; strong players beat weak ones and perfect
ones never do worse than the position allows; the statistics, the gates and the rating fit give
the numbers they should."""

from __future__ import annotations

import math

import numpy as np
import pytest
from toy_games import LineWalk

import games
from games import IllegalActionError
from selfplay.arena import (
    ACCEPT_H0,
    ACCEPT_H1,
    CONTINUE,
    INCONCLUSIVE,
    SPRT,
    GameRecord,
    MatchResult,
    Tally,
    ThresholdGate,
    elo_from_score,
    elo_interval,
    fit_elo,
    gate,
    play_match,
    score_from_elo,
    score_interval,
    solve_rate,
)
from selfplay.players import MinimaxPlayer, RandomPlayer, SolverPlayer
from selfplay.solver import Connect4Solver

TICTACTOE = games.make("tictactoe")
CONNECT4 = games.make("connect4")


class HistoryChecker(RandomPlayer):
    """Plays at random and checks that each game's history rebuilds its position."""

    def __init__(self, game):
        super().__init__("checker")
        self.game, self.calls = game, 0

    def act(self, game, states, rng, histories):
        self.calls += 1
        assert len(histories) == len(states)
        for b, moves in enumerate(histories):
            again = game.new_initial_states(1)
            for m in moves:
                again = game.apply_actions(again, np.array([m]))
            assert again.tobytes() == states[b : b + 1].tobytes()
        return super().act(game, states, rng, histories)


def _replay(game, moves):
    states = game.new_initial_states(1)
    for m in moves:
        states = game.apply_actions(states, np.array([m]))
    return states


# -- matches -------------------------------------------------------------------------------------


def test_colours_are_balanced_and_openings_paired():
    checker = HistoryChecker(TICTACTOE)
    rng = np.random.default_rng(0)
    result = play_match(TICTACTOE, checker, RandomPlayer(), 30, rng, opening_plies=2, batch_size=10)
    assert checker.calls > 0
    assert result.games == 30 and result.tally.games == 30
    assert result.as_first.games == result.as_second.games == 15
    assert result.as_first + result.as_second == result.tally
    records = result.records
    assert [r.seat_a for r in records] == [0, 1] * 15
    for first, second in zip(records[::2], records[1::2], strict=True):
        assert first.opening_plies == second.opening_plies == 2
        assert first.moves[:2] == second.moves[:2]
    assert len({r.moves[:2] for r in records}) > 5  # openings vary from pair to pair
    for r in records:
        end = _replay(TICTACTOE, r.moves)
        assert TICTACTOE.is_terminal(end)[0]
        assert TICTACTOE.returns(end)[0, r.seat_a] == r.result_a
    assert result.wins == sum(r.result_a > 0 for r in records)
    assert result.losses == sum(r.result_a < 0 for r in records)


def test_matches_are_reproducible_from_the_seed():
    def run(seed):
        return play_match(TICTACTOE, RandomPlayer(), RandomPlayer("other"), 8,
                          np.random.default_rng(seed), opening_plies=1).records  # fmt: skip

    assert run(3) == run(3)
    assert run(3) != run(4)


def test_perfect_minimax_beats_random_and_never_loses():
    rng = np.random.default_rng(1)
    result = play_match(TICTACTOE, MinimaxPlayer(9), RandomPlayer(), 40, rng)
    assert result.losses == 0
    assert result.as_first.wins >= 16  # it sees no difference between drawing moves
    assert result.score >= 0.85
    low, high = result.score_interval()
    assert 0.5 < low < result.score < high <= 1


def test_perfect_minimax_draws_against_itself():
    rng = np.random.default_rng(2)
    result = play_match(TICTACTOE, MinimaxPlayer(9), MinimaxPlayer(9, name="twin"), 16, rng)
    assert result.draws == 16
    assert len({r.moves for r in result.records}) > 4  # random tie-breaks vary the games


def test_solver_never_does_worse_than_the_opening_allows():
    """From 14 random plies the solver must get at least the exact result of the opening for
    its side, and against a random player it wins almost every game."""
    judge = Connect4Solver(20)
    solver = SolverPlayer(log2_table_size=20)
    rng = np.random.default_rng(3)
    for opponent, games_ in ((RandomPlayer(), 8), (MinimaxPlayer(3), 8)):
        result = play_match(CONNECT4, solver, opponent, games_, rng, opening_plies=14)
        for r in result.records:
            score = judge.score([m + 1 for m in r.moves[: r.opening_plies]])
            mover = r.opening_plies % 2  # player 0 moves after an even number of plies
            deserved = np.sign(score) * (1 if r.seat_a == mover else -1)
            assert r.result_a >= deserved, (r, score)
        if isinstance(opponent, RandomPlayer):
            assert result.wins >= games_ - 1


def test_illegal_or_malformed_moves_name_the_player():
    class Stubborn(RandomPlayer):
        def act(self, game, states, rng, histories):
            return np.zeros(len(states), dtype=np.int64)

    class Floaty(RandomPlayer):
        def act(self, game, states, rng, histories):
            return np.zeros(len(states))

    rng = np.random.default_rng(0)
    with pytest.raises(IllegalActionError, match="played by stubborn"):
        play_match(TICTACTOE, Stubborn("stubborn"), RandomPlayer(), 2, rng)
    with pytest.raises(ValueError, match="floaty: act must return integer actions"):
        play_match(TICTACTOE, Floaty("floaty"), RandomPlayer(), 2, rng)


def test_matches_refuse_odd_counts_and_one_player_games():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="even"):
        play_match(TICTACTOE, RandomPlayer(), RandomPlayer(), 3, rng)
    with pytest.raises(ValueError, match="batch_size"):
        play_match(TICTACTOE, RandomPlayer(), RandomPlayer(), 4, rng, batch_size=3)
    with pytest.raises(ValueError, match="solve_rate"):
        play_match(LineWalk(), RandomPlayer(), RandomPlayer(), 2, rng)
    with pytest.raises(ValueError, match="one-player"):
        solve_rate(TICTACTOE, RandomPlayer(), TICTACTOE.new_initial_states(2), rng)


def test_solve_rate_counts_positive_returns():
    game = LineWalk()
    rng = np.random.default_rng(0)
    perfect = solve_rate(game, MinimaxPlayer(6), game.new_initial_states(10), rng)
    assert perfect == 1.0
    walked = game.apply_actions(game.new_initial_states(1), np.array([2]))  # at -1 after 1 move
    walked = game.apply_actions(walked, np.array([2]))  # -2 after 2: 9 steps in 4 moves fail
    assert solve_rate(game, MinimaxPlayer(6), np.repeat(walked, 3), rng) == 0.0


def test_match_results_add_and_summarise():
    a = MatchResult("x", "y", (GameRecord((0,), 0, 0, 1.0), GameRecord((1,), 0, 1, 0.0)))
    b = MatchResult("x", "y", (GameRecord((2,), 0, 0, -1.0),))
    both = a + b
    assert both.tally == Tally(1, 1, 1) and both.score == 0.5
    assert both.as_first == Tally(1, 0, 1) and both.as_second == Tally(0, 1, 0)
    assert "x vs y: 3 games +1 =1 -1" in both.summary()
    with pytest.raises(ValueError, match="cannot add"):
        a + MatchResult("y", "x", ())


# -- statistics ----------------------------------------------------------------------------------


def test_elo_and_score_round_trip():
    for elo in (-800.0, -191.0, -35.0, 0.0, 1.0, 100.0, 600.0):
        assert math.isclose(elo_from_score(score_from_elo(elo)), elo, abs_tol=1e-9)
    assert math.isclose(elo_from_score(0.75), 190.848, abs_tol=1e-3)
    assert math.isclose(score_from_elo(400.0), 10 / 11)
    assert elo_from_score(0.5) == 0.0
    assert elo_from_score(1.0) == math.inf and elo_from_score(0.0) == -math.inf
    with pytest.raises(ValueError):
        elo_from_score(1.5)


def test_score_interval_covers_the_true_score():
    rng = np.random.default_rng(4)
    p_win, p_draw = 0.45, 0.3
    truth = p_win + p_draw / 2
    covered = 0
    for counts in rng.multinomial(60, [p_win, p_draw, 1 - p_win - p_draw], size=1000):
        _, low, high = score_interval(*counts)
        covered += low <= truth <= high
    assert 0.93 <= covered / 1000 <= 0.995  # Wilson's interval is conservative with draws
    score, low, high = score_interval(30, 0, 0)
    assert score == 1.0 and 0.85 < low < 1.0 and high == 1.0  # never collapses to a point
    wide, narrow = score_interval(6, 2, 2), score_interval(60, 20, 20)
    assert wide[0] == narrow[0] and wide[2] - wide[1] > 2.5 * (narrow[2] - narrow[1])
    elo, elo_low, elo_high = elo_interval(60, 20, 20)
    assert elo_low < elo == elo_from_score(0.7) < elo_high
    assert all(math.isnan(x) for x in score_interval(0, 0, 0))


# -- gates ---------------------------------------------------------------------------------------


def _feed(rule, results, limit=10_000):
    """Updates ``rule`` one game at a time until it stops; returns (status, games)."""
    for n, r in enumerate(results):
        if (status := rule.status()) != CONTINUE or n >= limit:
            return status, n
        rule.update(wins=int(r == 1), draws=int(r == 0), losses=int(r == -1))
    return rule.status(), len(results)


def test_sprt_accepts_h1_on_wins_and_h0_on_losses_or_draws():
    status, n = _feed(SPRT(0, 35), [1] * 200)
    assert status == ACCEPT_H1 and 20 < n < 60
    status, n = _feed(SPRT(0, 35), [-1] * 200)
    assert status == ACCEPT_H0 and n < 60
    status, _ = _feed(SPRT(0, 35), [0] * 200)  # equal strength: H0 (elo0 = 0) is true
    assert status == ACCEPT_H0
    capped = SPRT(0, 35, max_games=10)
    status, n = _feed(capped, [1, -1] * 50)
    assert status == INCONCLUSIVE and n == 10
    with pytest.raises(ValueError):
        SPRT(10, 0)


def test_sprt_error_rates_are_about_alpha_and_beta():
    rng = np.random.default_rng(5)
    alpha = beta = 0.1
    p_draw = 0.2
    rates = {}
    for true_elo in (0.0, 100.0):
        p_win = score_from_elo(true_elo) - p_draw / 2
        accepted_h1 = 0
        for _ in range(250):
            stream = rng.choice([1, 0, -1], size=2000, p=[p_win, p_draw, 1 - p_win - p_draw])
            status, _ = _feed(SPRT(0, 100, alpha, beta, max_games=None), stream)
            assert status in (ACCEPT_H0, ACCEPT_H1)
            accepted_h1 += status == ACCEPT_H1
        rates[true_elo] = accepted_h1 / 250
    assert 0.02 <= rates[0.0] <= 0.17  # false promotions: about alpha
    assert 0.02 <= 1 - rates[100.0] <= 0.17  # missed improvements: about beta


def test_threshold_gate_decides_as_soon_as_the_outcome_is_settled():
    status, n = _feed(ThresholdGate(40, 0.6), [1] * 40)
    assert status == ACCEPT_H1 and n == 24  # 24 / 40 = 0.6 whatever follows
    status, n = _feed(ThresholdGate(40, 0.6), [-1] * 40)
    assert status == ACCEPT_H0 and n == 17  # at most 23 / 40 < 0.6 from there
    status, n = _feed(ThresholdGate(40, 0.6), [0] * 40)
    assert status == ACCEPT_H0 and n == 40 - 7  # 33 draws leave at most 23.5 / 40
    # alpha-zero-general's rule leaves draws out, and rejects a match without decisive games.
    assert _feed(ThresholdGate(40, 0.6, draws="ignore"), [0] * 40) == (ACCEPT_H0, 40)
    assert _feed(ThresholdGate(40, 0.6, draws="ignore"), [1] + [0] * 39)[0] == ACCEPT_H1


def test_gate_promotes_the_stronger_player_only():
    rng = np.random.default_rng(6)
    strong, weak = MinimaxPlayer(9), RandomPlayer()
    passed = gate(TICTACTOE, strong, weak, SPRT(0, 100, 0.05, 0.05, max_games=200), rng, batch=10)
    assert passed.promote and passed.decision == ACCEPT_H1
    assert 10 <= passed.match.games < 200 and passed.match.games % 10 == 0
    rule = ThresholdGate(40, 0.6)
    failed = gate(TICTACTOE, weak, strong, rule, rng, batch=8)
    assert not failed.promote and failed.decision == ACCEPT_H0
    assert failed.match.games == rule.tally.games <= 40
    assert failed.match.name_a == "random" and failed.match.name_b == "minimax/9"
    capped = gate(TICTACTOE, strong, MinimaxPlayer(9, name="twin"), SPRT(0, 35, max_games=6),
                  rng, batch=4)  # fmt: skip
    assert capped.decision == INCONCLUSIVE and capped.match.games == 6 and not capped.promote


# -- ratings -------------------------------------------------------------------------------------

RATINGS = {"random": 0.0, "a": 250.0, "b": 500.0, "c": -150.0, "d": 900.0}


def test_fit_elo_recovers_ratings_from_expected_results():
    names = list(RATINGS)
    results = []
    for i, x in enumerate(names):
        for y in names[i + 1 :]:
            p = score_from_elo(RATINGS[x] - RATINGS[y])
            draws = 40 * min(p, 1 - p)  # exact shares of 100 games, some of them drawn
            results.append((x, y, 100 * p - draws / 2, draws, 100 * (1 - p) - draws / 2))
    fitted = fit_elo(results, anchor="random", prior_draws=0)
    assert fitted.keys() == RATINGS.keys()
    for name, elo in RATINGS.items():
        assert math.isclose(fitted[name], elo, abs_tol=1e-4)
    shifted = fit_elo(results, anchor="a", anchor_elo=1000.0, prior_draws=0)
    assert math.isclose(shifted["random"], 750.0, abs_tol=1e-4)


def test_fit_elo_recovers_ratings_from_sampled_games():
    rng = np.random.default_rng(7)
    names = list(RATINGS)
    results = []
    for i, x in enumerate(names[:-1]):  # a chain plus a few extra pairs
        for y in names[i + 1 : i + 3]:
            p = score_from_elo(RATINGS[x] - RATINGS[y])
            wins = int(rng.binomial(400, p))
            results.append((x, y, wins, 0, 400 - wins))
    fitted = fit_elo(results, anchor="random")
    for name, elo in RATINGS.items():
        assert abs(fitted[name] - elo) < 60, (name, fitted[name])


def test_fit_elo_refuses_what_it_cannot_rate():
    with pytest.raises(ValueError, match="link"):
        fit_elo([("a", "b", 3, 1, 2), ("c", "d", 2, 2, 2)], anchor="a")
    with pytest.raises(ValueError, match="infinite"):
        fit_elo([("a", "b", 5, 0, 0)], prior_draws=0)
    finite = fit_elo([("a", "b", 5, 0, 0)], anchor="b")
    assert 0 < finite["a"] < math.inf and finite["b"] == 0.0
