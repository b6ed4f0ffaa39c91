"""Tests of the exact Connect Four solver (selfplay.solver, compiled selfplay._core).

Scores are checked against Pascal Pons' solved benchmark positions in shared/connect4 and
against a tiny pure-Python negamax on positions with few empty cells.
"""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from selfplay.solver import Connect4Solver, parse_moves

DATA_DIR = Path(__file__).resolve().parents[2] / "shared" / "connect4"
WIDTH, HEIGHT = 7, 6

# Every position of the easy sets, and a seeded sample of the harder ones, sized so that this
# file runs in about 25 s on 2 cores (Begin-Hard positions take seconds each to solve).
EASY_SETS = ["Test_L3_R1", "Test_L2_R1"]
SAMPLED_SETS = {"Test_L2_R2": 50, "Test_L1_R1": 50, "Test_L1_R2": 20, "Test_L1_R3": 2}

# 42 moves after which nobody has connected four.
DRAWN_FULL_BOARD = "562544631751167467766154327371213353254242"


def load_set(name: str) -> list[tuple[str, int]]:
    path = DATA_DIR / name
    if not path.is_file():
        pytest.skip(f"benchmark positions not found: {path} (shared/connect4 beside the repo)")
    pairs = []
    for line in path.read_text().splitlines():
        moves, score = line.split()
        pairs.append((moves, int(score)))
    return pairs


def sample_set(name: str, size: int) -> list[tuple[str, int]]:
    return random.Random(f"{name}-{size}").sample(load_set(name), size)


@pytest.fixture(scope="module")
def solver() -> Connect4Solver:
    """One solver for the module: its table persists across tests, as it would in real use."""
    return Connect4Solver()


# ------------------------------------------------------------- pure-Python reference solver

Columns = tuple[tuple[int, ...], ...]  # per column, the players (0 first) from the bottom up


def ref_wins(cols: Columns, col: int, player: int) -> bool:
    """Whether `player` dropping a stone in `col` connects four."""
    row = len(cols[col])

    def owned(c: int, r: int) -> bool:
        return 0 <= c < WIDTH and 0 <= r < len(cols[c]) and cols[c][r] == player

    for dc, dr in ((0, 1), (1, 0), (1, 1), (1, -1)):
        run = 1
        for sign in (1, -1):
            c, r = col + sign * dc, row + sign * dr
            while owned(c, r):
                run += 1
                c, r = c + sign * dc, r + sign * dr
        if run >= 4:
            return True
    return False


def ref_play(cols: Columns, col: int, player: int) -> Columns:
    return (*cols[:col], (*cols[col], player), *cols[col + 1 :])


def ref_score(cols: Columns, memo: dict[Columns, int]) -> int:
    """Exact score by memoised full-width negamax straight from the score's definition."""
    if cols in memo:
        return memo[cols]
    n = sum(map(len, cols))
    player = n % 2
    legal = [c for c in range(WIDTH) if len(cols[c]) < HEIGHT]
    if not legal:
        result = 0
    elif any(ref_wins(cols, c, player) for c in legal):
        result = (43 - n) // 2  # winning now is the fastest possible win
    else:
        result = max(-ref_score(ref_play(cols, c, player), memo) for c in legal)
    memo[cols] = result
    return result


def ref_analyze(cols: Columns, memo: dict[Columns, int]) -> list[int | None]:
    n = sum(map(len, cols))
    scores: list[int | None] = []
    for c in range(WIDTH):
        if len(cols[c]) == HEIGHT:
            scores.append(None)
        elif ref_wins(cols, c, n % 2):
            scores.append((43 - n) // 2)
        else:
            scores.append(-ref_score(ref_play(cols, c, n % 2), memo))
    return scores


def random_position(rng: random.Random, n_moves: int) -> tuple[str, Columns]:
    """A random game of `n_moves` moves in which nobody has won, mostly avoiding moves that
    let the opponent win at once so that the position is not trivially decided."""
    while True:
        cols: Columns = ((),) * WIDTH
        moves = ""
        for i in range(n_moves):
            player = i % 2
            legal = [
                c for c in range(WIDTH) if len(cols[c]) < HEIGHT and not ref_wins(cols, c, player)
            ]
            safe = [
                c
                for c in legal
                if not any(
                    len(child[d]) < HEIGHT and ref_wins(child, d, 1 - player)
                    for d in range(WIDTH)
                    for child in [ref_play(cols, c, player)]
                )
            ]
            pool = safe if safe and rng.random() < 0.9 else legal
            if not pool:
                break
            col = rng.choice(pool)
            cols = ref_play(cols, col, player)
            moves += str(col + 1)
        else:
            return moves, cols


def reference_positions() -> list[tuple[str, Columns]]:
    rng = random.Random(20240601)
    return [random_position(rng, rng.randint(28, 36)) for _ in range(80)]


# ------------------------------------------------------------------------------ benchmarks


@pytest.mark.parametrize("name", EASY_SETS)
def test_reproduces_every_score_of_easy_set(solver: Connect4Solver, name: str) -> None:
    positions = load_set(name)
    wrong = [(m, want, got) for m, want in positions if (got := solver.score(m)) != want]
    assert not wrong, f"{len(wrong)} of {len(positions)} wrong, e.g. {wrong[:5]}"


@pytest.mark.parametrize(("name", "size"), SAMPLED_SETS.items())
def test_reproduces_sampled_scores_of_hard_set(
    solver: Connect4Solver, name: str, size: int
) -> None:
    positions = sample_set(name, size)
    wrong = [(m, want, got) for m, want in positions if (got := solver.score(m)) != want]
    assert not wrong, f"{len(wrong)} of {len(positions)} wrong: {wrong}"


@pytest.mark.parametrize("name", ["Test_L3_R1", "Test_L2_R1", "Test_L2_R2", "Test_L1_R1"])
def test_analyze_agrees_with_score(solver: Connect4Solver, name: str) -> None:
    # analyze() solves every child, and the children of an opening position can be as hard as
    # Begin-Hard ones (one 5-move position takes 11 s): keep to positions with 10+ moves.
    positions = [(m, want) for m, want in load_set(name) if len(m) >= 10]
    for moves, want in random.Random(name).sample(positions, 15):
        scores = solver.analyze(moves)
        assert len(scores) == WIDTH
        assert max(s for s in scores if s is not None) == want == solver.score(moves), moves
        for col, s in enumerate(scores):
            child = moves + str(col + 1)
            if s is None:
                assert moves.count(str(col + 1)) == HEIGHT
            elif s != (43 - len(moves)) // 2:  # not an immediate win: minus the child's score
                assert -solver.score(child) == s, child


def test_small_table_gives_the_same_scores() -> None:
    """A 1024-entry table is overwritten all the time: bounds must still never mix positions."""
    small = Connect4Solver(log2_table_size=10)
    positions = sample_set("Test_L2_R2", 20) + sample_set("Test_L1_R1", 20)
    assert [small.score(m) for m, _ in positions] == [want for _, want in positions]


def test_reset_keeps_scores(solver: Connect4Solver) -> None:
    positions = sample_set("Test_L1_R1", 10)
    before = [solver.score(m) for m, _ in positions]
    solver.reset()
    assert [solver.score(m) for m, _ in positions] == before == [want for _, want in positions]


def test_concurrent_calls_give_correct_scores() -> None:
    """Calls release the GIL: two threads on two solvers and two threads on one solver."""
    positions = sample_set("Test_L2_R2", 20)
    shared = Connect4Solver(log2_table_size=16)
    own = [Connect4Solver(log2_table_size=16) for _ in range(2)]
    with ThreadPoolExecutor(4) as pool:
        results = [
            pool.submit(lambda s: [s.score(m) for m, _ in positions], s)
            for s in (shared, shared, *own)
        ]
        for result in results:
            assert result.result() == [want for _, want in positions]


# ------------------------------------------------------------------ reference cross-checks


def test_scores_match_reference_negamax(solver: Connect4Solver) -> None:
    memo: dict[Columns, int] = {}
    positions = reference_positions()
    immediate = 0
    for moves, cols in positions:
        n = len(moves)
        immediate += any(len(cols[c]) < HEIGHT and ref_wins(cols, c, n % 2) for c in range(WIDTH))
        assert solver.score(moves) == ref_score(cols, memo), moves
    # The sample covers both the immediate-win shortcut and real searches.
    assert 5 <= immediate <= len(positions) - 20


def test_analyze_matches_reference_negamax(solver: Connect4Solver) -> None:
    memo: dict[Columns, int] = {}
    for moves, cols in reference_positions()[:40]:
        assert solver.analyze(moves) == ref_analyze(cols, memo), moves


def test_immediate_win_and_full_board(solver: Connect4Solver) -> None:
    # The first player has three stones stacked in column 1 after 6 moves: it wins at once
    # with its 4th stone, worth 22 - 4.
    assert solver.score("121212") == 18
    assert solver.score(DRAWN_FULL_BOARD) == 0
    assert solver.analyze(DRAWN_FULL_BOARD) == [None] * WIDTH
    assert solver.score(DRAWN_FULL_BOARD[:-1]) == 0


# ------------------------------------------------------------------------------ validation


def test_parse_moves_accepts_strings_and_int_sequences() -> None:
    assert parse_moves("4453") == (3, 3, 4, 2)
    assert parse_moves([4, 4, 5, 3]) == parse_moves((4, 4, 5, 3)) == (3, 3, 4, 2)
    assert parse_moves("") == ()
    assert parse_moves("1212121", allow_won=True) == (0, 1, 0, 1, 0, 1, 0)


@pytest.mark.parametrize(
    ("moves", "message"),
    [
        ("44x3", r"bad character 'x' at move index 2"),
        ("4 4", r"bad character ' ' at move index 1"),
        ("44٣", r"bad character '٣' at move index 2"),  # a non-ASCII digit
        ([4, "4"], r"bad move '4' at move index 1"),
        ([4, 4.0], r"bad move 4.0 at move index 1"),
        ([4, True], r"bad move True at move index 1"),
        ("4480", r"column 8 out of range 1..7 at move index 2"),
        ("40", r"column 0 out of range 1..7 at move index 1"),
        ([4, -1], r"column -1 out of range 1..7 at move index 1"),
        ("1111111", r"column 1 is full at move index 6"),
        ("12121213", r"move index 7 comes after the game was won at move index 6"),
        ("1212121", r"already won \(at move index 6\)"),
        ("4455667", r"already won \(at move index 6\)"),  # horizontal
    ],
)
def test_invalid_moves_raise_value_error(
    solver: Connect4Solver, moves: str | list[object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        parse_moves(moves)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=message):
        solver.score(moves)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=message):
        solver.analyze(moves)  # type: ignore[arg-type]


def test_compiled_core_validates_too() -> None:
    """The private core must not trust its caller: bad input raises, never crashes."""
    from selfplay import _core

    core = _core.Connect4Solver(12)
    for columns in ([7], [-1], [0] * 7, [0, 1, 0, 1, 0, 1, 0], [0, 1, 0, 1, 0, 1, 0, 2]):
        with pytest.raises(ValueError, match=r"move index|already won"):
            core.score(columns)
    with pytest.raises(ValueError, match="log2_table_size"):
        _core.Connect4Solver(25)
    with pytest.raises(ValueError, match="log2_table_size"):
        Connect4Solver(log2_table_size=9)
