"""Arithmetic step answers (``45-12=33,33+3=36,36*2=72``), the format of Countdown and of our
Game of 24: each step combines two numbers still available with + * larger-minus-smaller or
exact division, until the last result equals the target.

Two rule modes, reported apart because only *free* is comparable with published work:

- ``free``: the mask enforces the grammar only (digits, an operator, ``=``, digits, ``,``; no
  leading zeros; ``k - 1`` steps). The network writes every operand and every digit of every
  result, so a wrong number or a wrong sum loses, at the character where it is written
  (``early_verdict``).
- ``guided``: operands are limited to numbers still available, an operator only where some
  operand makes a legal step, and the game writes each result itself after ``=``.

What free mode rejects early is the ``reject`` option: ``step`` (the default) a broken step or
a last step that misses the target; ``dead_end`` also any character after which the target
can no longer be made from the numbers left (a solver decides), so a planning mistake loses
where it is made, as an arithmetic one does. Finished answers get the verifier's verdict
either way; only what the search learns along the way differs.

``backtrack=N`` (free mode) lets an answer be a search written out, as Stream of Search's
models write theirs: at the start of a step, ``<`` takes back the last step still standing,
at most N times, and the steps left standing must solve the problem
(``45-12=33,<45+12=57,57-3=54,54+18=72``). A step after which the target cannot be made is then
no loss: the writer may notice and take it back. Every step written must still be legal.
"""

from __future__ import annotations

import copy
import functools
import itertools
from collections import Counter
from collections.abc import Sequence

import numpy as np

from games.text.step_rules import FreeStepRules, free_step_rules
from games.text.task import ALPHABET, END, TextTask
from games.text.verifier import UNDO, Verdict, apply_step, check_steps, check_trace, solve_steps

OPERATORS = "+-*/"
DIGITS = "0123456789"
MODES = ("free", "guided")
REJECT = ("step", "dead_end")
MAX_BACKTRACK = 64
_COMPILED = ("allowed_next", "early_verdict", "autocomplete", "parse_prompt", "_continues",
             "_free", "_digits")  # fmt: skip
"""The rules ``step_rules`` compiles: a subclass that changes one keeps the Python rules."""


class StepTask(TextTask):
    """Problems ``numbers|target`` (prompt ``"12,45,3,7|68"``) answered in steps.

    Subclasses set the problem distribution; this class holds the grammar, the guided rules
    and the verifier call. ``k`` is the most numbers a problem has (it sizes the prompt and
    the answer); each problem takes as many steps as its own numbers allow. ``max_digits``
    bounds every number written (and so every intermediate result: ``10**max_digits - 1``).
    ``reject``: what free mode rejects before the answer ends (see the module's docstring).
    ``backtrack``: how many steps a free answer may take back (``<``; 0: none).
    """

    def __init__(
        self,
        k: int,
        mode: str,
        max_digits: int,
        max_number: int,
        max_target: int,
        reject: str = "step",
        backtrack: int = 0,
    ):
        if mode not in MODES:
            raise ValueError(f"{self.name}: mode must be one of {MODES}, got {mode!r}")
        if reject not in REJECT:
            raise ValueError(f"{self.name}: reject must be one of {REJECT}, got {reject!r}")
        if reject != "step" and mode != "free":
            raise ValueError(f"{self.name}: reject={reject} needs mode=free")
        self.dead_ends = reject == "dead_end"
        if not isinstance(backtrack, int) or not 0 <= backtrack <= MAX_BACKTRACK:
            raise ValueError(
                f"{self.name}: backtrack (steps an answer may take back) must be an int "
                f"0..{MAX_BACKTRACK}, got {backtrack!r}"
            )
        if backtrack and (mode != "free" or self.dead_ends):
            # A dead end that loses at once leaves nothing to take back; guided steps are
            # written for the writer.
            raise ValueError(f"{self.name}: backtrack needs mode=free and reject=step")
        self.backtrack = backtrack
        if backtrack:
            self.alphabet = ALPHABET + UNDO
        if not isinstance(k, int) or not 2 <= k <= 6:
            raise ValueError(f"{self.name}: k (numbers per problem) must be 2..6, got {k!r}")
        if not isinstance(max_digits, int) or max_digits < len(str(max_number)):
            # Fewer digits than the prompt's numbers have: no problem could be drawn at all.
            raise ValueError(
                f"{self.name}: max_digits must be an int >= {len(str(max_number))} (problems "
                f"have numbers up to {max_number}), got {max_digits!r}"
            )
        self.k, self.mode, self.max_digits = k, mode, max_digits
        self.max_value = 10**max_digits - 1
        self.max_prompt_length = k * (len(str(max_number)) + 1) + len(str(max_target))
        # Every step: operand, operator, operand, "=", result, then "," or END; each undo
        # takes back one step, so at most k - 1 + backtrack steps are written.
        self.max_answer_length = (k - 1 + backtrack) * (3 * max_digits + 3) + backtrack

    def for_evaluation(self) -> StepTask:
        """Without ``reject=dead_end``: a solver's early rejections would steer an evaluation's
        search with the verifier (and cut short the answers it shows). Finished answers get the
        same verdicts either way."""
        if not self.dead_ends:
            return self
        task = copy.copy(self)
        task.dead_ends = False
        return task

    def describe(self) -> str:
        dead_ends = " (dead ends lose)" if self.dead_ends else ""
        backtrack = f", {self.backtrack} undos" if self.backtrack else ""
        return f"{self.name} {self.sizes()} {self.mode}{dead_ends}{backtrack}"

    def sizes(self) -> str:
        """The problem sizes, for ``describe``."""
        return f"k={self.k}"

    # -- problems ----------------------------------------------------------------------------
    @staticmethod
    def format_prompt(numbers, target: int) -> str:
        return ",".join(str(n) for n in numbers) + f"|{target}"

    @staticmethod
    @functools.lru_cache(maxsize=4096)
    def parse_prompt(prompt: str) -> tuple[tuple[int, ...], int]:
        """``"12,45,3|68"`` -> ((12, 45, 3), 68); cached: prompts repeat across a search."""
        numbers, _, target = prompt.partition("|")
        return tuple(int(n) for n in numbers.split(",")), int(target)

    @staticmethod
    def problem_keys(numbers: np.ndarray, targets: np.ndarray) -> np.ndarray:
        """uint64 ``[M]``: a stable hash of each problem (numbers ``[M, k]`` below 128, any
        order; targets ``[M]``), for splitting problems between training and testing."""
        packed = np.zeros(len(targets), dtype=np.uint64)
        for column in np.sort(numbers, axis=1).T:
            packed = (packed << np.uint64(7)) | column.astype(np.uint64)
        packed = (packed << np.uint64(8)) | targets.astype(np.uint64)
        return (packed * np.uint64(0x9E3779B97F4A7C15)) >> np.uint64(33)  # Fibonacci hashing

    # -- rules -------------------------------------------------------------------------------
    def compiled_rules(self, chars: str) -> FreeStepRules | None:
        """Free mode's rules compiled with Numba (``games/text/step_rules.py``); None in guided
        mode, or where a subclass changes the rules they follow."""
        if (
            self.mode != "free"
            or self.backtrack
            or any(getattr(type(self), name) is not getattr(StepTask, name) for name in _COMPILED)
        ):
            return None
        return free_step_rules(
            chars, self.max_answer_length, self.max_digits, self.max_value, self.dead_ends
        )

    def verify(self, prompt: str, answer: str) -> Verdict:
        numbers, target = self.parse_prompt(prompt)
        if self.backtrack:
            return check_trace(
                answer, numbers, target, max_undos=self.backtrack, max_digits=self.max_digits,
                max_text=self.max_answer_length,
            )  # fmt: skip
        return check_steps(answer, numbers, target, max_digits=self.max_digits)

    def early_verdict(self, prompt: str, answer: str) -> Verdict | None:
        """Free mode: the answer is rejected at the first character no accepted answer can
        follow within its step: an operand that is not a number still available, an illegal
        step, a wrong digit of a result, a last step that misses the target; with
        ``reject="dead_end"`` also a step after which the target cannot be made. A finished
        answer gets the same verdict this way as from the verifier at its end; the search just
        sees a mistake where it is made. Guided steps are right by construction."""
        if self.mode != "free" or not answer or answer.endswith((END, UNDO)):
            return None
        numbers, target = self.parse_prompt(prompt)
        standing, current, _ = _standing_steps(answer)
        complete = answer.endswith(",")  # then the step before the ',' has just ended
        if complete:
            *standing, current = standing
        k = len(standing) + 1
        last = k == len(numbers) - 1
        problem = self._step_problem(
            _available(numbers, tuple(standing)), current, complete, last, target
        )
        return None if problem is None else Verdict(False, f"step {k}: {problem}")

    def _step_problem(
        self, numbers: tuple[int, ...], step: str, complete: bool, last: bool, target: int
    ) -> str | None:
        """Why no accepted answer continues ``step`` (written so far, or ``complete``), or
        None: it must begin (or be) one of the legal steps on the (sorted) ``numbers``, and
        with dead ends rejected one after which the target can still be made."""
        if self._continues(numbers, step, complete, target if last or self.dead_ends else None):
            return None
        left = ", ".join(map(str, numbers))
        if self.dead_ends and not last and self._continues(numbers, step, complete, None):
            return f"the target {target} can no longer be made after {step} (numbers: {left})"
        goal = target if last else None
        begins = _step_prefixes(numbers, self.max_value, goal)
        a, op, rest = split_step(step)
        b, equals, result = rest.partition("=")
        if not op or f"{a}{op}" not in begins:
            goal = f" that makes the target {target}" if last else ""
            return f"no step{goal} begins {a}{op} (numbers left: {left})"
        if not equals or f"{a}{op}{b}=" not in begins:
            value = apply_step(int(a), op, int(b), max_value=self.max_value) if equals else None
            if last and value is not None:
                return f"{a}{op}{b} is {value}, and the last step must make the target {target}"
            return f"no legal step begins {a}{op}{b}{equals} (numbers left: {left})"
        value = apply_step(int(a), op, int(b), max_value=self.max_value)
        return f"{a}{op}{b} is {value}, not {result}"

    def is_training_problem(self, numbers: tuple[int, ...], target: int) -> bool:
        """Whether training may use this problem (hindsight relabelling asks); tasks whose
        target is fixed keep the default, no."""
        return False

    def hindsight(
        self, prompt: str, answer: str, rng: np.random.Generator
    ) -> tuple[str, str] | None:
        """An answer whose steps were all legal until the last one missed the target solves
        the same numbers with another target: the result of a last step on the two numbers
        left. Among the last steps that make a training problem, one that begins like the
        step written (the longest common beginning; drawn with ``rng`` among equals)."""
        numbers, target = self.parse_prompt(prompt)
        if self.backtrack:
            return None  # a written search: its last steps are no answer of their own
        *done, last = answer.removesuffix(END).split(",")
        if len(done) != len(numbers) - 2:
            return None  # rejected before the last step: nothing to relabel
        for i, step in enumerate(done):
            if step not in _legal_steps(_available(numbers, tuple(done[:i])), self.max_value, None):
                return None  # only reachable without early verdicts
        steps = [
            (step, value)
            for step in _legal_steps(_available(numbers, tuple(done)), self.max_value, None)
            if (value := int(step.partition("=")[2])) != target
            and self.is_training_problem(numbers, value)
        ]
        if not steps:
            return None
        shared = [_common_length(step, last) for step, _ in steps]
        best = [pair for pair, n in zip(steps, shared, strict=True) if n == max(shared)]
        step, value = best[rng.integers(len(best))] if len(best) > 1 else best[0]
        return self.format_prompt(numbers, value), ",".join([*done, step]) + END

    def legal_steps(self, numbers: Sequence[int], target: int | None = None) -> list[str]:
        """Every legal step ``"a op b=c"`` on ``numbers``, sorted; with ``target``, only those
        after which it can still be made (a last step: that make it)."""
        return sorted(_legal_steps(tuple(sorted(numbers)), self.max_value, target))

    @staticmethod
    def numbers_after(numbers: Sequence[int], steps: Sequence[str]) -> tuple[int, ...]:
        """The numbers left, sorted, after the legal ``steps`` on ``numbers``."""
        return _available(tuple(sorted(numbers)), tuple(steps))

    def _continues(
        self, numbers: tuple[int, ...], step: str, complete: bool, goal: int | None
    ) -> bool:
        """Whether ``step`` is (``complete``) or begins a legal step towards ``goal``."""
        if complete:
            return step in _legal_steps(numbers, self.max_value, goal)
        return step in _step_prefixes(numbers, self.max_value, goal)

    def allowed_next(self, prompt: str, answer: str) -> str:
        standing, current, undos = _standing_steps(answer)
        numbers, _ = self.parse_prompt(prompt)
        if len(standing) >= len(numbers) - 1:
            return ""  # more steps than numbers allow: only reachable by a broken grammar
        if self.mode == "free":
            allowed = self._free(current, last_step=len(standing) == len(numbers) - 2)
            if not current and standing and undos < self.backtrack:
                allowed += UNDO
            return allowed
        return self._guided(_available(numbers, standing), current)

    def autocomplete(self, prompt: str, answer: str) -> str:
        if self.mode != "guided" or not answer.endswith("="):
            return ""
        steps = answer.split(",")
        a, op, b = split_step(steps[-1][:-1])
        result = apply_step(int(a), op, int(b))
        last = len(steps) == len(self.parse_prompt(prompt)[0]) - 1
        return f"{result}{END if last else ','}"

    def _digits(self, number: str) -> str:
        """Digits that may extend ``number``: none after a leading zero or at the limit."""
        return "" if number == "0" or len(number) >= self.max_digits else DIGITS

    def _free(self, current: str, last_step: bool) -> str:
        a, op, b = split_step(current)
        if not op:
            return self._digits(a) + (OPERATORS if a else "")
        if "=" not in b:
            return self._digits(b) + ("=" if b else "")
        result = b.partition("=")[2]
        return self._digits(result) + ((END if last_step else ",") if result else "")

    def _guided(self, available: tuple[int, ...], current: str) -> str:
        """Characters towards a legal step's ``a op b=`` (the game writes the result)."""
        legal = _legal_steps(available, self.max_value, None)
        return _extensions(current, (t[: t.index("=") + 1] for t in legal))


@functools.lru_cache(maxsize=65536)
def _standing_steps(answer: str) -> tuple[tuple[str, ...], str, int]:
    """The complete steps still standing in ``answer`` (each ``UNDO`` takes back the last),
    the step being written, and the undos used: ``"3+5=8,8*2=16,<<3*5=1"`` -> ((), "3*5=1",
    2). Cached, as every character of a search asks again."""
    standing: list[str] = []
    current, undos = "", 0
    for item in answer.removesuffix(END).replace(UNDO, "," + UNDO + ",").split(","):
        if item == UNDO:
            if standing:  # the grammar offers an undo only where there is a step to take back
                standing.pop()
            undos += 1
        elif item:
            standing.append(item)
    if answer and not answer.endswith((",", UNDO, END)):
        current = standing.pop()
    return tuple(standing), current, undos


def split_step(step: str) -> tuple[str, str, str]:
    """``"45-12=33"`` -> ("45", "-", "12=33"); ``"45"`` -> ("45", "", "")."""
    for i, c in enumerate(step):
        if c in OPERATORS and i > 0:
            return step[:i], c, step[i + 1 :]
    return step, "", ""


def _common_length(a: str, b: str) -> int:
    """Characters that ``a`` and ``b`` begin with alike."""
    pairs = enumerate(zip(a, b, strict=False))
    return next((i for i, (x, y) in pairs if x != y), min(len(a), len(b)))


def _extensions(prefix: str, candidates) -> str:
    """Characters that extend ``prefix`` towards one of the ``candidates`` strings."""
    n = len(prefix)
    return "".join(sorted({c[n] for c in candidates if len(c) > n and c.startswith(prefix)}))


@functools.lru_cache(maxsize=65536)
def _legal_steps(numbers: tuple[int, ...], max_value: int, target: int | None) -> frozenset[str]:
    """Every legal step ``"a op b=c"`` on the multiset ``numbers`` (sorted); when ``target`` is
    given, only those after which it can still be made (a last step: that make it). Cached, as
    the same multisets recur all over a search."""
    steps = set()
    for i, j in itertools.permutations(range(len(numbers)), 2):
        for op in OPERATORS:
            value = apply_step(numbers[i], op, numbers[j], max_value=max_value)
            if value is None:
                continue
            step = f"{numbers[i]}{op}{numbers[j]}={value}"
            if target is None or _reachable(_available(numbers, (step,)), target, max_value):
                steps.add(step)
    return frozenset(steps)


@functools.lru_cache(maxsize=65536)
def _reachable(numbers: tuple[int, ...], target: int, max_value: int) -> bool:
    """Whether steps on the sorted multiset ``numbers`` can end at ``target`` (one number:
    whether it is the target)."""
    if len(numbers) == 1:
        return numbers[0] == target
    return solve_steps(numbers, target, max_value=max_value) is not None


@functools.lru_cache(maxsize=65536)
def _step_prefixes(numbers: tuple[int, ...], max_value: int, target: int | None) -> frozenset[str]:
    """Every non-empty beginning of a legal step (see ``_legal_steps``): the happy path of the
    early verdict is one lookup."""
    steps = _legal_steps(numbers, max_value, target)
    return frozenset(step[:n] for step in steps for n in range(1, len(step) + 1))


@functools.lru_cache(maxsize=65536)
def _available(numbers: tuple[int, ...], complete_steps: tuple[str, ...]) -> tuple[int, ...]:
    """The numbers left after ``complete_steps`` (already checked by the mask), sorted; cached,
    as every character of a step asks again."""
    left = Counter(numbers)
    for step in complete_steps:
        a, _, rest = split_step(step)
        b, _, result = rest.partition("=")
        left[int(a)] -= 1
        left[int(b)] -= 1
        left[int(result)] += 1
    return tuple(sorted((+left).elements()))
