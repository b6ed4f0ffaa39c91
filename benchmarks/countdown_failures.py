"""Why a countdown network's greedy answers fail: each test answer the network writes alone is
solved or put in one class, by the first step that went wrong, so that the next change aims at
the mistakes that are made most. A dead end left standing is the first mistake even where a
later step breaks a rule too.

- ``operand``: a number that is not left (never given, or already used);
- ``operation``: numbers that are left, but no legal step on them (a negative difference, an
  inexact division, a result over the digit limit);
- ``arithmetic``: a legal step with a wrong digit in its result;
- ``dead end``: every step right, but the steps left standing had made the target unreachable
  before the last one (a planning mistake, not taken back);
- ``last step``: the target could still be made, and the last step missed it;
- ``other``: none of these (an answer that stopped short).

With ``backtrack`` games it also counts the steps taken back (``<``) and how many of the dead
ends written were taken back.

    python benchmarks/countdown_failures.py RUN/checkpoint.pt --game countdown@k=4 --limit 1000
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from rich.console import Console
from rich.table import Table

import games
from games.text.steps import StepTask, split_step
from games.text.task import END
from games.text.verifier import UNDO
from selfplay.players import NetworkPlayer
from selfplay.text_eval import decode

sys.path.insert(0, str(Path(__file__).resolve().parent))
from report import machine_facts, print_checkpoint_rows, save_report

ROOT = Path(__file__).resolve().parents[1]
CLASSES = ("solved", "operand", "operation", "arithmetic", "dead end", "last step", "other")
EXAMPLES = 3  # answers kept per class and split in the JSON, for reading


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkpoints", nargs="+", help="countdown networks' checkpoint files")
    parser.add_argument("--game", required=True, help="the game to decode, e.g. countdown@k=4")
    parser.add_argument("--splits", nargs="+", default=None, help="test splits (all)")
    parser.add_argument("--limit", type=int, default=1000, help="problems per split (1000)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (0)")
    parser.add_argument(
        "--out", type=Path, default=ROOT / "benchmarks/results/countdown_failures.json",
        help="JSON report (benchmarks/results/countdown_failures.json)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    if args.limit < 1:
        parser.error("--limit must be at least 1")
    return args


@dataclasses.dataclass(frozen=True)
class Mistake:
    """Where a rejected answer first went wrong: the step (as written, cut short where the
    rules stopped it), where it begins in the answer, the numbers left before it, the steps
    taken back before it, and its class (one of ``CLASSES`` but solved)."""

    kind: str
    start: int
    step: str
    left: tuple[int, ...]
    undos: int


def classify(task: StepTask, prompt: str, answer: str) -> tuple[str, int, int]:
    """The class of ``answer`` to ``prompt`` (one of ``CLASSES``), the steps it took back, and
    how many of the dead ends it wrote (legal steps after which the target could not be made)
    it took back."""
    mistake, undos, dead_ends_undone = _replay(task, prompt, answer)
    return ("solved" if mistake is None else mistake.kind), undos, dead_ends_undone


def first_mistake(task: StepTask, prompt: str, answer: str) -> Mistake | None:
    """Where ``answer`` first went wrong (None when it is accepted): the first step left
    standing after which the target could not be made, else the step the rules rejected."""
    return _replay(task, prompt, answer)[0]


def _replay(task: StepTask, prompt: str, answer: str) -> tuple[Mistake | None, int, int]:
    """Replays ``answer`` step by step, undoing a step at each ``<``: its first mistake, the
    steps it took back, and the dead ends among them."""
    numbers, target = task.parse_prompt(prompt)
    accepted = answer.endswith(END) and task.verify(prompt, answer[:-1])
    standing: list[Mistake] = []  # per step standing: the step, and how it was written
    dead: list[bool] = []  # per standing step: whether it left the target unreachable
    undos = dead_ends_undone = 0
    mistake = here = None
    for start, item, complete in _items(answer.removesuffix(END)):
        if item == UNDO:
            standing.pop()
            undos += 1
            dead_ends_undone += dead.pop()
            continue
        left = task.numbers_after(numbers, [s.step for s in standing])
        here = Mistake("", start, item, left, undos)
        problem = step_problem(task, left, item, complete)
        if problem is not None:
            mistake = dataclasses.replace(here, kind=problem)
            break
        if not complete:
            break
        standing.append(here)
        after = task.numbers_after(left, [item])
        dead.append(len(after) > 1 and not task.legal_steps(after, target))
    if accepted:
        return None, undos, dead_ends_undone
    if any(dead):  # a planning mistake left standing comes before what went wrong after it
        mistake = dataclasses.replace(standing[dead.index(True)], kind="dead end")
    elif mistake is None:
        mistake = _last_step(here)
    return mistake, undos, dead_ends_undone


def _items(answer: str):
    """(start, item, complete) for each step and each ``<`` of ``answer`` (END removed): the
    last step is cut short when the answer does not end with ``,`` or ``<``."""
    start = 0
    for i, char in enumerate(answer):
        if char in (",", UNDO):
            if i > start:
                yield start, answer[start:i], True
            if char == UNDO:
                yield i, UNDO, True
            start = i + 1
    if start < len(answer):
        yield start, answer[start:], False


def step_problem(task: StepTask, left: Sequence[int], step: str, complete: bool) -> str | None:
    """What is wrong with ``step`` (``complete``, or cut short) on the numbers ``left``:
    "operand", "operation" or "arithmetic"; None when it is, or begins, a legal step."""
    legal = task.legal_steps(left)
    if step in legal if complete else any(s.startswith(step) for s in legal):
        return None
    a, op, rest = split_step(step)
    b, equals, _ = rest.partition("=")
    if not _available(a, list(left), whole=bool(op)):
        return "operand"
    others = list(left)
    if op:
        others.remove(int(a))
        if b and not _available(b, others, whole=bool(equals)):
            return "operand"
    if not any(s.startswith(f"{a}{op}{b}{equals}") for s in legal):
        return "operation"
    return "arithmetic"


def _available(number: str, left: list[int], whole: bool) -> bool:
    """Whether ``number`` is one of ``left`` (``whole``) or begins one."""
    if whole:
        return int(number) in left
    return any(str(n).startswith(number) for n in left)


def _last_step(last: Mistake | None) -> Mistake:
    """What went wrong in a rejected answer whose steps were all legal and none a dead end,
    ``last`` its last step: it missed the target (free mode stops a last step as soon as it
    cannot make it), or the answer stopped short ("other")."""
    if last is None:
        return Mistake("other", 0, "", (), 0)
    return dataclasses.replace(last, kind="last step" if len(last.left) == 2 else "other")


def measure(game, player: NetworkPlayer, split: str, args: argparse.Namespace) -> dict:
    """One checkpoint's row on one split: the share of answers in each class, the share of
    dead ends made at the first step, the steps taken back, the answers solved after one
    (whether a search written out finds what the first try missed), a few examples of each
    class."""
    prompts = game.task.test_prompts(split, limit=args.limit)
    states = game.states_from_prompts(prompts)
    final = decode(game, player.decoder, states, np.random.default_rng(args.seed))
    counts: Counter = Counter()
    steps_back = dead_ends_back = took_back = solved_back = first_step = 0
    examples: dict[str, list[str]] = {c: [] for c in CLASSES}
    for i, prompt in enumerate(prompts):
        answer = game.answer(final, i)
        mistake, undos, undone = _replay(game.task, prompt, answer)
        verdict = "solved" if mistake is None else mistake.kind
        counts[verdict] += 1
        numbers, _ = game.task.parse_prompt(prompt)
        first_step += verdict == "dead end" and len(mistake.left) == len(numbers)
        steps_back, dead_ends_back = steps_back + undos, dead_ends_back + undone
        took_back += undos > 0
        solved_back += undos > 0 and mistake is None
        if len(examples[verdict]) < EXAMPLES:
            examples[verdict].append(f"{prompt} {answer}")
    n = len(prompts)
    return {
        "split": split, "problems": n, **{c: counts[c] / n for c in CLASSES},
        "dead_end_first_step": first_step / n, "took_back": took_back / n,
        "solved_after_undo": solved_back / n, "steps_back": steps_back / n,
        "dead_ends_back": dead_ends_back / n, "examples": examples,
    }  # fmt: skip


def print_report(report: dict, console: Console) -> None:
    table = Table(title=f"{report['game']}: greedy answers by their first mistake")
    for column in ("#", "split", *CLASSES, "of them at step 1", "took back", "solved so"):
        table.add_column(column, justify="right")
    shares = (*CLASSES, "dead_end_first_step", "took_back", "solved_after_undo")
    print_checkpoint_rows(table, report, lambda r: [f"{r[c]:.1%}" for c in shares], console)


def main(argv: Sequence[str] | None = None) -> None:
    console = Console(width=max(Console().width, 110))
    args = parse_args(argv)
    torch.set_num_threads(1)
    load_before = os.getloadavg()
    game = games.make(args.game)
    if not isinstance(getattr(game, "task", None), StepTask):
        raise SystemExit(f"countdown_failures: {args.game} is not a step game (countdown, game24)")
    game = game.for_evaluation()
    rows = []
    for checkpoint in args.checkpoints:
        player = NetworkPlayer.from_checkpoint(checkpoint, game)
        for split in args.splits or list(game.task.splits):
            rows.append({"checkpoint": checkpoint, **measure(game, player, split, args)})
            console.print(f"{checkpoint} {split}: solved {rows[-1]['solved']:.1%}")
    report = {
        "game": args.game, "checkpoints": args.checkpoints, "problems_per_split": args.limit,
        "rows": rows, "machine": machine_facts(load_before),
    }  # fmt: skip
    print_report(report, console)
    save_report(report, args.out, console)


if __name__ == "__main__":
    main()
