"""What the network can learn when the data is perfect: trains the text network on solver
answers to countdown problems, no self-play and no search, and measures the greedy solve rate
of the network alone over time.

Self-play teaches the network only what its search found. This benchmark gives the same
network, learner and whole-game batches a solver's answer to every training problem instead, so
its curve is a ceiling for self-play at that network size and number of gradient steps: if the
network levels off here too, the limit is the network (size, schedule), not the search.

    python benchmarks/countdown_ceiling.py --game countdown@k=3 --minutes 20
    python benchmarks/countdown_ceiling.py --game countdown@k=4 model.channels=256 model.blocks=8 \
        --device cuda --pool 200000 --workers 16

Overrides (``model.*``, ``learner.*``, ``selfplay.value_discount``) apply after the text-game
preset, as in ``train.py``; with ``learner.ema`` the weights' moving average is measured too,
beside the trained network, at the same steps. Each training problem's answer is the solver's
first (depth-first) solution; answers are checked against the game, which plays the first ones
out token by token.

``--targets`` picks what each position of that answer teaches: ``solution`` the character the
solver wrote (one-hot), ``survivors`` every character after which the problem can still be
solved, alike (the characters ``reject=dead_end`` lets live): where several first steps lead
to a solution, the solver's choice among them is arbitrary, and a one-hot target calls the
others wrong.

``--detours P`` (a game with ``backtrack=N``) writes searches instead of bare solutions: before
each of the solver's steps, with probability P (again after each detour, while undos are
left), a step after which the target can no longer be made, taken back at once (``<``) or after
one more step (``<<``). The network learns to notice a dead end it wrote and take it back, so
that decoding alone can recover from a wrong first step:

    python benchmarks/countdown_ceiling.py --game countdown@k=4,backtrack=4 --detours 0.3

``--probes P`` writes a search that checks before it takes back: with probability P (again
after each probe, while undos are left), the answer first probes a first step after which the
target can no longer be made, goes on with random steps down to two numbers, where no last
step makes the target, and takes all of them back (``<<`` at k=4). Every undo then follows
something the network can see, a pair that cannot make the target, where an undo right after
a dead end asks for the look-ahead that the network lacks:

    python benchmarks/countdown_ceiling.py --game countdown@k=4,backtrack=6 --probes 0.5 \
        --mask-detours

``--dfs`` writes the solver's whole depth-first search instead (a game with ``backtrack=N``):
every step it tries, in a fixed order (pairs in the order of the prompt, results after the
numbers, ``+ - * /``), each dead one taken back where two numbers are left that no last step
turns into the target. Each character then follows from the text before it by a rule, with no
look-ahead, as Stream of Search's traces follow their solvers. At k=3 a search takes 1.8
undos on average and at most 11; at k=4 44 on average (496 characters), so a budget leaves the
longest searches out. ``--dfs sum`` orders the steps at each node by a heuristic, as Stream of
Search's do: the sum of the numbers a step leaves, smallest first (ties in the fixed order).
At k=4 that makes the searches 0.6 times as long (27 undos on average against 44) and fits
71% of problems in 24 undos (83 characters on average) where the fixed order fits 52%.
``--dfs-lengths N`` trains nothing and tells these lengths for N problems:

    python benchmarks/countdown_ceiling.py --game countdown@k=3,backtrack=12 --dfs
    python benchmarks/countdown_ceiling.py --game countdown@k=4,backtrack=24 --dfs sum
    python benchmarks/countdown_ceiling.py --game countdown@k=4 --dfs-lengths 3000

``--mask-detours`` teaches nothing at the characters of the steps taken back (their policy
targets are zero): the network learns to notice a dead end and take it back, and what to write
after it, but is never taught to write one, so its first guess stays the solver's step.

``--own-mistakes M`` teaches the network at its own mistakes (DAgger, Ross et al. 2011): at
every evaluation it writes greedy answers to M training problems, and each rejected one, up to
its first mistake (``countdown_failures.first_mistake``), gets the solver's answer from there
on. In a game with ``backtrack`` a dead end it wrote is kept and taken back first (``<``), with
no policy target at its characters: the network learns to notice its own likely dead ends and
recover, not to write them. ``--own-share`` of every batch is drawn from the latest of these:

    python benchmarks/countdown_ceiling.py --game countdown@k=4,backtrack=4 --own-mistakes 2000

``--own-probes`` joins the two: a dead end the network wrote is not taken back at once, which
asks for the look-ahead it lacks, but followed with its own next steps down to two numbers,
where no last step makes the target, and taken back there (``<<`` after a first step at k=4).
Probes drawn by the solver are first steps the network would not write, so it can learn to
take back only those; these are the ones it does write:

    python benchmarks/countdown_ceiling.py --game countdown@k=4,backtrack=6 --own-mistakes 4000 \
        --own-probes --own-share 0.5 --init bare.pt

``--favourites M`` teaches the network its own favourite solutions (expert iteration with a
perfect filter): at every evaluation it writes greedy answers to M training problems with
every dead end masked (at each character its most likely one after which the problem can
still be solved, as ``reject=dead_end`` judges), so every answer is accepted, and among the
many solutions of a problem it is the one the network already leans to. Where the solver's
one-hot answer picks a first step arbitrarily, these targets agree with each other the way the
network does. They make ``--own-share`` of every batch, as corrections do:

    python benchmarks/countdown_ceiling.py --game countdown@k=4 --favourites 4000 --own-share 0.75

``--init net.pt`` starts from the weights of an earlier run's ``--checkpoint`` (a fresh
optimiser; the position table grows or is cut to this game's longest observation), so that two
kinds of data can be compared on the same network that already learned the arithmetic:

    python benchmarks/countdown_ceiling.py --game countdown@k=4,backtrack=6 --probes 0.5 \
        --mask-detours --init bare.pt

``--checkpoint net.pt`` writes the network at every evaluation in a run's checkpoint format, so
``selfplay eval net.pt`` measures it with search and ``selfplay answer net.pt`` shows answers.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import itertools
import os
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import torch
from rich.console import Console
from rich.table import Table

import games
from games.text.task import BOS, END, SEP, TextGame
from games.text.verifier import OPERATORS, UNDO, apply_step, solve_steps
from selfplay.arena import play_alone
from selfplay.checkpoint import game_info, load_checkpoint, save_checkpoint
from selfplay.config import ConfigError, LearnerConfig, resolve, to_dict
from selfplay.incremental import decoding_evaluator
from selfplay.learner import Learner, published_weights
from selfplay.model import count_parameters, pick_device
from selfplay.replay import GameRecord, ReplayBuffer
from selfplay.text_eval import decode, greedy_solve_rates

sys.path.insert(0, str(Path(__file__).resolve().parent))
from countdown_failures import first_mistake
from report import machine_facts, save_report

ROOT = Path(__file__).resolve().parents[1]
CHECKED_GAMES = 64  # training answers played out through the game as a cross-check
RECORD_CHUNK = 4096  # training problems turned into replay records at a time
TARGETS = ("solution", "survivors")
DFS_ORDERS = ("fixed", "sum")  # dfs_answer's orders of the steps tried at each node
# The weights with a row per position or per character (start_from).
GROWING = ("stem.position", "stem.token.weight", "policy_head.weight", "policy_head.bias")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("overrides", nargs="*", metavar="key=value", help="config overrides")
    parser.add_argument("--game", default="countdown@k=3", help="a countdown game spec")
    parser.add_argument("--minutes", type=float, default=20.0, help="training time (20)")
    parser.add_argument("--pool", type=int, default=50_000, help="training problems (50000)")
    parser.add_argument("--problems", type=int, default=500, help="test problems per split")
    parser.add_argument("--eval-every", type=float, default=60.0, help="seconds between evals")
    parser.add_argument("--workers", type=int, default=1, help="processes drawing problems")
    parser.add_argument(
        "--pool-file",
        type=Path,
        default=None,
        help="training problems as lines 'prompt answer': the first --pool are read when it "
        "exists (drawn for the same --game), else drawn and written there",
    )
    parser.add_argument(
        "--targets",
        choices=TARGETS,
        default="solution",
        help="policy targets: the solver's character (solution), or every character after "
        "which the problem stays solvable (survivors)",
    )
    parser.add_argument(
        "--detours",
        type=float,
        default=0.0,
        help="share of steps preceded by a dead end taken back (a game with backtrack=N)",
    )
    parser.add_argument(
        "--probes",
        type=float,
        default=0.0,
        help="share of answers that first probe a dead first step down to two numbers and "
        "take it back (a game with backtrack=N)",
    )
    parser.add_argument(
        "--dfs",
        nargs="?",
        const="fixed",
        default=None,
        choices=DFS_ORDERS,
        help="answers are the solver's whole depth-first search, every dead step taken back "
        "(a game with backtrack=N), trying steps in a fixed order or, with 'sum', those that "
        "leave the smallest sum of numbers first",
    )
    parser.add_argument(
        "--mask-detours",
        action="store_true",
        help="no policy target at the characters of steps taken back (with --detours or --probes)",
    )
    parser.add_argument(
        "--own-mistakes",
        type=int,
        default=0,
        help="training problems answered greedily at every evaluation, whose mistakes the "
        "solver corrects into training answers (0: none)",
    )
    parser.add_argument(
        "--own-probes",
        action="store_true",
        help="with --own-mistakes in a game with backtrack=N: a dead end the network wrote is "
        "followed with its own steps down to two numbers before it is taken back",
    )
    parser.add_argument(
        "--favourites",
        type=int,
        default=0,
        help="training problems answered greedily with dead ends masked at every evaluation, "
        "the network's favourite solutions, taught as training answers (0: none)",
    )
    parser.add_argument(
        "--own-share",
        type=float,
        default=0.25,
        help="share of each batch drawn from those corrections or favourites (0.25)",
    )
    parser.add_argument(
        "--checkpoint",
        type=Path,
        default=None,
        help="write the network here at every evaluation, in a run's checkpoint format "
        "(for selfplay eval / answer)",
    )
    parser.add_argument(
        "--init",
        type=Path,
        default=None,
        help="start from the weights of this --checkpoint (model and average; fresh optimiser)",
    )
    parser.add_argument(
        "--dfs-lengths",
        type=int,
        default=0,
        metavar="N",
        help="train nothing: measure the written searches of N drawn problems in each order "
        "(undos, characters, the share that fits each budget) and exit",
    )
    parser.add_argument("--device", default="auto", help="torch device (auto: GPU if any)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--out", type=Path, default=ROOT / "benchmarks/results/countdown_ceiling.json"
    )
    args = parser.parse_intermixed_args(argv)
    if args.dfs_lengths < 0:
        parser.error(f"--dfs-lengths must be >= 0 (0: train), got {args.dfs_lengths}")
    if min(args.pool, args.problems, args.workers) < 1 or args.minutes <= 0:
        parser.error("--pool, --problems and --workers must be >= 1, --minutes > 0")
    for name, share in (("--detours", args.detours), ("--probes", args.probes)):
        if not 0 <= share < 1:
            parser.error(f"{name} must be a probability in [0, 1), got {share}")
    if sum(map(bool, (args.detours, args.probes, args.dfs))) > 1:
        parser.error("--detours, --probes and --dfs write three kinds of search: pick one")
    if args.mask_detours and not (args.detours or args.probes):
        parser.error("--mask-detours needs --detours or --probes above 0")
    if min(args.own_mistakes, args.favourites) < 0 or not 0 < args.own_share < 1:
        parser.error("--own-mistakes and --favourites must be >= 0, --own-share in (0, 1)")
    if args.own_probes and not args.own_mistakes:
        parser.error("--own-probes follows the dead ends of --own-mistakes: set it above 0")
    if args.own_mistakes and args.favourites:
        parser.error("--own-mistakes and --favourites both write the own answers: pick one")
    return args


@dataclasses.dataclass(frozen=True)
class Writing:
    """How training answers are written: the solver's bare answer, with ``detours``
    (``with_detours``) or ``probes`` (``with_probes``) written in when they are above 0, or,
    where ``dfs`` names an order (``DFS_ORDERS``), its whole search (``dfs_answer``)."""

    detours: float = 0.0
    probes: float = 0.0
    dfs: str | None = None


def _draw(game_name: str, n: int, seed: int, writing: Writing = Writing()) -> list[tuple[str, str]]:
    """``n`` training problems of ``game_name`` with the solver's answer (a worker's share),
    written as ``writing`` says; with ``dfs``, problems whose search takes back more steps than
    the game allows are left out."""
    task = games.make(game_name).task
    prompts = task.sample_prompts(n, np.random.default_rng([seed, 7]))
    if writing.dfs:
        answers = [dfs_answer(task, p, writing.dfs) for p in prompts]
        return [(p, a) for p, a in zip(prompts, answers, strict=True) if a is not None]
    answers = [solve_steps(*task.parse_prompt(p), max_value=task.max_value) for p in prompts]
    rng = np.random.default_rng([seed, 8])
    pairs = list(zip(prompts, answers, strict=True))
    if writing.detours:
        pairs = [(p, with_detours(task, p, a, writing.detours, rng)) for p, a in pairs]
    if writing.probes:
        pairs = [(p, with_probes(task, p, a, writing.probes, rng)) for p, a in pairs]
    return pairs


def dfs_answer(task, prompt: str, order: str = "fixed") -> str | None:
    """The depth-first search for the first solution, written out: every step it tries, each
    dead one taken back (``<``), in an order that each character of the search follows from
    the text before it by a rule, so that no character asks for a look-ahead. The numbers are
    kept in the order of the prompt, each result after them; pairs are tried in that order,
    each step larger number first, ``+ - * /`` (the legal ones). ``order="sum"`` sorts those
    steps by the sum of the numbers they leave, smallest first (ties as before), the way Stream
    of Search's heuristics order theirs: steps that shrink the numbers most are the likeliest
    to lead somewhere. At two numbers, the first last step that makes the target, else an undo.
    None where the search needs more undos than ``task.backtrack`` allows (or there is no
    solution)."""
    answer = _written_search(task, prompt, order)
    return answer if answer is not None and answer.count(UNDO) <= task.backtrack else None


def _written_search(task, prompt: str, order: str) -> str | None:
    """``dfs_answer`` with no budget: the whole search, however many steps it takes back."""
    if order not in DFS_ORDERS:
        raise ValueError(f"dfs order must be one of {DFS_ORDERS}, got {order!r}")
    numbers, target = task.parse_prompt(prompt)
    written: list[str] = []

    def search(left: list[int]) -> bool:
        if len(left) == 2:
            a, b = max(left), min(left)
            for op in OPERATORS:
                if apply_step(a, op, b, max_value=task.max_value) == target:
                    written.append(f"{a}{op}{b}={target}")
                    return True
            return False
        steps = []
        for i, j in itertools.combinations(range(len(left)), 2):
            a, b = max(left[i], left[j]), min(left[i], left[j])
            rest = [n for k, n in enumerate(left) if k not in (i, j)]
            for op in OPERATORS:
                value = apply_step(a, op, b, max_value=task.max_value)
                if value is not None:
                    steps.append((f"{a}{op}{b}={value},", [*rest, value], value - a - b))
        if order == "sum":
            steps.sort(key=lambda step: step[2])  # stable: ties keep the fixed order
        for step, after, _ in steps:
            written.append(step)
            if search(after):
                return True
            written.append(UNDO)
        return False

    return "".join(written) if search(list(numbers)) else None


def search_lengths(task, prompts: Sequence[str], budgets: Sequence[int]) -> list[dict]:
    """For each order of ``DFS_ORDERS``, how long the written searches of ``prompts`` are:
    undos and characters on average, and per budget the share of searches that fit in that
    many undos and their mean length (what ``--dfs`` keeps in a game with ``backtrack=N``)."""
    rows = []
    for order in DFS_ORDERS:
        searches = [_written_search(task, p, order) for p in prompts]
        undos = np.array([a.count(UNDO) for a in searches if a is not None])
        chars = np.array([len(a) for a in searches if a is not None])
        row = {
            "order": order,
            "problems": len(undos),
            "mean_undos": float(undos.mean()),
            "median_undos": float(np.median(undos)),
            "mean_chars": float(chars.mean()),
        }
        for budget in budgets:
            fits = undos <= budget
            row[f"fit_{budget}"] = float(fits.mean())
            row[f"chars_{budget}"] = float(chars[fits].mean()) if fits.any() else None
        rows.append(row)
    return rows


def with_detours(task, prompt: str, answer: str, share: float, rng: np.random.Generator) -> str:
    """The solver's ``answer`` as a search that goes wrong and notices: before each step, with
    probability ``share`` while ``task.backtrack`` undos are left, a step after which the target
    can no longer be made (drawn uniformly), taken back at once, or half the time (when two
    undos are left and it is no last step) after one more step on the numbers it left."""
    numbers, target = task.parse_prompt(prompt)
    left, undos, written = tuple(sorted(numbers)), task.backtrack, []
    for step in answer.split(","):
        while undos and len(left) >= 3 and rng.random() < share:
            solvable = set(task.legal_steps(left, target))
            dead = [s for s in task.legal_steps(left) if s not in solvable]
            if not dead:
                break
            wrong = dead[rng.integers(len(dead))]
            after = task.numbers_after(left, [wrong])
            if undos >= 2 and len(after) >= 3 and rng.random() < 0.5:
                further = task.legal_steps(after)
                written.append(f"{wrong},{further[rng.integers(len(further))]},<<")
                undos -= 2
            else:
                written.append(f"{wrong},<")
                undos -= 1
        written.append(step + ",")
        left = task.numbers_after(left, [step])
    return "".join(written).removesuffix(",")


def with_probes(task, prompt: str, answer: str, share: float, rng: np.random.Generator) -> str:
    """The solver's ``answer`` after probes of dead first steps: with probability ``share``
    (again after each probe, while ``task.backtrack`` undos are left for one more), a first step
    after which the target can no longer be made (drawn uniformly, a different one each time),
    then steps down to two numbers, which no last step can turn into the target, then as many
    ``<`` as steps written. The step that leaves two numbers is a near miss (its pair's last
    step comes closest to the target), as a writer who aims at the target would write; the
    ones before it are drawn uniformly. Each undo follows a position where the failure shows."""
    numbers, target = task.parse_prompt(prompt)
    left, undos, written = tuple(sorted(numbers)), task.backtrack, []
    depth = len(left) - 2  # the steps that leave two numbers
    solvable = set(task.legal_steps(left, target))
    # One step per set of numbers it leaves: 57+69 after 69+57 would probe nothing new.
    dead = list(
        {
            task.numbers_after(left, [s]): s for s in task.legal_steps(left) if s not in solvable
        }.values()
    )
    rng.shuffle(dead)
    while dead and 1 <= depth <= undos and rng.random() < share:
        steps = [dead.pop()]
        while len(after := task.numbers_after(left, steps)) > 3:
            options = task.legal_steps(after)
            steps.append(options[rng.integers(len(options))])
        if len(after) == 3:
            steps.append(_near_miss(task, after, target))
        written.append(",".join(steps) + "," + UNDO * len(steps))
        undos -= len(steps)
    return "".join(written) + answer


def _near_miss(task, numbers: tuple[int, ...], target: int) -> str:
    """The step on three ``numbers`` whose pair's closest last step comes nearest the
    ``target`` (the first such where several tie)."""
    return min(task.legal_steps(numbers), key=lambda s: _miss(task, numbers, s, target))


def _miss(task, numbers: tuple[int, ...], step: str, target: int) -> int:
    """How far from ``target`` the closest last step comes after ``step`` on three
    ``numbers``."""
    pair = task.numbers_after(numbers, [step])
    return min(abs(int(last.split("=")[1]) - target) for last in task.legal_steps(pair))


def undone_characters(answer: str) -> np.ndarray:
    """For each character of a written search, whether it belongs to a step that a later
    ``<`` takes back (the step's comma included; the ``<`` itself does not)."""
    undone = np.zeros(len(answer), dtype=bool)
    standing: list[tuple[int, int]] = []  # spans [start, end] of the steps still standing
    start = 0
    for i, char in enumerate(answer):
        if char == ",":
            standing.append((start, i))
            start = i + 1
        elif char == UNDO:
            first, last = standing.pop()
            undone[first : last + 1] = True
            start = i + 1
    return undone


def correction(task, prompt: str, answer: str, follow: bool = False) -> tuple[str, bool] | None:
    """The network's rejected ``answer`` (``END`` included where written) up to its first
    mistake, then the solver's steps from there: an accepted answer (or written search) that
    starts where the network went, and whether it keeps the network's dead end and takes it
    back (a game with undos left). With ``follow`` the dead end is taken back only once it
    shows, at two numbers that no last step turns into the target (``followed``). None for an
    accepted answer, one that only stopped short, or where the correction would be the
    solver's own answer."""
    mistake = first_mistake(task, prompt, answer)
    if mistake is None or mistake.kind == "other":
        return None
    _, target = task.parse_prompt(prompt)
    prefix = answer[: mistake.start]
    steps = [mistake.step]
    if follow and mistake.kind == "dead end":
        steps = followed(task, mistake, answer[mistake.start :], target)
    detour = mistake.kind == "dead end" and mistake.undos + len(steps) <= task.backtrack
    if detour:
        prefix += ",".join(steps) + "," + UNDO * len(steps)
    if not prefix:
        return None
    trace = prefix + solve_steps(mistake.left, target, max_value=task.max_value)
    if not task.verify(prompt, trace):
        raise AssertionError(f"{prompt}: the correction {trace!r} of {answer!r} is rejected")
    return trace, detour


def followed(task, mistake, rest: str, target: int) -> list[str]:
    """The dead end ``mistake`` and the steps after it down to two numbers: the network's own
    while ``rest`` (its answer from the dead end on) goes on with legal steps, then the near
    miss at three numbers (the step whose pair comes closest to the target), the first legal
    step above. At that pair the failure shows, so an undo there asks for no look-ahead, and
    the network's steps before it are the ones it writes at test time, not a solver's draw
    that it could learn to tell apart from its own."""
    steps, own = [], rest.split(",")
    while len(left := task.numbers_after(mistake.left, steps)) > 2:
        legal = task.legal_steps(left)
        if len(own) > 1 and own[0] in legal:  # a step the network wrote out, comma and all
            steps.append(own.pop(0))
        else:
            own = []
            steps.append(_near_miss(task, left, target) if len(left) == 3 else legal[0])
    return steps


def own_corrections(
    game, evaluator, prompts: Sequence[str], discount: float, seed: int, follow: bool = False
):
    """Records of the corrections (``correction``, ``follow`` passed on) of the greedy answers
    that ``evaluator`` writes to ``prompts``, the characters of steps taken back untaught, and
    how many of them take a dead end of the network's back."""
    states = decode(game, evaluator, game.states_from_prompts(prompts), np.random.default_rng(seed))
    records, detours = [], 0
    for i, prompt in enumerate(prompts):
        fixed = correction(game.task, prompt, game.answer(states, i), follow)
        if fixed is not None:
            records.append(to_record(game, prompt, fixed[0], discount, mask_undone=True))
            detours += fixed[1]
    return records, detours


def draw_pool(
    game_name: str, n: int, workers: int, seed: int, writing: Writing = Writing()
) -> list[tuple[str, str]]:
    """``n`` problems (fewer with ``dfs`` where searches run out of undos) as (prompt, answer)
    pairs, drawn by ``workers`` processes with seeds of their own."""
    shares = [n // workers + (i < n % workers) for i in range(workers)]
    if workers == 1:
        return _draw(game_name, n, seed, writing)
    with ProcessPoolExecutor(workers) as pool:
        seeds = [seed * 1000 + i for i in range(workers)]
        parts = pool.map(_draw, [game_name] * workers, shares, seeds, [writing] * workers)
        return [pair for part in parts for pair in part]


def load_pool(
    path: Path | None,
    game_name: str,
    n: int,
    workers: int,
    seed: int,
    writing: Writing = Writing(),
):
    """The first ``n`` problems of the pool saved at ``path`` if there is one, else a fresh
    pool written as ``writing`` says (saved there if ``path`` is given)."""
    if path is not None and path.exists():
        pairs = [tuple(line.split(" ")) for line in path.read_text().splitlines()[:n]]
        if len(pairs) < n or any(len(pair) != 2 for pair in pairs):
            raise SystemExit(f"{path}: expected {n} lines 'prompt answer', got {len(pairs)}")
        return pairs
    pairs = draw_pool(game_name, n, workers, seed, writing)
    if path is not None:
        scratch = path.with_suffix(".partial")
        scratch.write_text("".join(f"{p} {a}\n" for p, a in pairs))
        scratch.replace(path)
    return pairs


def to_record(
    game,
    prompt: str,
    answer: str,
    discount: float,
    policies: np.ndarray | None = None,
    mask_undone: bool = False,
) -> GameRecord:
    """The solved game as a replay record: one position per answer token (the END token
    included), one-hot policy on the token written (or ``policies`` ``[plies, A]``; none at the
    characters of steps taken back with ``mask_undone``), values +1 discounted."""
    tokens = np.concatenate([[BOS], game.encode(prompt), [SEP], game.encode(answer + END)])
    start = len(prompt) + 2
    plies = len(answer) + 1
    observations = np.zeros((plies, game.spec.observation_shape[0]), game.spec.observation_dtype)
    for t in range(plies):
        observations[t, : start + t] = tokens[: start + t]
    actions = tokens[start:].astype(np.int64)
    if policies is None:
        policies = np.zeros((plies, game.spec.num_actions), np.float32)
        policies[np.arange(plies), actions] = 1.0
    if mask_undone:
        policies[: len(answer)][undone_characters(answer)] = 0.0
    return GameRecord.from_plies(
        observations, policies, np.zeros(plies, np.int8), actions, np.ones(1), discount=discount,
        observation_dtype=game.spec.observation_dtype,
    )  # fmt: skip


def survivor_policies(game, pairs: Sequence[tuple[str, str]]) -> list[np.ndarray]:
    """For each (prompt, answer), ``[plies, A]``: at every position of the answer (its END
    included), the uniform distribution over the characters after which the problem can still
    be solved, as ``reject=dead_end`` judges them; the answer's own character is always one."""
    judge = dead_end_judge(game)
    actions = [judge.encode(answer + END).astype(np.int64) for _, answer in pairs]
    states = judge.states_from_prompts([prompt for prompt, _ in pairs])
    plies = np.array([len(a) for a in actions])
    policies = [np.zeros((n, judge.spec.num_actions), np.float32) for n in plies]
    for t in range(int(plies.max())):
        rows = np.flatnonzero(plies > t)
        here = states[rows]
        alive = alive_mask(judge, here)
        played = np.array([actions[i][t] for i in rows])
        if not alive[np.arange(len(rows)), played].all():
            raise AssertionError("a solver answer's character was judged a dead end")
        for r, i in enumerate(rows):
            policies[i][t] = alive[r] / alive[r].sum()
        states[rows] = judge.apply_actions(here, played)
    return policies


def dead_end_judge(game) -> TextGame:
    """``game`` with ``reject=dead_end``: a character after which the problem can no longer
    be solved loses at once, so that the game itself tells which characters survive."""
    task = copy.copy(game.task)
    task.dead_ends = True  # a step task's option, read by its rules (countdown here)
    return TextGame(task)


def alive_mask(judge: TextGame, states: np.ndarray) -> np.ndarray:
    """bool ``[B, A]``: the legal characters of ``states`` after which the problem can still
    be solved, tried one by one in the ``dead_end_judge`` game."""
    legal = judge.legal_actions_mask(states)
    alive = np.zeros_like(legal)
    for a in np.flatnonzero(legal.any(axis=0)):
        tried = np.flatnonzero(legal[:, a])
        after = judge.apply_actions(states[tried], np.full(len(tried), a))
        alive[tried, a] = judge.returns(after)[:, 0] >= 0  # lost: -1, going on or won: >= 0
    return alive


class FavouritePlayer:
    """Writes the evaluator's most likely character among those after which the problem can
    still be solved: greedy decoding with a perfect dead-end filter (``--favourites``)."""

    def __init__(self, evaluator):
        self.evaluator = evaluator

    def act(self, game: TextGame, states: np.ndarray, rng, histories=None) -> np.ndarray:
        logits, _ = self.evaluator(game.observation_tensor(states))
        return np.where(alive_mask(game, states), logits, -np.inf).argmax(axis=1)


def favourite_records(game, evaluator, prompts: Sequence[str], discount: float, seed: int):
    """Records of the network's favourite solutions to the (solvable) ``prompts``
    (``FavouritePlayer``), each checked by the verifier."""
    judge = dead_end_judge(game)
    states = play_alone(
        judge, FavouritePlayer(evaluator), judge.states_from_prompts(prompts),
        np.random.default_rng(seed),
    )  # fmt: skip
    records = []
    for i, prompt in enumerate(prompts):
        answer = judge.answer(states, i).removesuffix(END)
        if not game.task.verify(prompt, answer):
            raise AssertionError(f"{prompt}: the favourite answer {answer!r} is rejected")
        records.append(to_record(game, prompt, answer, discount))
    return records


def check_record(game, prompt: str, record: GameRecord) -> None:
    """Plays the record's actions through the game: every observation must match, every
    action be legal, and the game end accepted on the last one."""
    states = game.states_from_prompts([prompt])
    for t, action in enumerate(record.actions):
        if not np.array_equal(game.observation_tensor(states)[0], record.observations[t]):
            raise AssertionError(f"{prompt}: observation {t} differs from the game's")
        if not game.legal_actions_mask(states)[0, action]:
            raise AssertionError(f"{prompt}: action {t} is illegal in the game")
        states = game.apply_actions(states, np.array([action]))
    if game.returns(states)[0, 0] != 1:
        raise AssertionError(f"{prompt}: the answer was not accepted ({game.render(states)})")


def start_from(learner: Learner, path: Path) -> None:
    """Loads the model (and its moving average, where both runs keep one) of the checkpoint at
    ``path`` into ``learner``. A game with undos writes longer answers with one more character
    (``<``, the vocabulary's last), so the position table, the token table and the policy head
    may have more rows: the saved rows are copied over the first ones, the rest keep their
    initial values."""
    state = load_checkpoint(path)["learner"]
    targets = [(learner.model, state["model"])]
    if learner.average is not None:
        targets.append((learner.average, published_weights(state)))
    for model, saved in targets:
        weights = model.state_dict()
        if set(saved) != set(weights):
            raise ConfigError(f"{path}: its network has other layers than this one")
        for name, tensor in saved.items():
            rows = min(len(tensor), len(weights[name]))
            if name in GROWING and tensor.shape[1:] == weights[name].shape[1:]:
                tensor = torch.cat([tensor[:rows], weights[name][rows:].cpu()])
            if tensor.shape != weights[name].shape:
                raise ConfigError(
                    f"{path}: {name} has shape {list(tensor.shape)}, this network's is "
                    f"{list(weights[name].shape)} (model.* overrides must match)"
                )
            weights[name] = tensor
        model.load_state_dict(weights)


def save_network(path: Path, game, config, learner: Learner) -> None:
    """The learner as a training run's checkpoint (no gated best: players load the learner's
    published weights), so that ``selfplay eval`` and ``selfplay answer`` read it."""
    payload = {
        "game": game_info(game.spec),
        "config": to_dict(config),
        "learner": learner.state_dict(),
        "generation": learner.step,
    }
    save_checkpoint(path, payload)


def run(args: argparse.Namespace, console: Console) -> dict:
    config = resolve([f"game={args.game}", f"seed={args.seed}", *args.overrides])
    game = games.make(config.game)
    if game.spec.name != "countdown":
        raise ConfigError(f"this benchmark trains countdown; drop game={config.game}")
    searches = args.detours or args.probes or args.dfs
    if searches and not game.task.backtrack:
        raise ConfigError(
            f"--detours, --probes and --dfs need steps taken back: game={config.game},backtrack=4"
        )
    if args.own_probes and not game.task.backtrack:
        raise ConfigError(f"--own-probes takes dead ends back: game={config.game},backtrack=6")
    if args.favourites and game.task.backtrack:
        raise ConfigError("--favourites writes answers with no step taken back: drop backtrack")
    if searches and args.targets != "solution":
        raise ConfigError("searches (--detours, --probes, --dfs) go with --targets solution")
    device = pick_device(args.device)
    if device.type == "cpu":
        torch.set_num_threads(1)
    started = time.perf_counter()
    writing = Writing(args.detours, args.probes, args.dfs)
    pairs = load_pool(args.pool_file, config.game, args.pool, args.workers, args.seed, writing)
    discount = config.selfplay.value_discount
    positions = sum(len(answer) + 1 for _, answer in pairs)  # to_record: one per character, END
    shape, actions = game.spec.observation_shape, game.spec.num_actions
    buffer = ReplayBuffer(positions, shape, actions, args.seed, game.spec.observation_dtype)
    # Records are built and stored a chunk at a time: a pool of long searches takes gigabytes,
    # and all its records at once beside the buffer would take as many again.
    survivors = args.targets == "survivors"
    for first in range(0, len(pairs), RECORD_CHUNK):
        chunk = pairs[first : first + RECORD_CHUNK]
        targets = survivor_policies(game, chunk) if survivors else [None] * len(chunk)
        records = [
            to_record(game, p, a, discount, t, args.mask_detours)
            for (p, a), t in zip(chunk, targets, strict=True)
        ]
        if first == 0:
            for (prompt, _), record in zip(chunk[:CHECKED_GAMES], records, strict=False):
                check_record(game, prompt, record)
        buffer.add(records)
    if buffer.positions_added != positions:
        raise AssertionError(f"{buffer.positions_added} positions stored, {positions} counted")
    left_out = args.pool - len(pairs)
    console.print(
        f"{len(pairs)} training problems, {positions} positions ({buffer.nbytes / 2**20:.0f} "
        f"MiB), drawn in {time.perf_counter() - started:.0f} s"
        + (f" ({left_out} left out: their search needs more undos)" if left_out else ""),
        highlight=False,
    )

    learner = Learner(game.spec, config.model, config.learner, device, seed=args.seed)
    if args.init is not None:
        start_from(learner, args.init)
    # The trained network, and beside it the weights' moving average when learner.ema is on.
    evaluators = {"greedy": decoding_evaluator(learner.model, device)}
    if learner.average is not None:
        evaluators["average"] = decoding_evaluator(learner.average, device)
    tests = {
        split: game.states_from_prompts(game.task.test_prompts(split, limit=args.problems))
        for split in game.task.splits
    }
    # The network's own answers (corrections or favourites; parse_args allows one), the latest
    # four evaluations' worth.
    own_answers = args.own_mistakes or args.favourites
    own = ReplayBuffer(
        max(1, 4 * own_answers * positions // len(pairs)), shape, actions, args.seed,
        game.spec.observation_dtype,
    )  # fmt: skip
    own_rng = np.random.default_rng([args.seed, 9])
    history: list[dict] = []
    start = time.perf_counter()
    next_eval = 0.0
    load_before = os.getloadavg()
    losses: list[float] = []
    while True:
        elapsed = time.perf_counter() - start
        if elapsed >= next_eval or elapsed >= args.minutes * 60:
            rates = {
                f"{name}_{split}": rate
                for name, evaluator in evaluators.items()
                for split, rate in greedy_solve_rates(game, evaluator, tests, args.seed).items()
            }
            row = {
                "elapsed_s": round(elapsed, 1),
                "steps": learner.step,
                "epochs": round(buffer.positions_sampled / positions, 2),
                **rates,
                "policy_loss": float(np.mean(losses)) if losses else None,
            }
            if own_answers:
                chosen = own_rng.choice(len(pairs), size=own_answers, replace=False)
                prompts = [pairs[i][0] for i in chosen]
                seed = int(own_rng.integers(1 << 31))
                began = time.perf_counter()
                if args.own_mistakes:
                    answers, row["own_detours"] = own_corrections(
                        game, evaluators["greedy"], prompts, discount, seed, args.own_probes
                    )
                    row["own_corrections"] = len(answers)
                else:
                    answers = favourite_records(game, evaluators["greedy"], prompts, discount, seed)
                    row["favourites_s"] = round(time.perf_counter() - began, 1)
                own.add(answers)
            history.append(row)
            losses.clear()
            console.print(
                f"{elapsed:6.0f} s  step {learner.step:6d}  epochs {row['epochs']:6.2f}  "
                + "  ".join(f"{key} {rate:6.1%}" for key, rate in rates.items())
                + (f"  loss {row['policy_loss']:.4f}" if row["policy_loss"] is not None else "")
                + (f"  corrections {row['own_corrections']}" if args.own_mistakes else ""),
                highlight=False,
                soft_wrap=True,
            )
            next_eval = elapsed + args.eval_every
            if args.checkpoint is not None:
                save_network(args.checkpoint, game, config, learner)
            if elapsed >= args.minutes * 60:
                break
        observations, policies, values = _batch(buffer, own, args.own_share, config.learner)
        losses.append(learner.train_step(observations, policies, values)["policy_loss"])

    return {
        "game": config.game,
        "device": str(device),
        "parameters": count_parameters(learner.model),
        "training_problems": len(pairs),
        "training_positions": positions,
        "targets": args.targets,
        "detours": args.detours,
        "probes": args.probes,
        "dfs": args.dfs,
        "init": None if args.init is None else str(args.init),
        "mask_detours": args.mask_detours,
        "own_mistakes": args.own_mistakes,
        "own_probes": args.own_probes,
        "favourites": args.favourites,
        "own_share": args.own_share if own_answers else 0.0,
        "problems_per_split": args.problems,
        **{f"best_{key}": max(r[key] for r in history) for key in rates},
        "overrides": list(args.overrides),
        "config": to_dict(config),
        "machine": machine_facts(load_before),
        "history": history,
    }


def _batch(buffer: ReplayBuffer, own: ReplayBuffer, share: float, learner: LearnerConfig):
    """A training batch: ``share`` of it from the corrections in ``own`` once there are any,
    the rest from the solver's answers in ``buffer``."""
    size, whole, buckets = learner.batch_size, learner.whole_games, learner.length_buckets
    mine = round(size * share) if len(own) else 0
    parts = [buffer.sample(size - mine, whole_games=whole, buckets=buckets)]
    if mine:
        parts.append(own.sample(mine, whole_games=whole, buckets=buckets))
    return tuple(np.concatenate(arrays) for arrays in zip(*parts, strict=True))


def print_report(report: dict, console: Console) -> None:
    table = Table(
        title=f"{report['game']}, solver answers ({report.get('targets', 'solution')} targets), "
        f"{report['parameters']:,} parameters on "
        f"{report['device']}: greedy solve rate ({report['problems_per_split']} problems per "
        f"split, {report['training_problems']} training problems)"
    )
    rates = [key for key in report["history"][0] if key.startswith(("greedy_", "average_"))]
    for name in ("elapsed s", "steps", "epochs", *rates, "policy loss"):
        table.add_column(name.replace("_", " "), justify="right")
    for r in report["history"]:
        table.add_row(
            f"{r['elapsed_s']:.0f}",
            str(r["steps"]),
            f"{r['epochs']:.2f}",
            *(f"{r[key]:.1%}" for key in rates),
            "-" if r["policy_loss"] is None else f"{r['policy_loss']:.4f}",
        )
    console.print(table)


def lengths_report(args: argparse.Namespace, console: Console) -> dict:
    """``--dfs-lengths``: the written searches' lengths in each order, as a table and a report."""
    load_before = os.getloadavg()
    game = games.make(args.game)
    if game.spec.name != "countdown":
        raise ConfigError(f"--dfs-lengths measures countdown searches; drop --game {args.game}")
    task = game.task
    prompts = task.sample_prompts(args.dfs_lengths, np.random.default_rng([args.seed, 7]))
    budgets = (0, 4, 8, 12, 24, 64)
    rows = search_lengths(task, prompts, budgets)
    table = Table(title=f"written searches of {len(prompts)} {args.game} problems")
    for column in ("order", "undos (mean / median)", "characters", *(f"<= {b}" for b in budgets)):
        table.add_column(column, justify="right")
    for row in rows:
        fits = [f"{row[f'fit_{b}']:.0%} ({row[f'chars_{b}'] or 0:.0f})" for b in budgets]
        undos = f"{row['mean_undos']:.1f} / {row['median_undos']:.0f}"
        table.add_row(row["order"], undos, f"{row['mean_chars']:.0f}", *fits)
    console.print(table)
    console.print(
        "per budget: the share of searches with at most that many undos (their mean characters)"
    )
    return {
        "game": args.game,
        "problems": len(prompts),
        "budgets": list(budgets),
        "rows": rows,
        "machine": machine_facts(load_before),
    }


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    console = Console()
    try:
        if args.dfs_lengths:
            save_report(lengths_report(args, console), args.out, console)
            return
        report = run(args, console)
    except ConfigError as error:  # a setting that does not fit: say which, not a traceback
        raise SystemExit(f"countdown_ceiling.py: error: {error}") from None
    print_report(report, console)
    save_report(report, args.out, console)


if __name__ == "__main__":
    main()
