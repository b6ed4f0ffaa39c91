"""The per-move rules of free-mode step tasks (Countdown, Game of 24), compiled with Numba.

Self-play spends most of a text game's time in ``StepTask.allowed_next`` and
``StepTask.early_verdict`` after every move (tens of µs per game in Python). ``FreeStepRules``
plays a whole batch's move in one compiled call instead: it writes each action's character and
decides what ``TextGame._settle`` would, for a game with early verdicts: the legal mask of the
step grammar (``StepTask._free``), an early rejection (a step no accepted answer continues;
with ``reject=dead_end`` also one after which the target cannot be made), or a finished answer.
A finished answer is only flagged: the verifier stays the one judge of finished answers, and
runs in Python.

The kernels read the states' characters (ASCII codes, through lookup tables made from the
game's ``chars``) and follow the Python rules, which work on strings, function by function:
``_continues`` is ``StepTask._continues``, ``_reachable`` is ``steps._reachable`` (a depth-first
search as in ``verifier._search``) and ``_step_value`` is ``verifier.apply_step``. They decide
only the rows they understand, a legal action on an answer in the step grammar to a prompt
``numbers|target``; any other row (reachable only with ``apply_actions(check=False)`` or a
hand-made state) is left untouched for the Python rules. ``tests/test_step_rules.py`` checks
that both paths make the same states, move by move.
"""

from __future__ import annotations

import dataclasses

import numba
import numpy as np

from games.text.task import DECLINED, END, EOS, FINISHED, GOES_ON, OVER, REJECTED
from games.text.verifier import MAX_DIGITS, _step_limit

MAX_NUMBERS = 6
"""Most numbers a prompt may have (``StepTask``'s largest k): sizes the kernels' buffers."""
MAX_NUMBER_DIGITS = 18
"""Longest number the kernels read (prompts, operands and ``max_digits``): every value, and
the sum of two, stays within int64."""

_DIGIT_0 = ord("0")
_PLUS, _MINUS, _TIMES, _DIVIDE = (ord(c) for c in "+-*/")
_OPERATORS = np.array([_PLUS, _MINUS, _TIMES, _DIVIDE], dtype=np.int64)  # the order of "+-*/"
_EQUALS, _COMMA, _BAR, _END = ord("="), ord(","), ord("|"), ord(END)
_GRAMMAR = "0123456789+-*/=," + END  # the characters a free-mode answer is written with

# The characters allowed next, as bits: the grammar's classes (``StepTask._free``).
_ALLOW_DIGITS, _ALLOW_OPERATORS, _ALLOW_EQUALS, _ALLOW_COMMA, _ALLOW_END = 1, 2, 4, 8, 16


@dataclasses.dataclass(frozen=True, eq=False)
class FreeStepRules:
    """A free-mode ``StepTask``'s rules for one ``TextGame`` (``StepTask.compiled_rules``)."""

    token_chars: np.ndarray = dataclasses.field(repr=False)  # uint8 [256]: each token's
    # character (ASCII code; 0 for a special token or none)
    char_tokens: np.ndarray = dataclasses.field(repr=False)  # int64 [128]: each ASCII
    # character's token, -1 for none
    max_answer_length: int
    max_digits: int
    max_value: int  # the largest result a step may have (StepTask.max_value)
    reach_limit: int  # the bound on values when the solver looks for the target (_reachable)
    dead_ends: bool  # reject="dead_end"

    def apply_actions(self, states: np.ndarray, actions: np.ndarray) -> np.ndarray:
        """Plays ``actions`` (int64 ``[B]``) into ``states`` (a TextGame's, changed in place)
        and returns int8 ``[B]``: what happened to each row, one of ``OVER``, ``GOES_ON``,
        ``REJECTED`` (the caller counts the verifier call), ``FINISHED`` (written; the caller
        verifies) and ``DECLINED`` (untouched; the caller plays it in Python)."""
        status = np.empty(len(states), dtype=np.int8)
        _play(states["tokens"], states["length"], states["answer_start"], states["legal"],
              states["verdict"], np.ascontiguousarray(actions, dtype=np.int64),
              self.token_chars, self.char_tokens, self.max_answer_length, self.max_digits,
              self.max_value, self.reach_limit, self.dead_ends, status)  # fmt: skip
        return status


def free_step_rules(
    chars: str, max_answer_length: int, max_digits: int, max_value: int, dead_ends: bool
) -> FreeStepRules | None:
    """The compiled rules for a game whose token ``EOS + i`` is ``chars[i]``; None where the
    kernels cannot follow the Python rules (a number of more than ``MAX_NUMBER_DIGITS`` digits,
    or an alphabet without the grammar's characters)."""
    if not 1 <= max_digits <= MAX_NUMBER_DIGITS or not set(_GRAMMAR) <= set(chars):
        return None
    token_chars = np.zeros(256, dtype=np.uint8)  # any uint8 token can be looked up
    char_tokens = np.full(128, -1, dtype=np.int64)
    for i, c in enumerate(chars):
        if ord(c) < 128:  # the kernels read ASCII; other characters stay special (0)
            token_chars[EOS + i] = ord(c)
            char_tokens[ord(c)] = EOS + i
    return FreeStepRules(
        token_chars=token_chars,
        char_tokens=char_tokens,
        max_answer_length=max_answer_length,
        max_digits=max_digits,
        max_value=max_value,
        reach_limit=_step_limit(MAX_DIGITS, max_value),  # what solve_steps uses by default
        dead_ends=dead_ends,
    )


# The kernels take the state fields one by one, which makes for long argument lists that are
# laid out by hand.
# fmt: off


@numba.njit(cache=True)
def _step_value(a, op, b, limit):
    """``verifier.apply_step``: ``a op b`` under the step rules, or -1 where there is none
    (negative, fractional, division by zero, above ``limit``). A product is checked before it
    is taken, so that nothing overflows."""
    if op == _PLUS:
        value = a + b
    elif op == _MINUS:
        if a < b:
            return -1
        value = a - b
    elif op == _TIMES:
        if a != 0 and b > limit // a:
            return -1
        value = a * b
    else:
        if b == 0 or a % b != 0:
            return -1
        value = a // b
    return value if value <= limit else -1


@numba.njit(cache=True)
def _search(work, n, target, limit):
    """Whether steps on the ``n`` >= 2 numbers ``work[0, :n]`` can end at ``target``: depth
    first over every pair and every step worth trying on it (as ``verifier._search``). Row ``d``
    of ``work`` holds the numbers at depth ``d`` and, in its last column, the next (pair,
    step) to try there. A loop, not recursion: Numba's cache cannot hold recursive functions
    (numba/numba#6061)."""
    depth, work[0, MAX_NUMBERS] = 0, 0
    while depth >= 0:
        size = n - depth
        at = work[depth, MAX_NUMBERS]
        if at >= size * size * 4:
            depth -= 1  # every step tried here
            continue
        work[depth, MAX_NUMBERS] = at + 1
        i, j, order = at // (4 * size), at // 4 % size, at % 4
        if i >= j:
            work[depth, MAX_NUMBERS] = (i * size + i + 1) * 4  # on to the pair (i, i + 1)
            continue
        if order == 0 and size > 2:
            # The other numbers, one level down, once per pair: deeper levels leave them be.
            left = 0
            for t in range(size):
                if t != i and t != j:
                    work[depth + 1, left] = work[depth, t]
                    left += 1
        low, high = min(work[depth, i], work[depth, j]), max(work[depth, i], work[depth, j])
        # high+low, high-low, high*low, high/low. verifier._orders also tries low/high, but
        # that is exact only where low is 0 (as high*low) or equals high (as high/low).
        value = _step_value(high, _OPERATORS[order], low, limit)
        if value < 0:
            continue
        if size == 2:
            if value == target:
                return True
            continue
        work[depth + 1, size - 2] = value  # with this step's result
        depth += 1
        work[depth, MAX_NUMBERS] = 0
    return False


@numba.njit(cache=True)
def _reachable(work, n, target, limit):
    """``steps._reachable``: whether the ``n`` numbers ``work[0, :n]`` can end at ``target``
    (one number: whether it is the target), with values bounded as ``solve_steps`` bounds
    them."""
    if n == 1:
        return work[0, 0] == target
    if target > limit:
        return False
    for t in range(n):
        if work[0, t] > limit:
            return False
    return _search(work, n, target, limit)


@numba.njit(cache=True)
def _solvable(numbers, targets, limit, out):
    """``solve_steps(row, target) is not None`` for each row of ``numbers`` [M, n] and its
    target, values bounded by ``limit`` (as ``solve_steps`` bounds them), into ``out`` [M]."""
    work = np.empty((MAX_NUMBERS, MAX_NUMBERS + 1), dtype=np.int64)
    n = numbers.shape[1]
    for row in range(numbers.shape[0]):
        work[0, :n] = numbers[row]
        out[row] = n >= 2 and _reachable(work, n, targets[row], limit)


def solvable(numbers: np.ndarray, targets: np.ndarray, max_value: int) -> np.ndarray:
    """bool ``[M]``: whether steps on each row of ``numbers`` (``[M, n]``, 2 <= n <= 6,
    non-negative) can make its target (``[M]``), with results up to ``max_value``: what
    ``verifier.solve_steps(row, target, max_value=max_value)`` decides, for a whole batch of
    candidate problems in one compiled call."""
    numbers = np.ascontiguousarray(numbers, dtype=np.int64)
    if numbers.ndim != 2 or not 2 <= numbers.shape[1] <= MAX_NUMBERS or (numbers < 0).any():
        raise ValueError(f"solvable needs non-negative numbers [M, 2..{MAX_NUMBERS}]")
    out = np.empty(len(numbers), dtype=np.bool_)
    _solvable(numbers, np.ascontiguousarray(targets, dtype=np.int64),
              _step_limit(MAX_DIGITS, max_value), out)
    return out


@numba.njit(cache=True)
def _write_number(text, at, x):
    """Writes the decimal digits of ``x`` >= 0 into ``text`` at ``at``; returns the end."""
    digits, rest = 1, x // 10
    while rest:
        digits, rest = digits + 1, rest // 10
    for t in range(at + digits - 1, at - 1, -1):
        text[t] = _DIGIT_0 + x % 10
        x //= 10
    return at + digits


@numba.njit(cache=True)
def _continues(numbers, m, step, complete, goal, max_value, limit, text, work):
    """``StepTask._continues``: whether ``step`` (ASCII) is (``complete``) or begins one of the
    legal steps ``a op b=c`` on the ``m`` numbers ``numbers[:m]``, one after which ``goal`` can
    still be made unless it is -1. ``text`` and ``work`` are scratch space."""
    size = step.shape[0]
    for i in range(m):
        for j in range(m):
            if i == j:
                continue
            for op in _OPERATORS:
                value = _step_value(numbers[i], op, numbers[j], max_value)
                if value < 0:
                    continue
                end = _write_number(text, 0, numbers[i])
                text[end] = op
                end = _write_number(text, end + 1, numbers[j])
                text[end] = _EQUALS
                end = _write_number(text, end + 1, value)
                if end < size or (complete and end != size):
                    continue
                same = True
                for t in range(size):
                    if text[t] != step[t]:
                        same = False
                        break
                if not same:
                    continue
                if goal < 0:
                    return True
                left = 0  # the numbers after this step, for the solver
                for t in range(m):
                    if t != i and t != j:
                        work[0, left] = numbers[t]
                        left += 1
                work[0, left] = value
                if _reachable(work, left + 1, goal, limit):
                    return True
    return False


@numba.njit(cache=True)
def _decode(tokens, row, start, end, token_chars, text):
    """The characters of ``tokens[row, start:end]`` into ``text``; False if one is special."""
    for t in range(start, end):
        text[t - start] = token_chars[tokens[row, t]]
        if text[t - start] == 0:
            return False
    return True


@numba.njit(cache=True)
def _read_prompt(text, size, numbers):
    """The numbers (into ``numbers``) and target of the prompt ``12,45,3|68`` in
    ``text[:size]``: (how many numbers, target), or (-1, 0) for any other text."""
    count, value, digits, bar = 0, 0, 0, False
    for t in range(size):
        c = text[t]
        if _DIGIT_0 <= c <= _DIGIT_0 + 9:
            if digits == MAX_NUMBER_DIGITS:
                return -1, 0
            value, digits = 10 * value + (c - _DIGIT_0), digits + 1
        elif c in (_COMMA, _BAR) and digits > 0 and not bar and count < MAX_NUMBERS:
            numbers[count] = value
            count, value, digits, bar = count + 1, 0, 0, c == _BAR
        else:
            return -1, 0
    if not bar or digits == 0:
        return -1, 0
    return count, value


@numba.njit(cache=True)
def _digits_allowed(digits, value, max_digits):
    """``StepTask._digits``: whether a digit may extend a number of ``digits`` digits (none
    after a lone zero or at the limit)."""
    return not (digits == 1 and value == 0) and digits < max_digits


@numba.njit(cache=True)
def _settle(text, size, numbers, n, target, max_answer_length, max_digits, max_value, limit,
           dead_ends, steps, available, scratch, work):
    """What ``TextGame._settle`` decides for the answer ``text[:size]`` in free mode with
    early verdicts: (status, the characters allowed next as ``_ALLOW_*`` bits), DECLINED for
    an answer outside the step grammar."""
    if (size > 0 and text[size - 1] == _END) or size >= max_answer_length:
        return FINISHED, 0
    commas = 0
    for t in range(size):
        commas += text[t] == _COMMA
    if commas + 1 > n - 1:
        return FINISHED, 0  # more steps than the numbers allow: allowed_next says ""
    # Read the steps: "a op b=c", separated by ","; the last one may be unfinished.
    part, digits, value, begins, done = 0, 0, 0, 0, 0  # part: 0 a, 1 b, 2 c
    for t in range(size):
        c = text[t]
        if _DIGIT_0 <= c <= _DIGIT_0 + 9:
            if digits == MAX_NUMBER_DIGITS:
                return DECLINED, 0
            value, digits = 10 * value + (c - _DIGIT_0), digits + 1
            continue
        if part == 0:
            fits = c in (_PLUS, _MINUS, _TIMES, _DIVIDE)
        else:
            fits = c == (_EQUALS if part == 1 else _COMMA)
        if digits == 0 or not fits:
            return DECLINED, 0  # not the step grammar: the Python rules decide
        steps[done, part] = value
        part, digits, value = part + 1, 0, 0
        if part == 3:  # a step has ended
            steps[done, 3] = begins
            part, begins, done = 0, t + 1, done + 1
    allowed = _ALLOW_DIGITS if _digits_allowed(digits, value, max_digits) else 0
    if digits > 0 and part == 0:
        allowed |= _ALLOW_OPERATORS
    elif digits > 0 and part == 1:
        allowed |= _ALLOW_EQUALS
    elif digits > 0:
        allowed |= _ALLOW_END if done + 1 == n - 1 else _ALLOW_COMMA  # the last step ends
    if allowed == 0:
        return FINISHED, 0
    # The early verdict: the step just ended, or the one being written, must be (or begin) a
    # legal step on the numbers left, and with dead ends rejected one towards the target.
    complete = text[size - 1] == _COMMA
    k = done if complete else done + 1  # the step to check, counted from 1
    m = _available(numbers, n, steps, k - 1, available)
    if m < 0:
        return DECLINED, 0
    step = text[steps[k - 1, 3]:size - 1] if complete else text[begins:size]
    goal = target if k == n - 1 or dead_ends else -1
    if not _continues(available, m, step, complete, goal, max_value, limit, scratch, work):
        return REJECTED, 0
    return GOES_ON, allowed


@numba.njit(cache=True)
def _available(numbers, n, steps, done, out):
    """``steps._available``: the numbers left after the first ``done`` steps (rows a, b, c of
    ``steps``), kept in ``out``, as a Counter would (a count may go below zero; only those
    above zero are left); returns how many, or -1 when there are more than ``MAX_NUMBERS``."""
    values = np.empty(MAX_NUMBERS * 4, dtype=np.int64)
    counts = np.zeros(MAX_NUMBERS * 4, dtype=np.int64)
    kinds = 0
    for t in range(n + 3 * done):
        if t < n:
            value, change = numbers[t], 1
        else:
            part = (t - n) % 3
            value, change = steps[(t - n) // 3, part], (1 if part == 2 else -1)
        at = 0
        while at < kinds and values[at] != value:
            at += 1
        if at == kinds:
            values[at], kinds = value, kinds + 1
        counts[at] += change
    m = 0
    for at in range(kinds):
        for _ in range(counts[at]):
            if m == MAX_NUMBERS:
                return -1
            out[m] = values[at]
            m += 1
    out[:m].sort()
    return m


@numba.njit(cache=True)
def _play(tokens, length, answer_start, legal, verdict, actions, token_chars, char_tokens,
          max_answer_length, max_digits, max_value, limit, dead_ends, status):
    """Plays ``actions`` [B] into the state fields in place and writes each row's outcome
    into ``status`` [B] (see ``FreeStepRules.apply_actions``)."""
    b_size, t_size = tokens.shape
    num_actions = legal.shape[1]
    text = np.empty(t_size + 1, dtype=np.uint8)  # one row's prompt, then its answer
    numbers = np.empty(MAX_NUMBERS, dtype=np.int64)
    steps = np.empty((MAX_NUMBERS, 4), dtype=np.int64)  # a, b, c and where each step begins
    available = np.empty(MAX_NUMBERS, dtype=np.int64)
    scratch = np.empty(3 * MAX_NUMBER_DIGITS + 8, dtype=np.uint8)  # a candidate step
    work = np.empty((MAX_NUMBERS, MAX_NUMBERS + 1), dtype=np.int64)  # the solver's (_search)
    for row in range(b_size):
        status[row] = DECLINED
        if verdict[row] != 0:
            status[row] = OVER
            continue
        action, start, end = actions[row], answer_start[row], length[row]
        if (action < 0 or action >= num_actions or not legal[row, action]
                or token_chars[action] == 0 or not 2 <= start <= end <= t_size):
            continue  # an illegal action or an odd state: the Python rules play it
        if not _decode(tokens, row, 1, start - 1, token_chars, text):
            continue
        n, target = _read_prompt(text, start - 2, numbers)
        if n < 0 or not _decode(tokens, row, start, end, token_chars, text):
            continue
        size = end - start
        written = size < max_answer_length  # TextGame._write cuts the text to the room left
        if written and end == t_size:
            continue  # no token left for the character: only in a hand-made state
        if written:
            text[size] = token_chars[action]
            size += 1
        outcome, allowed = _settle(text, size, numbers, n, target, max_answer_length, max_digits,
                                  max_value, limit, dead_ends, steps, available, scratch, work)
        if outcome == DECLINED:
            continue
        status[row] = outcome
        if written:
            tokens[row, end] = action
            length[row] = end + 1
        if outcome == REJECTED:
            verdict[row] = -1
            legal[row, :] = True
        elif outcome == GOES_ON:
            legal[row, :] = False
            if allowed & _ALLOW_DIGITS:
                for d in range(10):
                    legal[row, char_tokens[_DIGIT_0 + d]] = True
            if allowed & _ALLOW_OPERATORS:
                for op in _OPERATORS:
                    legal[row, char_tokens[op]] = True
            for bit, c in ((_ALLOW_EQUALS, _EQUALS), (_ALLOW_COMMA, _COMMA), (_ALLOW_END, _END)):
                if allowed & bit:
                    legal[row, char_tokens[c]] = True
