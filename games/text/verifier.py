"""Verifiers for arithmetic-puzzle answers written as text, safe against hostile text.

Two answer formats:

- **Steps** (Countdown, as in Stream of Search; our Game of 24): ``45-12=33,33+3=36,36*2=72``.
  Each step ``a op b=c`` combines two numbers still available (the puzzle's numbers plus the
  results of earlier steps, a multiset, each instance used once) with ``+``, ``*``,
  larger-minus-smaller or exact division; ``c`` must be the true result, every result is a
  non-negative integer, there are exactly ``len(numbers) - 1`` steps (so every number is used
  once) and the last result is the target. :func:`check_steps`, :func:`apply_step` (the single
  step rule, shared with the game's guided mode) and :func:`solve_steps`.
- **Expressions** (the Game of 24 as usually written): ``(1+2)*(3+5)``, ``8/(3-8/3)``. Binary
  ``+ - * /`` with the usual precedence, left associative, parentheses, exact rational
  arithmetic (negative and fractional intermediates allowed), each puzzle number used exactly
  once, value equal to the target. :func:`check_expression` and :func:`solvable_expression`.

Threat model. The text comes from a network being trained to win, or from another model, so it
is treated as hostile. Verifiers built on ``eval`` or a computer algebra system have accepted
``1.5*16`` for the numbers 1, 5, 16 (a decimal point glues two numbers into one), Python
operators such as ``//`` and ``**``, unary minus, numbers used twice or not at all, a bare
``24``, and could be made to hang or exhaust memory (``9**9**9``, ``'(' * 10000``, literals of
thousands of digits) or to run code (``__import__('os')``). Here a small hand-written parser
reads a fixed grammar of ASCII characters: the length is checked before anything is read, every
literal is canonical and at most ``max_digits`` long, nesting is at most ``MAX_DEPTH`` deep,
every intermediate value (numerator and denominator) stays within ``max_value``, so the work is
bounded by the length of the text. Anything else is a rejection with a reason, never an
exception. No ``eval``, ``ast``, regular expressions, global state or randomness.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterable, Sequence
from fractions import Fraction

MAX_TEXT = 256
"""Longest answer text looked at (characters); longer texts are rejected unread."""
MAX_DIGITS = 6
"""Longest number literal (digits)."""
MAX_VALUE = 10**9
"""Largest absolute intermediate value, numerator and denominator."""
MAX_DEPTH = 64
"""Deepest parenthesis nesting in an expression."""

OPERATORS = "+-*/"
UNDO = "<"
"""In a written search (``check_trace``): take back the last step still standing."""
_DIGITS = "0123456789"
_Token = tuple[str, int, int]  # (kind, index in the text, value): kind "num", an operator or ()=,


@dataclasses.dataclass(frozen=True)
class Verdict:
    """The verifier's decision on one answer; truthy when accepted, so ``if verdict:`` works."""

    accepted: bool
    reason: str = ""  # "" when accepted, else what is wrong, for logs and for people

    def __bool__(self) -> bool:
        return self.accepted


class _Rejected(Exception):
    """Internal: carries a rejection reason out of the tokenizer and parsers."""


# -- the step rule ---------------------------------------------------------------------------


def apply_step(a: int, op: str, b: int, *, max_value: int = MAX_VALUE) -> int | None:
    """``a op b`` under the step rules (``+``, ``*``, larger-minus-smaller, exact division), or
    None where the step is not allowed (negative, fractional, division by zero, above
    ``max_value``). The game's guided mode and :func:`check_steps` both use it, so they agree."""
    return _step_value(a, op, b, max_value)[0]


def _step_value(a: int, op: str, b: int, max_value: int) -> tuple[int | None, str]:
    """The result of one step and, when there is none, why."""
    if op == "+":
        value = a + b
    elif op == "-":
        if a < b:
            return None, "is negative (subtract the smaller number from the larger)"
        value = a - b
    elif op == "*":
        value = a * b
    elif op == "/":
        if b == 0:
            return None, "divides by zero"
        if a % b:
            return None, "is not a whole number"
        value = a // b
    else:
        return None, f"uses the unknown operator {op!a}"
    if value < 0:
        return None, "is negative"
    if value > max_value:
        return None, f"is {value}, above the limit {max_value}"
    return value, ""


# -- reading text ----------------------------------------------------------------------------


def _text_problem(text: object, max_text: int) -> str:
    """Why ``text`` cannot be read at all ("" if it can), decided before looking inside it."""
    if not isinstance(text, str):
        return f"the answer is a {type(text).__name__}, not a string"
    if len(text) > max_text:
        return f"the answer is {len(text)} characters long, over the limit of {max_text}"
    if not text.strip(" "):
        return "the answer is empty"
    return ""


def _tokenize(text: str, punctuation: str, max_digits: int) -> list[_Token]:
    """Tokens of ``text``: canonical ASCII numbers, operators and the allowed ``punctuation``;
    spaces are skipped, anything else raises :class:`_Rejected`."""
    tokens: list[_Token] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == " ":
            i += 1
        elif ch in _DIGITS:
            j = _number_end(text, i, max_digits)
            tokens.append(("num", i, int(text[i:j])))
            i = j
        elif ch in OPERATORS:
            if text[i + 1 : i + 2] == ch and ch in "*/":
                name = "power" if ch == "*" else "floor division"
                raise _Rejected(f"'{ch}{ch}' ({name}) at index {i} is not allowed")
            tokens.append((ch, i, 0))
            i += 1
        elif ch in punctuation:
            tokens.append((ch, i, 0))
            i += 1
        else:
            raise _Rejected(_bad_character(ch, i))
    return tokens


def _number_end(text: str, start: int, max_digits: int) -> int:
    """Index just past the number literal at ``start``, after checking that it is canonical
    and short (the digit limit stops the scan, so huge literals cost nothing)."""
    j = start
    while j < len(text) and text[j] in _DIGITS:
        j += 1
        if j - start > max_digits:
            raise _Rejected(f"the number at index {start} is longer than {max_digits} digits")
    if text[start] == "0" and j - start > 1:
        raise _Rejected(f"the number {text[start:j]} at index {start} has a leading zero")
    if text[j : j + 1] == ".":
        raise _Rejected(f"'.' at index {j}: decimal numbers are not allowed")
    return j


def _bad_character(ch: str, i: int) -> str:
    if ch == ".":
        return f"'.' at index {i}: decimal numbers are not allowed"
    if ch == "^":
        return f"'^' at index {i}: powers are not allowed"
    if ch in "()":
        return f"{ch!a} at index {i}: parentheses are not allowed in steps"
    if ch in "=,":
        return f"{ch!a} at index {i} is not allowed in an expression"
    if ch.isdigit():
        return f"the digit {ch!a} at index {i} is not allowed (ASCII digits 0-9 only)"
    return f"the character {ch!a} at index {i} is not allowed"


def _show(token: _Token) -> str:
    return str(token[2]) if token[0] == "num" else f"'{token[0]}'"


def _show_numbers(numbers: Iterable[int]) -> str:
    return ", ".join(str(n) for n in sorted(numbers)) or "nothing"


# -- steps -----------------------------------------------------------------------------------

_STEP_SHAPE = ("a number", "an operator", "a number", "'='", "a number")


def check_steps(
    text: str,
    numbers: Sequence[int],
    target: int,
    *,
    max_text: int = MAX_TEXT,
    max_digits: int = MAX_DIGITS,
    max_value: int = MAX_VALUE,
) -> Verdict:
    """Whether ``text`` (``"45-12=33,33+3=36,36*2=72"``) solves ``numbers`` -> ``target`` in
    steps. Every result is written as a literal, so results are bounded by
    ``min(max_value, 10**max_digits - 1)``."""
    steps = _read_steps(text, max_text, max_digits)
    if isinstance(steps, Verdict):
        return steps
    numbers = [int(n) for n in numbers]
    if len(steps) != len(numbers) - 1:
        found, needed = _count(len(steps), "step"), _count(len(numbers), "number")
        return Verdict(False, f"{found}, but {needed} need {len(numbers) - 1}")
    return _run_steps(steps, numbers, int(target), _step_limit(max_digits, max_value))


def check_step_prefix(
    text: str,
    numbers: Sequence[int],
    *,
    max_text: int = MAX_TEXT,
    max_digits: int = MAX_DIGITS,
    max_value: int = MAX_VALUE,
) -> Verdict:
    """Whether the complete steps ``text`` (``"45-12=33,33+3=36"``) are all legal on
    ``numbers``, with no demand on how many there are or where they end: the check a game runs
    as soon as a step is written, so a wrong step loses at once."""
    steps = _read_steps(text, max_text, max_digits)
    if isinstance(steps, Verdict):
        return steps
    if len(steps) > len(numbers) - 1:
        return Verdict(False, f"{_count(len(steps), 'step')} for {_count(len(numbers), 'number')}")
    limit = _step_limit(max_digits, max_value)
    return _run_steps(steps, [int(n) for n in numbers], None, limit)


def check_trace(
    text: str,
    numbers: Sequence[int],
    target: int,
    *,
    max_undos: int,
    max_text: int = MAX_TEXT,
    max_digits: int = MAX_DIGITS,
    max_value: int = MAX_VALUE,
) -> Verdict:
    """Whether the search written out in ``text`` ends in a solution: steps as in
    ``check_steps``, where ``UNDO`` (``<``, at the start of a step) takes back the last step
    still standing, at most ``max_undos`` times. Every step written must be legal where it was
    written, taken back or not; the steps left standing must solve ``numbers`` -> ``target``
    (``"45-12=33,<45+12=57,57-3=54,54+18=72"``)."""
    problem = _text_problem(text, max_text)
    if problem:
        return Verdict(False, problem)
    chunks = text.split(UNDO)
    if len(chunks) - 1 > max_undos:
        return Verdict(False, f"{_count(len(chunks) - 1, 'undo')}, over the limit of {max_undos}")
    standing: list[str] = []
    for i, chunk in enumerate(chunks[:-1], 1):
        if chunk and not chunk.endswith(","):
            return Verdict(False, f"undo {i} does not follow a finished step (after {chunk!r})")
        standing += chunk.removesuffix(",").split(",") if chunk else []
        if not standing:
            return Verdict(False, f"undo {i} has no step to take back")
        verdict = check_step_prefix(
            ",".join(standing), numbers, max_text=max_text, max_digits=max_digits,
            max_value=max_value,
        )  # fmt: skip
        if not verdict.accepted:
            return Verdict(False, f"before undo {i}: {verdict.reason}")
        standing.pop()
    if not chunks[-1] and len(chunks) > 1:
        return Verdict(False, "the answer ends with an undo, not a step")
    return check_steps(
        ",".join([*standing, chunks[-1]]), numbers, target, max_text=max_text,
        max_digits=max_digits, max_value=max_value,
    )  # fmt: skip


def _read_steps(
    text: str, max_text: int, max_digits: int
) -> list[tuple[int, str, int, int]] | Verdict:
    """The steps ``(a, op, b, c)`` of ``text``, or the rejection of text that is not steps."""
    problem = _text_problem(text, max_text)
    if problem:
        return Verdict(False, problem)
    try:
        return _parse_steps(_tokenize(text, "=,", max_digits))
    except _Rejected as rejection:
        return Verdict(False, str(rejection))


def _step_limit(max_digits: int, max_value: int) -> int:
    """The largest result a step may have: at most ``max_value`` and written in at most
    ``max_digits`` digits."""
    return max_value if len(str(max_value)) <= max_digits else 10**max_digits - 1


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _times(n: int) -> str:
    return {1: "once", 2: "twice"}.get(n, f"{n} times")


def _parse_steps(tokens: list[_Token]) -> list[tuple[int, str, int, int]]:
    """``(a, op, b, c)`` for each comma-separated step ``a op b=c``."""
    groups: list[list[_Token]] = [[]]
    for token in tokens:
        if token[0] == ",":
            groups.append([])
        else:
            groups[-1].append(token)
    return [_parse_step(k, group) for k, group in enumerate(groups, 1)]


def _parse_step(k: int, group: list[_Token]) -> tuple[int, str, int, int]:
    if not group:
        raise _Rejected(f"step {k} is empty")
    for token, expected in zip(group, _STEP_SHAPE, strict=False):  # group may be short
        kind = token[0]
        if expected == "a number":
            fits = kind == "num"
        elif expected == "an operator":
            fits = kind in OPERATORS
        else:
            fits = kind == "="
        if not fits:
            found = _show(token)
            raise _Rejected(f"step {k}: expected {expected} at index {token[1]}, found {found}")
    if len(group) < len(_STEP_SHAPE):
        raise _Rejected(f"step {k} is incomplete: expected {_STEP_SHAPE[len(group)]} next")
    if len(group) > len(_STEP_SHAPE):
        extra = group[len(_STEP_SHAPE)]
        raise _Rejected(
            f"step {k}: unexpected {_show(extra)} at index {extra[1]} after the result "
            "(steps are separated by ',')"
        )
    (_, _, a), (op, _, _), (_, _, b), _, (_, _, c) = group
    return a, op, b, c


def _run_steps(
    steps: list[tuple[int, str, int, int]], numbers: list[int], target: int | None, limit: int
) -> Verdict:
    """Plays the parsed steps on the multiset of ``numbers``; the last result must be
    ``target`` unless it is None."""
    available = Counter(numbers)
    result = None
    for k, (a, op, b, c) in enumerate(steps, 1):
        if available[a] < 1 or available[b] < 1 + (a == b):
            missing = a if available[a] < 1 else b
            twice = " twice" if a == b and available[a] == 1 else ""
            left = _show_numbers(available.elements())
            return Verdict(False, f"step {k}: {missing} is not available{twice} (left: {left})")
        available[a] -= 1
        available[b] -= 1
        result, why = _step_value(a, op, b, limit)
        if result is None:
            return Verdict(False, f"step {k}: {a}{op}{b} {why}")
        if c != result:
            return Verdict(False, f"step {k}: {a}{op}{b} is {result}, not {c}")
        available[result] += 1
    if target is not None and result != target:
        return Verdict(False, f"the last result is {result}, not the target {target}")
    return Verdict(True, "")


def solve_steps(
    numbers: Sequence[int],
    target: int,
    *,
    max_digits: int = MAX_DIGITS,
    max_value: int = MAX_VALUE,
) -> str | None:
    """One step answer that :func:`check_steps` (with the same limits) accepts, or None when
    there is none. Exhaustive depth-first search over multisets, remembering dead ends; for
    the problem generators, which keep only solvable puzzles."""
    limit = _step_limit(max_digits, max_value)
    start = tuple(sorted(int(n) for n in numbers))
    target = int(target)
    if len(start) < 2 or not 0 <= target <= limit or not all(0 <= n <= limit for n in start):
        return None
    path = _search(start, target, limit, set())
    return None if path is None else ",".join(path)


def _search(
    state: tuple[int, ...], target: int, limit: int, dead: set[tuple[int, ...]]
) -> list[str] | None:
    """Steps that take the sorted multiset ``state`` to exactly ``target``, or None."""
    if len(state) == 2:
        return _last_step(state[0], state[1], target, limit)
    if state in dead:
        return None
    n = len(state)
    for i in range(n - 1):
        if i and state[i] == state[i - 1]:
            continue  # the same pair of values as before
        for j in range(i + 1, n):
            if j > i + 1 and state[j] == state[j - 1]:
                continue
            rest = state[:i] + state[i + 1 : j] + state[j + 1 :]
            seen: set[int] = set()
            for x, op, y in _orders(state[i], state[j]):
                value = apply_step(x, op, y, max_value=limit)
                if value is None or value in seen:
                    continue
                seen.add(value)
                found = _search(tuple(sorted((*rest, value))), target, limit, dead)
                if found is not None:
                    return [f"{x}{op}{y}={value}", *found]
    dead.add(state)
    return None


def _orders(a: int, b: int) -> tuple[tuple[int, str, int], ...]:
    """The steps worth trying on ``a <= b``: only the larger minus the smaller, and division
    both ways (``a/b`` is exact only when ``a`` is 0 or equals ``b``)."""
    return ((b, "+", a), (b, "-", a), (b, "*", a), (b, "/", a), (a, "/", b))


def _last_step(a: int, b: int, target: int, limit: int) -> list[str] | None:
    """The final step on ``a <= b`` that gives ``target``."""
    for x, op, y in _orders(a, b):
        if apply_step(x, op, y, max_value=limit) == target:
            return [f"{x}{op}{y}={target}"]
    return None


# -- expressions -----------------------------------------------------------------------------


def check_expression(
    text: str,
    numbers: Sequence[int],
    target: int,
    *,
    max_text: int = MAX_TEXT,
    max_digits: int = MAX_DIGITS,
    max_value: int = MAX_VALUE,
) -> Verdict:
    """Whether the infix expression ``text`` (``"(1+2)*(3+5)"``) uses each of ``numbers``
    exactly once and equals ``target`` in exact rational arithmetic."""
    problem = _text_problem(text, max_text)
    if problem:
        return Verdict(False, problem)
    try:
        parser = _ExpressionParser(_tokenize(text, "()", max_digits), max_value)
        value = parser.parse()
    except _Rejected as rejection:
        return Verdict(False, str(rejection))
    problem = _usage_problem(parser.used, [int(n) for n in numbers])
    if problem or parser.error:
        return Verdict(False, problem or parser.error)
    if value != target:
        return Verdict(False, f"the expression is {value}, not the target {target}")
    return Verdict(True, "")


class _ExpressionParser:
    """Recursive descent over tokens, evaluating as it goes::

        expression = term {("+" | "-") term}
        term       = factor {("*" | "/") factor}
        factor     = number | "(" expression ")"

    Syntax errors raise :class:`_Rejected`. Arithmetic problems (division by zero, a value out
    of bounds) are kept in ``error`` and parsing goes on with the value None, so that a wrong
    use of the numbers, which is checked afterwards, is reported first.
    """

    def __init__(self, tokens: list[_Token], max_value: int):
        self.tokens, self.max_value = tokens, max_value
        self.index = self.depth = 0
        self.used: list[int] = []
        self.error = ""

    def parse(self) -> Fraction | None:
        value = self._expression()
        if self.index < len(self.tokens):
            raise _Rejected(self._unexpected(self.tokens[self.index]))
        return value

    def _peek(self) -> str:
        return self.tokens[self.index][0] if self.index < len(self.tokens) else ""

    def _expression(self) -> Fraction | None:
        value = self._term()
        while self._peek() in ("+", "-"):
            op = self.tokens[self.index]
            self.index += 1
            value = self._combine(value, op, self._term())
        return value

    def _term(self) -> Fraction | None:
        value = self._factor()
        while self._peek() in ("*", "/"):
            op = self.tokens[self.index]
            self.index += 1
            value = self._combine(value, op, self._factor())
        return value

    def _factor(self) -> Fraction | None:
        if self.index >= len(self.tokens):
            raise _Rejected("the expression ends early: expected a number or '('")
        kind, where, number = self.tokens[self.index]
        self.index += 1
        if kind == "num":
            self.used.append(number)
            return Fraction(number)
        if kind == "(":
            return self._parenthesized(where)
        if kind in ("+", "-"):
            raise _Rejected(f"unary '{kind}' at index {where} is not allowed")
        raise _Rejected(f"expected a number or '(' at index {where}, found '{kind}'")

    def _parenthesized(self, opening: int) -> Fraction | None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise _Rejected(f"parentheses nested deeper than {MAX_DEPTH} at index {opening}")
        if self._peek() == ")":
            raise _Rejected(f"empty parentheses at index {opening}")
        value = self._expression()
        if self._peek() != ")":
            if self.index >= len(self.tokens):
                raise _Rejected(f"unbalanced '(' at index {opening}: no matching ')'")
            raise _Rejected(self._unexpected(self.tokens[self.index]))
        self.index += 1
        self.depth -= 1
        return value

    def _unexpected(self, token: _Token) -> str:
        kind, where, _ = token
        if kind == ")":
            return f"unbalanced ')' at index {where}"
        if kind in ("num", "("):
            return f"missing operator before {_show(token)} at index {where} (no implicit *)"
        return f"unexpected {_show(token)} at index {where}"

    def _combine(
        self, left: Fraction | None, op: _Token, right: Fraction | None
    ) -> Fraction | None:
        """``left op right`` within the bounds, or None (with ``error`` set) when undefined."""
        if left is None or right is None:
            return None
        value = _rational_value(left, op[0], right, self.max_value)
        if value is None and not self.error:
            if op[0] == "/" and right == 0:
                self.error = f"division by zero at index {op[1]}"
            else:
                self.error = f"a value at index {op[1]} exceeds the limit {self.max_value}"
        return value


def _rational_value(a: Fraction, op: str, b: Fraction, max_value: int) -> Fraction | None:
    """``a op b`` in exact arithmetic, or None for division by zero or a value whose numerator
    or denominator is above ``max_value``."""
    if op == "+":
        value = a + b
    elif op == "-":
        value = a - b
    elif op == "*":
        value = a * b
    elif b == 0:
        return None
    else:
        value = a / b
    if abs(value.numerator) > max_value or value.denominator > max_value:
        return None
    return value


def _usage_problem(used: list[int], numbers: list[int]) -> str:
    """What is wrong with the numbers an expression uses ("" if each is used exactly once)."""
    have, want = Counter(used), Counter(numbers)
    for number, count in have.items():
        if want[number] == 0:
            return f"{number} is not one of the numbers ({_show_numbers(numbers)})"
        if count > want[number]:
            return f"{number} is used {_times(count)}, but the puzzle has it {_times(want[number])}"
    missing = list((want - have).elements())
    if missing:
        return f"not every number is used: {_show_numbers(missing)} left over"
    return ""


def solvable_expression(numbers: Sequence[int], target: int, *, max_value: int = MAX_VALUE) -> bool:
    """Whether some expression accepted by :func:`check_expression` (same ``max_value``) uses
    each of ``numbers`` once and equals ``target``. Values reachable from each sub-multiset,
    built up by size, then one look-up per split for the target: about 1 ms for four numbers,
    about 20 ms for five, 0.3 s for six (unreachable targets, numbers 1-13)."""
    values = [int(n) for n in numbers]
    goal = Fraction(target)
    if not values or abs(goal.numerator) > max_value or goal.denominator > max_value:
        return False
    if len(values) == 1:
        return values[0] == goal
    full = (1 << len(values)) - 1
    reach = _reachable(values, max_value)
    return any(
        _splits_reach(reach[part], reach[full ^ part], goal) for part in _splits(full, values)
    )


def _reachable(values: list[int], max_value: int) -> dict[int, set[Fraction]]:
    """For each proper non-empty subset (bit mask) of ``values``, every value in bounds that
    an expression over exactly those numbers can take."""
    full = (1 << len(values)) - 1
    reach: dict[int, set[Fraction]] = {}
    by_multiset: dict[tuple[int, ...], set[Fraction]] = {}
    for mask in sorted(range(1, full), key=lambda m: m.bit_count()):
        key = _multiset(mask, values)
        if key not in by_multiset:
            if len(key) == 1:
                by_multiset[key] = {Fraction(key[0])}
            else:
                out: set[Fraction] = set()
                for part in _splits(mask, values):
                    _combine_all(out, reach[part], reach[mask ^ part], max_value)
                by_multiset[key] = out
        reach[mask] = by_multiset[key]
    return reach


def _multiset(mask: int, values: list[int]) -> tuple[int, ...]:
    return tuple(sorted(v for i, v in enumerate(values) if mask >> i & 1))


def _splits(mask: int, values: list[int]) -> list[int]:
    """One side of each different way to split ``mask`` into two non-empty parts."""
    parts, seen = [], set()
    part = (mask - 1) & mask
    while part:
        rest = mask ^ part
        key = tuple(sorted((_multiset(part, values), _multiset(rest, values))))
        if part < rest and key not in seen:
            seen.add(key)
            parts.append(part)
        part = (part - 1) & mask
    return parts


def _combine_all(out: set[Fraction], left: set[Fraction], right: set[Fraction], bound: int) -> None:
    for a in left:
        for b in right:
            for value in (a + b, a - b, b - a, a * b, a / b if b else None, b / a if a else None):
                if value is None or value.denominator > bound or abs(value.numerator) > bound:
                    continue
                out.add(value)


def _splits_reach(left: set[Fraction], right: set[Fraction], goal: Fraction) -> bool:
    """Whether ``a op b`` or ``b op a`` is ``goal`` for some ``a`` in ``left``, ``b`` in
    ``right``: solves for ``b`` instead of trying every pair."""
    if len(left) > len(right):
        left, right = right, left
    for a in left:
        if a == 0:
            if goal == 0:
                return True  # 0 * b
            wanted = [goal, -goal]  # 0+b, b-0; 0-b
        else:
            wanted = [goal - a, a - goal, a + goal, goal / a, goal * a]  # a+b a-b b-a a*b b/a
            if goal:
                wanted.append(a / goal)  # a/b
        if any(b in right for b in wanted):
            return True
    return False
