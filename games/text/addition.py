"""d-digit addition with the answer written least significant digit first (``"123+456"`` ->
``"975"``): the order in which carries are computed, so a small network can learn it. A quick
check that tokenizer, network, search and learner work together."""

from __future__ import annotations

import numpy as np

from games.text.task import END, TextTask
from games.text.verifier import Verdict

DIGITS = "0123456789"


class Addition(TextTask):
    """Two numbers of up to ``digits`` digits; the answer is their sum, digits reversed."""

    name = "addition"
    version = 1
    alphabet = DIGITS + "+"

    def __init__(self, digits: int = 3):
        if not isinstance(digits, int) or not 1 <= digits <= 12:
            raise ValueError(f"addition: digits must be 1..12, got {digits!r}")
        self.digits = digits
        self.max_prompt_length = 2 * digits + 1
        self.max_answer_length = digits + 2  # the sum's digits, then END

    def describe(self) -> str:
        return f"addition digits={self.digits}"

    def sample_prompts(self, n: int, rng: np.random.Generator) -> list[str]:
        pairs = rng.integers(0, 10**self.digits, size=(n, 2))
        return [f"{a}+{b}" for a, b in pairs.tolist()]

    def allowed_next(self, prompt: str, answer: str) -> str:
        return (DIGITS if len(answer) <= self.digits else "") + (END if answer else "")

    def verify(self, prompt: str, answer: str) -> Verdict:
        expected = _reversed_sum(prompt)
        if answer == expected:
            return Verdict(True, "")
        return Verdict(False, f"expected {expected!r} (the sum reversed), got {answer!r}")

    def early_verdict(self, prompt: str, answer: str) -> Verdict | None:
        """A wrong digit loses where it is written."""
        expected = _reversed_sum(prompt)
        if expected.startswith(answer.removesuffix(END)):
            return None
        return Verdict(False, f"{answer!r} is not how {expected!r} (the sum reversed) begins")


def _reversed_sum(prompt: str) -> str:
    left, _, right = prompt.partition("+")
    return str(int(left) + int(right))[::-1]
