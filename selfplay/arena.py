"""The arena: matches between players, the statistics that judge them, gates and ratings.

    result = play_match(game, a, b, num_games=100, rng=rng, opening_plies=4)
    result.score, result.score_interval(), result.elo_interval(), result.as_first
    decision = gate(game, candidate, best, SPRT(elo0=0, elo1=35), rng)
    ratings = fit_elo([("net", "random", 90, 4, 6), ...], anchor="random")

Matches are between two players of a two-player game. Games are played in lockstep batches
(each player moves in all the games where it is to move with one ``act`` call) in pairs: both
games of a pair start from the same random opening, one with A as player 0 (moving first from
the initial state) and one with A as player 1, so neither colour nor opening favours a side.
One-player games have ``solve_rate`` instead.

Scores count a win 1, a draw 1/2 and a loss 0; Elo differences are logistic,
``score = 1 / (1 + 10 ** (-elo / 400))``.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Hashable, Sequence
from statistics import NormalDist
from typing import Literal, Protocol

import numpy as np

from games.base import Game, IllegalActionError
from selfplay.players import Player

__all__ = [
    "ACCEPT_H0",
    "ACCEPT_H1",
    "CONTINUE",
    "INCONCLUSIVE",
    "SPRT",
    "GameRecord",
    "GateResult",
    "GateRule",
    "MatchResult",
    "Tally",
    "ThresholdGate",
    "elo_from_score",
    "elo_interval",
    "fit_elo",
    "gate",
    "play_match",
    "score_from_elo",
    "score_interval",
    "solve_rate",
]

# -- records -----------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Tally:
    """Wins, draws and losses from one side's view."""

    wins: int = 0
    draws: int = 0
    losses: int = 0

    @property
    def games(self) -> int:
        return self.wins + self.draws + self.losses

    @property
    def score(self) -> float:
        """(wins + draws / 2) / games; nan before any game."""
        return (self.wins + 0.5 * self.draws) / self.games if self.games else math.nan

    def __add__(self, other: Tally) -> Tally:
        return Tally(self.wins + other.wins, self.draws + other.draws, self.losses + other.losses)

    def __str__(self) -> str:
        return f"+{self.wins} ={self.draws} -{self.losses}"


@dataclasses.dataclass(frozen=True)
class GameRecord:
    """One finished game of a match."""

    moves: tuple[int, ...]  # every action from the initial state, the opening's included
    opening_plies: int  # how many of ``moves`` were the random opening
    seat_a: int  # the player index A played: 0 moved first from the initial state
    result_a: float  # A's return at the end, in [-1, 1]: > 0 a win, 0 a draw, < 0 a loss


@dataclasses.dataclass(frozen=True)
class MatchResult:
    """The games of a match between players A and B, judged from A's side."""

    name_a: str
    name_b: str
    records: tuple[GameRecord, ...]

    def _tally(self, seat: int | None = None) -> Tally:
        results = [r.result_a for r in self.records if seat is None or r.seat_a == seat]
        wins = sum(r > 0 for r in results)
        losses = sum(r < 0 for r in results)
        return Tally(wins, len(results) - wins - losses, losses)

    @property
    def tally(self) -> Tally:
        """A's wins, draws and losses over all games."""
        return self._tally()

    @property
    def as_first(self) -> Tally:
        """A's results in the games where A was player 0."""
        return self._tally(0)

    @property
    def as_second(self) -> Tally:
        """A's results in the games where A was player 1."""
        return self._tally(1)

    @property
    def wins(self) -> int:
        return self.tally.wins

    @property
    def draws(self) -> int:
        return self.tally.draws

    @property
    def losses(self) -> int:
        return self.tally.losses

    @property
    def games(self) -> int:
        return len(self.records)

    @property
    def score(self) -> float:
        """A's score: (wins + draws / 2) / games."""
        return self.tally.score

    def score_interval(self, confidence: float = 0.95) -> tuple[float, float]:
        """Wilson interval of A's score (see ``score_interval``)."""
        t = self.tally
        return score_interval(t.wins, t.draws, t.losses, confidence)[1:]

    def elo_interval(self, confidence: float = 0.95) -> tuple[float, float, float]:
        """A's Elo difference over B and its interval (see ``elo_interval``)."""
        t = self.tally
        return elo_interval(t.wins, t.draws, t.losses, confidence)

    def __add__(self, other: MatchResult) -> MatchResult:
        """Both matches' games; the players must be the same."""
        if (self.name_a, self.name_b) != (other.name_a, other.name_b):
            raise ValueError(
                f"cannot add the games of {other.name_a} vs {other.name_b} to "
                f"{self.name_a} vs {self.name_b}"
            )
        return MatchResult(self.name_a, self.name_b, self.records + other.records)

    def summary(self, confidence: float = 0.95) -> str:
        """One line for a table: games, results, score and Elo with their intervals."""
        if not self.games:
            return f"{self.name_a} vs {self.name_b}: no games"
        low, high = self.score_interval(confidence)
        elo, elo_low, elo_high = self.elo_interval(confidence)
        return (
            f"{self.name_a} vs {self.name_b}: {self.games} games {self.tally} "
            f"(first {self.as_first}, second {self.as_second}) score {self.score:.3f} "
            f"[{low:.3f}, {high:.3f}] Elo {elo:+.0f} [{elo_low:+.0f}, {elo_high:+.0f}]"
        )


# -- playing -----------------------------------------------------------------------------------


def _random_openings(
    game: Game, count: int, plies: int, rng: np.random.Generator
) -> tuple[np.ndarray, list[list[int]]]:
    """``count`` positions after ``plies`` uniformly random moves from initial states, none of
    them finished (an opening that ends the game is drawn again), with their move lists."""
    states = np.zeros(count, dtype=game.state_dtype)
    histories: list[list[int]] = [[] for _ in range(count)]
    redo = np.arange(count)
    for _ in range(100):
        fresh = game.new_initial_states(len(redo), rng)
        moves = np.zeros((len(redo), plies), dtype=np.int64)
        for ply in range(plies):
            done = game.is_terminal(fresh)
            mask = game.legal_actions_mask(fresh)
            choice = np.where(mask, rng.random(mask.shape), -1.0).argmax(axis=1)
            moves[:, ply] = np.where(done, -1, choice)
            fresh = game.apply_actions(fresh, choice, check=False)
        states[redo] = fresh
        for i, b in enumerate(redo):
            histories[b] = [int(m) for m in moves[i]]
        redo = redo[game.is_terminal(fresh)]
        if len(redo) == 0:
            return states, histories
    raise ValueError(
        f"{game.spec.name}: random openings of {plies} plies keep ending the game; use fewer"
    )


def _play_out(
    game: Game,
    players: Sequence[Player],
    seats: np.ndarray,
    states: np.ndarray,
    histories: list[list[int]] | None,
    rng: np.random.Generator,
) -> np.ndarray:
    """Plays every game of ``states`` ``[G]`` to its end and returns the final states.
    ``seats[g, p]`` is the index in ``players`` of the one playing player ``p`` in game ``g``;
    each player moves in all the games where it is to move with one ``act`` call. The moves
    are appended to ``histories`` (when given) as they are played."""
    states = states.copy()
    for _ in range(game.spec.max_game_length + 1):
        live = np.flatnonzero(~game.is_terminal(states))
        if len(live) == 0:
            return states
        movers = seats[live, game.current_player(states[live])]
        actions = np.empty(len(live), dtype=np.int64)
        for k, player in enumerate(players):
            mine = np.flatnonzero(movers == k)
            if len(mine) == 0:
                continue
            games_ = live[mine]
            sub = states[games_]
            chosen = player.act(
                game, sub, rng, None if histories is None else [histories[g] for g in games_]
            )
            actions[mine] = _checked_actions(game, player, sub, chosen)
        states[live] = game.apply_actions(states[live], actions, check=False)
        if histories is not None:
            for g, action in zip(live, actions, strict=True):
                histories[g].append(int(action))
    raise RuntimeError(
        f"{game.spec.name}: games still running past spec.max_game_length="
        f"{game.spec.max_game_length}"
    )


def _checked_actions(game: Game, player: Player, states: np.ndarray, chosen) -> np.ndarray:
    """``chosen`` as int64 ``[B]``; raises naming ``player`` when it is not a legal move each."""
    chosen = np.asarray(chosen)
    if chosen.shape != (len(states),) or not np.issubdtype(chosen.dtype, np.integer):
        raise ValueError(
            f"{player.name}: act must return integer actions of shape ({len(states)},), "
            f"got {chosen.dtype} {chosen.shape}"
        )
    chosen = chosen.astype(np.int64)
    in_range = (chosen >= 0) & (chosen < game.spec.num_actions)
    legal = (
        in_range
        & game.legal_actions_mask(states)[np.arange(len(states)), np.where(in_range, chosen, 0)]
    )
    if not legal.all():
        i = int(np.flatnonzero(~legal)[0])
        raise IllegalActionError(
            game.spec.name,
            int(chosen[i]),
            i,
            game.render(states, i),
            f"played by {player.name}",
        )
    return chosen


def play_match(
    game: Game,
    player_a: Player,
    player_b: Player,
    num_games: int,
    rng: np.random.Generator,
    *,
    opening_plies: int = 0,
    batch_size: int | None = None,
) -> MatchResult:
    """Plays ``num_games`` (even) games of a two-player game between A and B.

    Games come in pairs from the same opening, ``opening_plies`` uniformly random moves from
    the initial state (0: none; openings that end the game are drawn again), A playing player 0
    in the first game of each pair and player 1 in the second: record ``2k`` has A as player 0,
    ``2k + 1`` as player 1. With deterministic players the openings are the only variety.
    ``batch_size`` (even; default: all) games are played at once. An illegal move raises
    ``IllegalActionError`` naming the player who made it.
    """
    if game.spec.num_players != 2:
        raise ValueError(
            f"{game.spec.name} is a {game.spec.num_players}-player game; matches are for "
            "two-player games (use solve_rate for one-player games)"
        )
    if not isinstance(num_games, int) or num_games < 0 or num_games % 2:
        raise ValueError(
            f"num_games must be an even int >= 0 (pairs with swapped colours), got {num_games!r}"
        )
    if not isinstance(opening_plies, int) or opening_plies < 0:
        raise ValueError(f"opening_plies must be an int >= 0, got {opening_plies!r}")
    batch_size = num_games if batch_size is None else batch_size
    if not isinstance(batch_size, int) or batch_size < 2 or batch_size % 2:
        raise ValueError(f"batch_size must be an even int >= 2, got {batch_size!r}")
    records: list[GameRecord] = []
    for start in range(0, num_games, batch_size):
        pairs = min(batch_size, num_games - start) // 2
        openings, opening_moves = _random_openings(game, pairs, opening_plies, rng)
        states = np.repeat(openings, 2)
        histories = [list(opening_moves[g // 2]) for g in range(2 * pairs)]
        seat_a = np.tile([0, 1], pairs)
        seats = np.stack([seat_a, 1 - seat_a], axis=1)  # seats[g, p]: 0 = A, 1 = B
        final = _play_out(game, (player_a, player_b), seats, states, histories, rng)
        returns = game.returns(final)
        records.extend(
            GameRecord(tuple(histories[g]), opening_plies, int(seat_a[g]),
                       float(returns[g, seat_a[g]]) + 0.0)  # -0.0 (draws) to 0.0
            for g in range(2 * pairs)
        )  # fmt: skip
    return MatchResult(player_a.name, player_b.name, tuple(records))


def play_alone(
    game: Game,
    player: Player,
    states: np.ndarray,
    rng: np.random.Generator,
    *,
    histories: Sequence[Sequence[int]] | None = None,
) -> np.ndarray:
    """The final states of the one-player games ``states`` ``[B]`` played to their end by
    ``player``. ``histories`` (the moves that led to each state, when known) are passed on to
    the player and extended as it plays."""
    if game.spec.num_players != 1:
        raise ValueError(f"{game.spec.name} has two players; play_alone is for one-player games")
    lists = None if histories is None else [list(h) for h in histories]
    seats = np.zeros((len(states), 1), dtype=np.int64)
    return _play_out(game, (player,), seats, states, lists, rng)


def solve_rate(
    game: Game,
    player: Player,
    states: np.ndarray,
    rng: np.random.Generator,
    *,
    histories: Sequence[Sequence[int]] | None = None,
) -> float:
    """Share of the one-player games ``states`` ``[B]`` that ``player`` finishes with a
    positive return (``play_alone``)."""
    if game.spec.num_players != 1:
        raise ValueError(f"solve_rate is for one-player games; {game.spec.name} has two players")
    if len(states) == 0:
        return math.nan
    final = play_alone(game, player, states, rng, histories=histories)
    return float((game.returns(final)[:, 0] > 0).mean())


# -- statistics --------------------------------------------------------------------------------


def _z(confidence: float) -> float:
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    return NormalDist().inv_cdf(0.5 + confidence / 2)


def score_interval(
    wins: float, draws: float, losses: float, confidence: float = 0.95
) -> tuple[float, float, float]:
    """(score, low, high): the score and its Wilson score interval, draws counted as half a
    win. Wilson's interval uses the Bernoulli variance score * (1 - score), which draws only
    lower, so with many draws it is conservative; unlike the plain normal interval it never
    collapses to a point (all wins, all draws). Scores and bounds are nan before any game."""
    n = wins + draws + losses
    if n <= 0:
        return math.nan, math.nan, math.nan
    p = (wins + 0.5 * draws) / n
    z = _z(confidence)
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z / denominator * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return p, max(0.0, centre - half), min(1.0, centre + half)


def elo_from_score(score: float) -> float:
    """The logistic Elo difference that expects ``score``: 400 log10(score / (1 - score));
    +inf at score 1 and -inf at 0."""
    if not 0 <= score <= 1:
        raise ValueError(f"score must be in [0, 1], got {score}")
    if score == 1:
        return math.inf
    if score == 0:
        return -math.inf
    return 400.0 * math.log10(score / (1.0 - score))


def score_from_elo(elo: float) -> float:
    """The expected score of a player ``elo`` points stronger: 1 / (1 + 10 ** (-elo / 400))."""
    return 1.0 / (1.0 + 10.0 ** (-elo / 400.0))


def elo_interval(
    wins: float, draws: float, losses: float, confidence: float = 0.95
) -> tuple[float, float, float]:
    """(elo, low, high): the Elo difference of the score and of its Wilson interval's ends
    (``score_interval``). The estimate is infinite after only wins or only losses; the
    interval's ends stay finite."""
    score, low, high = score_interval(wins, draws, losses, confidence)
    if math.isnan(score):
        return math.nan, math.nan, math.nan
    return elo_from_score(score), elo_from_score(low), elo_from_score(high)


# -- gates -------------------------------------------------------------------------------------

ACCEPT_H1 = "accept H1"  # the candidate is better: promote it
ACCEPT_H0 = "accept H0"  # it is not: keep the best
CONTINUE = "continue"  # play more games
INCONCLUSIVE = "inconclusive"  # the cap on games came first


class GateRule(Protocol):
    """Decides from a stream of the candidate's results whether it beats the best player."""

    max_games: int | None  # the cap on games; None: none

    @property
    def tally(self) -> Tally: ...

    def update(self, wins: int = 0, draws: int = 0, losses: int = 0) -> None:
        """Adds the candidate's results of some more games (one game at a time is fine)."""

    def status(self) -> str:
        """ACCEPT_H1, ACCEPT_H0, CONTINUE, or INCONCLUSIVE once max_games are played."""
        ...


_SCORES = (1.0, 0.5, 0.0)  # win, draw, loss


def _constrained_mle(freqs: Sequence[float], score: float) -> tuple[float, float, float]:
    """The trinomial (win, draw, loss) distribution of mean ``score`` nearest to ``freqs`` (all
    positive) in likelihood: p_k = f_k / (1 + theta (a_k - score)) with theta the root of
    sum_k f_k (a_k - s) / (1 + theta (a_k - s)) = 0, which falls strictly between -1 / (1 - s)
    and 1 / s, where every p_k stays positive (Newton's method, kept inside that bracket by
    bisection). Van den Bergh's GSPRT, as fishtest computes it. Plain floats: it runs after
    every game."""
    x = [a - score for a in _SCORES]
    low, high = -1.0 / x[0], -1.0 / x[2]
    theta = 0.0
    for _ in range(200):
        g = slope = 0.0
        for f, xk in zip(freqs, x, strict=True):
            term = xk / (1.0 + theta * xk)
            g += f * term
            slope -= f * term * term
        if g > 0:
            low = theta
        else:
            high = theta
        step = theta - g / slope if slope < 0 else math.nan
        new = step if low < step < high else 0.5 * (low + high)
        done = abs(new - theta) <= 1e-13 * max(1.0, abs(theta))
        theta = new
        if done:
            break
    p = [f / (1.0 + theta * xk) for f, xk in zip(freqs, x, strict=True)]
    total = sum(p)
    return p[0] / total, p[1] / total, p[2] / total


class SPRT:
    """Sequential probability ratio test of H0: the candidate is ``elo0`` stronger, against
    H1: it is ``elo1`` stronger (logistic Elo), with error rates ``alpha`` (accepting H1 under
    H0) and ``beta`` (accepting H0 under H1), as fishtest and Leela Zero gate.

    The log-likelihood ratio is the generalised (GSPRT) one for win/draw/loss results: each
    hypothesis's trinomial is the one of its expected score most likely to give the observed
    frequencies (zero counts count as 0.001 there, as fishtest regularises). The test accepts
    H1 when the ratio passes log((1 - beta) / alpha), H0 when it falls below
    log(beta / (1 - alpha)), and is INCONCLUSIVE once ``max_games`` (None: no cap) are
    played. Defaults: Leela Zero's gate, elo0 = 0, elo1 = 35, 5% errors, at most 400 games.
    """

    def __init__(
        self,
        elo0: float = 0.0,
        elo1: float = 35.0,
        alpha: float = 0.05,
        beta: float = 0.05,
        max_games: int | None = 400,
    ):
        if not elo0 < elo1:
            raise ValueError(f"elo0 must be below elo1, got {elo0} and {elo1}")
        if not (0 < alpha < 1 and 0 < beta < 1 and alpha + beta < 1):
            raise ValueError(
                f"alpha and beta must be in (0, 1) with a sum below 1: {alpha}, {beta}"
            )
        if max_games is not None and max_games < 1:
            raise ValueError(f"max_games must be >= 1 or None, got {max_games}")
        self.elo0, self.elo1, self.alpha, self.beta = elo0, elo1, alpha, beta
        self.max_games = max_games
        self.lower = math.log(beta / (1 - alpha))
        self.upper = math.log((1 - beta) / alpha)
        self._counts = [0, 0, 0]  # wins, draws, losses

    @property
    def tally(self) -> Tally:
        return Tally(*self._counts)

    def update(self, wins: int = 0, draws: int = 0, losses: int = 0) -> None:
        if min(wins, draws, losses) < 0:
            raise ValueError(f"counts must be >= 0, got {wins}, {draws}, {losses}")
        self._counts = [
            c + int(k) for c, k in zip(self._counts, (wins, draws, losses), strict=True)
        ]

    def llr(self) -> float:
        """The log-likelihood ratio of H1 over H0 after the games so far."""
        counts = self._counts
        if sum(counts) == 0:
            return 0.0
        regular = [c if c > 0 else 1e-3 for c in counts]
        freqs = [c / sum(regular) for c in regular]
        p0 = _constrained_mle(freqs, score_from_elo(self.elo0))
        p1 = _constrained_mle(freqs, score_from_elo(self.elo1))
        return sum(c * math.log(b / a) for c, a, b in zip(counts, p0, p1, strict=True) if c > 0)

    def status(self) -> str:
        llr = self.llr()
        if llr >= self.upper:
            return ACCEPT_H1
        if llr <= self.lower:
            return ACCEPT_H0
        if self.max_games is not None and sum(self._counts) >= self.max_games:
            return INCONCLUSIVE
        return CONTINUE

    def __repr__(self) -> str:
        return (
            f"SPRT(elo0={self.elo0}, elo1={self.elo1}, alpha={self.alpha}, beta={self.beta}, "
            f"{self.tally}, llr={self.llr():.3f} in [{self.lower:.3f}, {self.upper:.3f}])"
        )


class ThresholdGate:
    """alpha-zero-general's gate: after ``games`` games the candidate is accepted when its
    score reaches ``threshold``. ``draws="half"`` scores draws as half a win;
    ``draws="ignore"`` is alpha-zero-general's own rule, wins / (wins + losses), rejecting
    a match without decisive games. It decides as soon as the remaining games cannot change
    the outcome, so it never needs more than ``games`` games and often fewer."""

    def __init__(
        self, games: int = 40, threshold: float = 0.6, draws: Literal["half", "ignore"] = "half"
    ):
        if not isinstance(games, int) or games < 1:
            raise ValueError(f"games must be an int >= 1, got {games!r}")
        if not 0 <= threshold <= 1:
            raise ValueError(f"threshold must be in [0, 1], got {threshold}")
        if draws not in ("half", "ignore"):
            raise ValueError(f"draws must be 'half' or 'ignore', got {draws!r}")
        self.max_games = games
        self.threshold = threshold
        self.draws = draws
        self._tally = Tally()

    @property
    def tally(self) -> Tally:
        return self._tally

    def update(self, wins: int = 0, draws: int = 0, losses: int = 0) -> None:
        if min(wins, draws, losses) < 0:
            raise ValueError(f"counts must be >= 0, got {wins}, {draws}, {losses}")
        self._tally += Tally(wins, draws, losses)

    def _accepts(self, t: Tally) -> bool:
        if self.draws == "ignore":
            decisive = t.wins + t.losses
            return decisive > 0 and t.wins / decisive >= self.threshold
        return t.score >= self.threshold

    def status(self) -> str:
        left = self.max_games - self._tally.games
        if left <= 0:
            return ACCEPT_H1 if self._accepts(self._tally) else ACCEPT_H0
        # Each outcome only rises with a better result, so the extremes bound every ending.
        best = self._accepts(self._tally + Tally(wins=left))
        worst = self._accepts(self._tally + Tally(losses=left))
        if best == worst:
            return ACCEPT_H1 if best else ACCEPT_H0
        return CONTINUE

    def __repr__(self) -> str:
        return f"ThresholdGate({self.max_games}, {self.threshold}, draws={self.draws!r})"


@dataclasses.dataclass(frozen=True)
class GateResult:
    decision: str  # ACCEPT_H1, ACCEPT_H0 or INCONCLUSIVE
    match: MatchResult  # every game played, from the candidate's side

    @property
    def promote(self) -> bool:
        """Whether the candidate replaces the best player: only when H1 was accepted."""
        return self.decision == ACCEPT_H1


def gate(
    game: Game,
    candidate: Player,
    best: Player,
    rule: GateRule,
    rng: np.random.Generator,
    *,
    batch: int = 40,
    opening_plies: int = 0,
) -> GateResult:
    """Plays ``candidate`` against ``best`` in matches of ``batch`` (even) games, feeding each
    batch's results to ``rule`` until it decides or its cap is reached. A rule decides between
    batches, so a smaller batch stops sooner after the evidence is in; the last batch is cut to
    the games the cap leaves (rounded up to a pair)."""
    if not isinstance(batch, int) or batch < 2 or batch % 2:
        raise ValueError(f"batch must be an even int >= 2, got {batch!r}")
    match = MatchResult(candidate.name, best.name, ())
    while (decision := rule.status()) == CONTINUE:
        size = batch
        if rule.max_games is not None:
            left = rule.max_games - rule.tally.games
            size = min(batch, left + left % 2)
        result = play_match(game, candidate, best, size, rng, opening_plies=opening_plies)
        rule.update(result.wins, result.draws, result.losses)
        match = match + result
    return GateResult(decision, match)


# -- ratings -----------------------------------------------------------------------------------


def fit_elo(
    results: Sequence[tuple[Hashable, Hashable, float, float, float]],
    *,
    anchor: Hashable | None = None,
    anchor_elo: float = 0.0,
    prior_draws: float = 1.0,
    tolerance: float = 1e-9,
    max_iterations: int = 100_000,
) -> dict[Hashable, float]:
    """Logistic Elo ratings of every player from match results ``(i, j, wins_i, draws,
    wins_j)`` (players named by anything hashable; a pair may appear more than once).

    Bradley-Terry with draws as half a win each, fitted by Hunter's MM iteration; ``anchor``
    (default: the first player named) is set to ``anchor_elo``. ``prior_draws`` virtual draws
    are added to every pair that played, which keeps a player who won or lost every game at a
    finite rating (0: the plain maximum-likelihood fit, which then does not exist). Raises
    ValueError for players not linked to the anchor by games, or a fit that does not converge.
    """
    names: list[Hashable] = []
    index: dict[Hashable, int] = {}
    for i, j, *_ in results:
        for who in (i, j):
            if who not in index:
                index[who] = len(names)
                names.append(who)
    if not names:
        return {} if anchor is None else {anchor: anchor_elo}
    anchor = names[0] if anchor is None else anchor
    if anchor not in index:
        raise ValueError(f"anchor {anchor!r} played no game")
    if prior_draws < 0:
        raise ValueError(f"prior_draws must be >= 0, got {prior_draws}")
    n = len(names)
    games = np.zeros((n, n))
    points = np.zeros(n)
    for i, j, wins_i, draws, wins_j in results:
        if min(wins_i, draws, wins_j) < 0:
            raise ValueError(f"negative counts in {(i, j, wins_i, draws, wins_j)}")
        a, b = index[i], index[j]
        if a == b:
            raise ValueError(f"{i!r} cannot play itself")
        total = wins_i + draws + wins_j
        games[a, b] += total
        games[b, a] += total
        points[a] += wins_i + 0.5 * draws
        points[b] += wins_j + 0.5 * draws
    played = games > 0
    games += prior_draws * played
    points += 0.5 * prior_draws * played.sum(axis=1)

    linked = _linked(played, index[anchor])
    if not linked.all():
        cut = [names[k] for k in np.flatnonzero(~linked)]
        raise ValueError(f"no games link {cut} to the anchor {anchor!r}")
    if ((points <= 0) | (points >= games.sum(axis=1))).any():
        k = int(np.flatnonzero((points <= 0) | (points >= games.sum(axis=1)))[0])
        raise ValueError(
            f"{names[k]!r} won or lost every game, so its rating is infinite; use prior_draws > 0"
        )

    log_gamma = np.zeros(n)
    for _ in range(max_iterations):
        gamma = np.exp(log_gamma)
        denominator = (games / (gamma[:, None] + gamma[None, :])).sum(axis=1)
        new = np.log(points / denominator)
        new -= new[index[anchor]]
        change = np.abs(new - log_gamma).max()
        log_gamma = new
        if change < tolerance:
            break
    else:
        raise ValueError(
            f"ratings did not converge in {max_iterations} iterations (a group of players that "
            "won or lost every game against the others?); use prior_draws > 0"
        )
    elo = anchor_elo + 400.0 / math.log(10.0) * log_gamma
    return {name: float(elo[k]) for k, name in enumerate(names)}


def _linked(played: np.ndarray, start: int) -> np.ndarray:
    """bool ``[n]``: which players a chain of games links to ``start``."""
    seen = np.zeros(len(played), dtype=bool)
    seen[start] = True
    frontier = [start]
    while frontier:
        k = frontier.pop()
        for other in np.flatnonzero(played[k] & ~seen):
            seen[other] = True
            frontier.append(int(other))
    return seen
