"""The compiled rules of free-mode step tasks (``games/text/step_rules.py``) against the Python
rules they replace: the same states, field by field, after every move of many games, and the
same count of verifier calls."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import games
from games.base import IllegalActionError
from games.text.step_rules import MAX_NUMBERS, _reachable, solvable
from games.text.steps import StepTask, _available, _legal_steps
from games.text.steps import _reachable as python_reachable
from games.text.task import DECLINED, END, EOS, OVER, TextGame
from games.text.verifier import solve_steps

GAME24_CSV = Path(__file__).resolve().parents[2] / "shared" / "text" / "game24.csv"
FIELDS = ("tokens", "length", "answer_start", "legal", "verdict")


class OneDigit(StepTask):
    """Steps on one-digit numbers (``max_digits=1``, which no built-in task allows): every
    number written meets the digit limit."""

    name = "one_digit"

    def __init__(self):
        super().__init__(4, "free", 1, 9, 99)

    def sample_prompts(self, n: int, rng: np.random.Generator) -> list[str]:
        return ["1,2,3,4|24"] * n


def pair(spec: str | StepTask) -> tuple[TextGame, TextGame]:
    """The game ``spec`` (or a task) with its compiled rules, and the same task with the
    Python rules."""
    fast = games.make(spec) if isinstance(spec, str) else TextGame(spec)
    assert fast.rules is not None, spec
    return fast, TextGame(fast.task, compiled=False)


def step_both(fast: TextGame, slow: TextGame, states: np.ndarray, actions: np.ndarray, *,
              check: bool = True) -> np.ndarray:  # fmt: skip
    """One move with each game's rules: the states must come out the same (and the verifier
    calls), and legal moves of running games must never be left to the Python rules."""
    if check:
        status = fast.rules.apply_actions(states.copy(), actions)
        running = states["verdict"] == 0
        assert (status[running] != DECLINED).all() and (status[~running] == OVER).all()
    new, reference = (game.apply_actions(states, actions, check=check) for game in (fast, slow))
    for field in FIELDS:
        differ = np.flatnonzero((new[field] != reference[field]).reshape(len(new), -1).any(1))
        if len(differ):
            i = differ[0]
            raise AssertionError(
                f"{fast!r}: {field} differs in game {i} after {slow.render(states, i)!r} and "
                f"{slow.action_to_string(actions[i])!r}: compiled {new[field][i]}, "
                f"Python {reference[field][i]} ({slow.render(reference, i)})"
            )
    assert fast.verifier_calls == slow.verifier_calls
    return new


def random_policy(game: TextGame, rng: np.random.Generator, first: float = 0.0):
    """Plays a random legal character, or with probability ``first`` the first legal one
    (digits come first: long numbers and long answers)."""

    def choose(states: np.ndarray) -> np.ndarray:
        mask = game.legal_actions_mask(states)
        return np.array([np.flatnonzero(m)[0] if rng.random() < first
                         else rng.choice(np.flatnonzero(m)) for m in mask])  # fmt: skip

    return choose


def planned_policy(game: TextGame, rng: np.random.Generator, slip: float = 0.05):
    """Types whole legal steps on the numbers left, chosen at random (most of them steps after
    which the target can still be made), so that answers get deep; each character slips to a
    random legal one with probability ``slip``, and then the step goes on at random."""
    task, plans = game.task, {}

    def plan(states: np.ndarray, i: int) -> str:
        prompt, answer = game.prompt(states, i), game.answer(states, i)
        if answer and not answer.endswith(","):
            return ""
        numbers, target = StepTask.parse_prompt(prompt)
        done = tuple(answer.split(",")[:-1])
        left = _available(numbers, done)
        last = len(done) == len(numbers) - 2
        goal = target if rng.random() < 0.8 else None
        steps = sorted(_legal_steps(left, task.max_value, goal) or
                       _legal_steps(left, task.max_value, None))  # fmt: skip
        return (steps[rng.integers(len(steps))] + (END if last else ",")) if steps else ""

    def choose(states: np.ndarray) -> np.ndarray:
        mask = game.legal_actions_mask(states)
        actions = np.array([rng.choice(np.flatnonzero(m)) for m in mask])
        for i in np.flatnonzero(~game.is_terminal(states)):
            text = plans.get(i) or plan(states, i)
            if text and rng.random() >= slip and mask[i, game.encode(text[0])[0]]:
                actions[i], plans[i] = game.encode(text[0])[0], text[1:]
            else:
                plans[i] = ""
        return actions

    return choose


def play_both(fast: TextGame, slow: TextGame, states: np.ndarray, choose) -> np.ndarray:
    """Plays every game to its end with both rules, checking each move; the final states."""
    for _ in range(fast.spec.max_game_length + 1):
        if fast.is_terminal(states).all():
            return states
        states = step_both(fast, slow, states, choose(states))
    raise AssertionError(f"{fast!r}: games ran past max_game_length")


@pytest.fixture(scope="module", autouse=True)
def compiled_once():
    """Compiles the kernels (seconds, once; Numba caches them on disk) before any test."""
    game = games.make("countdown@k=3")
    game.apply_actions(game.states_from_prompts(["1,2,3|6"]), game.encode("1"))


SPECS = [
    "countdown@k=3",
    "countdown@k=3,reject=dead_end",
    "countdown@k=4",
    "countdown@k=4,reject=dead_end",
    "countdown@k=5",
    "countdown@k=5,reject=dead_end",
    "countdown@k=4,min_k=3,reject=dead_end",
    "countdown@k=5,min_k=3",
    "countdown@k=3,max_digits=2",  # answers hit the digit and length limits
    "countdown@k=3,max_digits=2,reject=dead_end",
    "countdown@k=4,max_digits=7,reject=dead_end",  # the solver's bound, 10**6 - 1, is lower
    f"game24@data={GAME24_CSV}",
    f"game24@data={GAME24_CSV},reject=dead_end,other_targets=0.5",
]


@pytest.mark.parametrize("spec", SPECS)
def test_compiled_rules_play_as_the_python_rules(spec):
    fast, slow = pair(spec)
    rng = np.random.default_rng(len(spec))
    n = 40
    states = fast.new_initial_states(n, rng)  # drawing problems is slow: each policy plays them
    finals = [
        play_both(fast, slow, states, choose)
        for choose in (
            random_policy(fast, rng),
            random_policy(fast, rng, first=0.5),
            planned_policy(fast, rng),
            planned_policy(fast, rng, slip=0.0),
        )
    ]
    verdicts = np.concatenate([final["verdict"] for final in finals])
    assert (verdicts == -1).any() and (verdicts != 0).all()
    assert (verdicts == 1).sum() >= 5, spec  # planned answers reach the target
    assert fast.verifier_calls == slow.verifier_calls >= 4 * n


@pytest.mark.parametrize(
    ("spec", "prompts"),
    [  # six numbers: dead ends need the solver on five
        ("countdown@k=6,max_digits=3,reject=dead_end",
         ["3,7,25,50,75,100|952", "1,2,3,4,5,6|719", "2,2,2,9,9,99|0", "5,5,5,5,5,5|625"]),
        # fewer numbers than k; zeros (division by zero); numbers too long to be written
        ("countdown@k=5,reject=dead_end", ["5,3|8", "1,1,1|3", "0,0,7,7,7|0", "0,9,3|0"]),
        (OneDigit(), ["1,2,3,4|24", "9,9,9,9|0", "12,3,4,5|7", "5,3|8"]),
        # results above 10**6 - 1, the bound of the solver that finds dead ends
        ("countdown@k=6,max_digits=7,reject=dead_end",
         ["1001,1000,2|1001002", "1001,1000,1000|1001", "999,999,3,2|1"]),
    ],
)  # fmt: skip
def test_hand_written_prompts(spec, prompts):
    fast, slow = pair(spec)
    rng = np.random.default_rng(6)
    play_both(fast, slow, fast.states_from_prompts(prompts * 4), planned_policy(fast, rng, 0.2))
    play_both(fast, slow, fast.states_from_prompts(prompts * 4), random_policy(fast, rng, 0.7))


def test_the_solver_matches_the_python_one():
    rng = np.random.default_rng(0)
    work = np.empty((MAX_NUMBERS, MAX_NUMBERS + 1), dtype=np.int64)
    for _ in range(3000):
        numbers = tuple(sorted(rng.integers(0, 30, rng.integers(1, 6)).tolist()))
        target, limit = int(rng.integers(0, 120)), int(rng.choice([9, 99, 999]))
        work[0, : len(numbers)] = numbers
        expected = python_reachable(numbers, target, limit)
        assert _reachable(work, len(numbers), target, limit) == expected, (numbers, target)


@pytest.mark.parametrize("n", range(2, MAX_NUMBERS + 1))
def test_batch_solvability_matches_solve_steps(n):
    """``solvable``, the filter that draws countdown problems, decides what ``solve_steps``
    decides, row by row."""
    rng = np.random.default_rng(n)
    rows = 300 if n <= 4 else 60
    numbers = rng.integers(0, 100 if n <= 4 else 20, (rows, n))
    targets = rng.integers(0, 200, rows)
    for max_value in (99, 9999):
        got = solvable(numbers, targets, max_value)
        want = [solve_steps(list(r), int(t), max_value=max_value) is not None
                for r, t in zip(numbers, targets, strict=True)]  # fmt: skip
        assert got.tolist() == want
    assert 0 < np.mean(want) < 1  # both answers occur
    with pytest.raises(ValueError, match="non-negative numbers"):
        solvable(-numbers, targets, 99)


def test_illegal_actions_and_finished_games_are_played_as_in_python():
    """``apply_actions`` raises for an illegal action before any rules run. With
    ``check=False`` (the search's calls, whose actions come from the mask) the compiled rules
    leave a row with an illegal action to the Python rules, whatever those make of it, even an
    exception; finished games are left as they are."""
    fast, slow = pair("countdown@k=3,reject=dead_end")
    prompts = ["12,45,3|68", "2,5,7|70", "1,2,3|6", "10,10,1|0"]
    states = fast.states_from_prompts(prompts)
    for game in (fast, slow):
        with pytest.raises(IllegalActionError, match="'=' is not a legal move"):
            game.apply_actions(states, fast.encode("1=23"))
    rng = np.random.default_rng(1)
    probe, raised, illegal = TextGame(fast.task, compiled=False), set(), 0
    for _ in range(300):
        legal = random_policy(fast, rng)(states)
        actions = np.where(rng.random(len(states)) < 0.3, rng.integers(-3, 24, len(states)), legal)
        mask = fast.legal_actions_mask(states)
        illegal += sum(not 0 <= a < 23 or not m[a] for a, m in zip(actions, mask, strict=True))
        try:
            probe.apply_actions(states, actions, check=False)
        except (ValueError, IndexError) as error:  # chars[23]; int("") on a broken step
            with pytest.raises(type(error)):
                fast.apply_actions(states, actions, check=False)
            raised.add(type(error))
            fast.verifier_calls = slow.verifier_calls  # the two stopped at different rows
            continue
        states = step_both(fast, slow, states, actions, check=False)
        if fast.is_terminal(states).all():
            states = fast.states_from_prompts(prompts)
    assert IndexError in raised and illegal > 100
    over = fast.states_from_prompts(["10,10,1|0"] * 2)
    over = step_both(fast, slow, over, fast.encode("$$"), check=False)  # END: verified at once
    assert (over["verdict"] == -1).all()
    for game in (fast, slow):  # finished: any action is ignored, even one out of range
        np.testing.assert_array_equal(game.apply_actions(over, np.array([23, -1]), check=False),
                                      over)  # fmt: skip


def test_a_full_answer_takes_no_more_characters():
    """``TextGame._write`` cuts what it writes to the room left: a full answer (verified as it
    is) whose verdict a hand-made state clears is verified again as it is."""
    fast, slow = pair("countdown@k=3,max_digits=2")
    rng = np.random.default_rng(2)
    states = play_both(fast, slow, fast.new_initial_states(80, rng), planned_policy(fast, rng, 0))
    full = states[states["length"] - states["answer_start"] == fast.task.max_answer_length]
    assert len(full) >= 5
    full["verdict"], full["legal"] = 0, True
    characters = rng.integers(EOS, fast.spec.num_actions, len(full))  # all are legal now
    again = step_both(fast, slow, full, characters)
    np.testing.assert_array_equal(again["tokens"], full["tokens"])


def test_answers_written_without_early_verdicts_go_on_as_in_python():
    """States whose earlier steps are wrong (written by a game without early verdicts) are
    judged from the numbers a Counter leaves, as ``early_verdict`` does."""
    fast, slow = pair("countdown@k=4,reject=dead_end")
    late = fast.without_early_verdicts()
    rng = np.random.default_rng(4)
    states = late.new_initial_states(200, rng)
    for _ in range(12):
        mask = late.legal_actions_mask(states)
        states = late.apply_actions(states, np.array([rng.choice(np.flatnonzero(m)) for m in mask]))
    states = states[~late.is_terminal(states)]
    assert len(states) > 100
    play_both(fast, slow, states, random_policy(fast, rng, first=0.3))
    # A number used that is not there: its count goes below zero, and the 5 made again by the
    # second step only brings it back to zero, so no step may begin with 5.
    written = {"5,3,2,1|10": "5+5=10,10-5=5,", "10,20,3,7|35": "10+20=31,31-3=28,"}
    states = np.concatenate([late.states_from_prompts([p]) for p in written])
    for i, answer in enumerate(written.values()):
        for char in answer:
            states[i : i + 1] = late.apply_actions(states[i : i + 1], late.encode(char))
    states = np.repeat(states, 20)
    actions = np.repeat(fast.encode("52"), 20)
    assert (step_both(fast, slow, states, actions)["verdict"] == [-1] * 20 + [0] * 20).all()
    play_both(fast, slow, states, random_policy(fast, rng))


def test_only_free_step_games_with_early_verdicts_compile():
    free = games.make("countdown@k=3")
    assert free.rules is not None and games.make(f"game24@data={GAME24_CSV}").rules is not None
    assert free.without_early_verdicts().rules is None
    assert TextGame(free.task, compiled=False).rules is None
    assert games.make("countdown@k=3,mode=guided").rules is None
    assert games.make("addition@digits=3").rules is None

    class Strict(type(free.task)):
        def allowed_next(self, prompt: str, answer: str) -> str:
            return super().allowed_next(prompt, answer).replace("0", "")

    assert TextGame(Strict(k=3)).rules is None  # its own rules: the Python path
