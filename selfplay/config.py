"""Run settings: one frozen dataclass per concern, each field documented where it is declared.

``RunConfig`` gathers them; ``python train.py game=tictactoe mcts.simulations=200`` overrides
any field by its dotted name. ``resolve`` applies the game's preset (``PRESETS``) and then the
user's overrides; ``help_text`` lists every field with its type, default and docstring;
``to_dict``/``from_dict`` save the resolved configuration with every checkpoint and load it
back; ``smoke`` derives a tiny configuration that runs the whole loop in seconds.
"""

from __future__ import annotations

import ast
import dataclasses
import difflib
import functools
import inspect
import itertools
import json
import math
import textwrap
import typing
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from selfplay.mcts.config import SearchConfig

__all__ = [
    "PRESETS",
    "ArenaConfig",
    "ConfigError",
    "LearnerConfig",
    "ModelConfig",
    "RayConfig",
    "ReplayConfig",
    "RunConfig",
    "SelfPlayConfig",
    "field_docs",
    "format_config",
    "from_dict",
    "help_text",
    "parse_overrides",
    "resolve",
    "smoke",
    "to_dict",
]


class ConfigError(ValueError):
    """A setting that does not exist, a value of the wrong type, or values that don't fit."""


def _validate(owner: object, checks: dict[str, bool]) -> None:
    """Raises ValueError naming every failed check (message -> passed), as SearchConfig does."""
    problems = [message for message, passed in checks.items() if not passed]
    if problems:
        raise ValueError(f"invalid {type(owner).__name__}: " + "; ".join(problems))


@dataclasses.dataclass(frozen=True, kw_only=True)
class ModelConfig:
    """The policy-value network."""

    blocks: int = 5
    """Residual blocks (AlphaZero: 19 or 39); 0 = the stem and the heads only. Text games:
    the transformer's layers."""
    channels: int = 64
    """Convolution channels in every block (AlphaZero: 256). Text games: the transformer's
    width (d_model)."""
    value_hidden: int = 64
    """Width of the value head's hidden layer (AlphaZero: 256)."""
    heads: int = 4
    """Attention heads of the transformer used by text games; channels must divide by it."""

    def __post_init__(self) -> None:
        _validate(
            self,
            {
                f"blocks must be >= 0, got {self.blocks}": self.blocks >= 0,
                f"channels must be >= 1, got {self.channels}": self.channels >= 1,
                f"value_hidden must be >= 1, got {self.value_hidden}": self.value_hidden >= 1,
                f"heads must be >= 1, got {self.heads}": self.heads >= 1,
                f"channels must divide by heads, got channels={self.channels} and "
                f"heads={self.heads}": self.heads < 1 or self.channels % self.heads == 0,
            },
        )


@dataclasses.dataclass(frozen=True, kw_only=True)
class SelfPlayConfig:
    """Self-play workers: each plays many games in lockstep with the batched search."""

    workers: int = 0
    """Self-play actors; 0 = one per CPU left after the learner (at least one)."""
    games_per_worker: int = 128
    """Games each worker plays in lockstep: the batch of every search and network call."""
    temperature_moves: int = 8
    """Plies played with temperature mcts.temperature; later plies play the most visited move
    (AlphaZero: 30 in chess)."""
    value_discount: float = 1.0
    """Value targets are the final return times this to the power of the plies still to play
    (1 = AlphaZero's plain outcome). Below 1 a loss far away is valued above one right ahead
    and a quick win above a slow one: the only gradient a search has on a puzzle it has not
    yet solved (text games)."""
    games_per_generation: int = 256
    """Finished games collected between two learner phases."""
    solution_targets: bool = False
    """One-player games: in a solved game (positive return) each ply's policy target is the
    move played, the solution the search found, instead of the search's visit shares; other
    games keep the search's targets. Imitating verified solutions (expert iteration's filter)
    teaches the network alone what the search could only find."""
    hindsight: bool = False
    """One-player games whose rules can relabel a lost game (``Game.hindsight``: countdown):
    each lost game also gives a won twin, the problem its answer did solve, with the moves as
    policy targets (hindsight experience replay). The planning mistakes that lose most games
    become examples of plans that work."""
    answer_samples: int = 0
    """Text games: for each game played, this many answers sampled from the network alone
    (temperature 1, no search) under the rules evaluations play by (``for_evaluation``, only
    finished answers verified), each kept as one position, the finished answer, with the
    verifier's verdict as its value target and no policy target. Self-play's finished answers
    are nearly all right (a wrong step loses before the answer ends, ``reject=dead_end`` ends
    hopeless ones sooner still), so without these the value head never learns to tell a wrong
    answer from a right one: they train it as a verifier, the one ``search-hidden`` uses."""
    cheap_simulations: int = 0
    """Playout cap randomization (KataGo): when > 0, a move is searched with mcts.simulations
    only with probability full_search_share (the same draw for the whole batch) and with this
    many simulations otherwise. Only full searches give policy targets; cheap ones play the
    game on, so value targets (and solution targets) come at a fraction of the cost."""
    full_search_share: float = 0.25
    """Share of moves searched with all mcts.simulations when cheap_simulations > 0."""
    cache_evaluations: bool = True
    """Remember the network's outputs for the positions of the last two moves: a search that
    does not reuse its tree (Gumbel) evaluates most of them again."""

    def __post_init__(self) -> None:
        _validate(
            self,
            {
                f"workers must be >= 0, got {self.workers}": self.workers >= 0,
                f"answer_samples must be >= 0, got {self.answer_samples}": (
                    self.answer_samples >= 0
                ),
                f"cheap_simulations must be >= 0, got {self.cheap_simulations}": (
                    self.cheap_simulations >= 0
                ),
                f"full_search_share must be in (0, 1], got {self.full_search_share}": (
                    0 < self.full_search_share <= 1
                ),
                f"games_per_worker must be >= 1, got {self.games_per_worker}": (
                    self.games_per_worker >= 1
                ),
                f"temperature_moves must be >= 0, got {self.temperature_moves}": (
                    self.temperature_moves >= 0
                ),
                f"value_discount must be in (0, 1], got {self.value_discount}": (
                    0 < self.value_discount <= 1
                ),
                f"games_per_generation must be >= 1, got {self.games_per_generation}": (
                    self.games_per_generation >= 1
                ),
            },
        )


@dataclasses.dataclass(frozen=True, kw_only=True)
class ReplayConfig:
    """The replay buffer the learner samples from."""

    window: int = 200_000
    """Positions kept; older ones slide out (AlphaZero: the last 500,000 games)."""
    min_positions: int = 4_000
    """Positions needed before the learner starts training; at most window."""
    augment: bool = True
    """Sample a random symmetry of each position (the game's ``symmetries``)."""

    def __post_init__(self) -> None:
        _validate(
            self,
            {
                f"window must be >= 1, got {self.window}": self.window >= 1,
                f"min_positions must be >= 0, got {self.min_positions}": self.min_positions >= 0,
                # The buffer never holds more than window positions: the learner would wait forever.
                f"min_positions ({self.min_positions}) must be <= window ({self.window})": (
                    self.min_positions <= self.window
                ),
            },
        )


@dataclasses.dataclass(frozen=True, kw_only=True)
class LearnerConfig:
    """The learner: trains the network on replayed positions and publishes new weights."""

    batch_size: int = 256
    """Positions per gradient step (AlphaZero: 4096)."""
    steps_per_generation: int = 200
    """Gradient steps between two publications of new weights."""
    lr: float = 2e-3
    """Peak learning rate of AdamW."""
    warmup_steps: int = 200
    """Steps of linear warm-up to ``lr``."""
    decay_steps: int = 0
    """0: the learning rate stays at ``lr`` after the warm-up. Above 0: it then falls along a
    cosine to ``lr * min_lr_fraction`` at step ``decay_steps``, and stays there (nanoGPT's
    schedule). A constant rate leaves the weights noisy once the network stops improving."""
    min_lr_fraction: float = 0.1
    """The learning rate at the end of the decay, as a share of ``lr``."""
    weight_decay: float = 1e-4
    """Decoupled weight decay (AlphaZero: L2 of 1e-4)."""
    value_loss_weight: float = 1.0
    """Weight of the value loss (mean squared error) beside the policy cross-entropy."""
    amp: bool = True
    """Mixed precision (bfloat16) when training on a GPU; ignored on the CPU."""
    whole_games: bool = False
    """Batches of whole games (each game drawn uniformly, all its positions in order) instead
    of single positions. A text game's transformer then reads every position of a game out of
    one pass over its last one: many times fewer tokens per position trained."""
    length_buckets: int = 1
    """With ``whole_games``: the games of this many batches are drawn at once, sorted by
    length and cut into batches of about one length (each game is still drawn uniformly). A
    batch is cut to its longest game, so where lengths vary (answers with undos) short games
    otherwise pay for the padding of long ones. 1: off."""
    ema: float = 0.0
    """Decay of an exponential moving average of the weights, per step (0: off; 0.999 averages
    about the last thousand steps). When on, the average is the candidate that is gated and
    published, and training goes on from the raw weights: the average is a less noisy network
    at no training cost."""
    max_reuse: float = 0.0
    """0: exactly ``steps_per_generation`` steps per generation. Above 0: the learner goes on
    training while the next generation's games are still being played, as long as the
    buffer's reuse ratio (positions sampled / positions added) stays under ``max_reuse``. It
    turns the driver's waiting (``selfplay/wait_share``) into gradient steps."""

    def __post_init__(self) -> None:
        _validate(
            self,
            {
                f"batch_size must be >= 1, got {self.batch_size}": self.batch_size >= 1,
                f"length_buckets must be >= 1, got {self.length_buckets}": (
                    self.length_buckets >= 1
                ),
                f"steps_per_generation must be >= 1, got {self.steps_per_generation}": (
                    self.steps_per_generation >= 1
                ),
                f"lr must be > 0, got {self.lr}": self.lr > 0,
                f"warmup_steps must be >= 0, got {self.warmup_steps}": self.warmup_steps >= 0,
                f"decay_steps must be 0 or above warmup_steps ({self.warmup_steps}), got "
                f"{self.decay_steps}": (
                    self.decay_steps == 0 or self.decay_steps > self.warmup_steps
                ),
                f"min_lr_fraction must be in [0, 1], got {self.min_lr_fraction}": (
                    0 <= self.min_lr_fraction <= 1
                ),
                f"weight_decay must be >= 0, got {self.weight_decay}": self.weight_decay >= 0,
                f"value_loss_weight must be >= 0, got {self.value_loss_weight}": (
                    self.value_loss_weight >= 0
                ),
                f"max_reuse must be >= 0, got {self.max_reuse}": self.max_reuse >= 0,
                f"ema must be in [0, 1), got {self.ema}": 0 <= self.ema < 1,
            },
        )


@dataclasses.dataclass(frozen=True, kw_only=True)
class ArenaConfig:
    """Gating: after each learner phase the candidate plays the best network, and replaces it
    only when it is clearly stronger. Self-play always uses the best network."""

    gate: Literal["sprt", "threshold", "none"] = "sprt"
    """"sprt": a sequential probability ratio test that stops once the result is clear (Leela
    Zero); "threshold": a fixed number of games and a winning share (alpha-zero-general);
    "none": every candidate is promoted (AlphaZero's continuous update)."""
    simulations: int = 32
    """Search simulations per arena move (no noise, the most visited move)."""
    opening_plies: int = 2
    """Random opening moves, the same for both colours of a pair of games, so games differ."""
    batch: int = 40
    """Games per round (even); the gate decides between rounds."""
    elo0: float = 0.0
    """SPRT: the Elo difference of the null hypothesis, "not stronger" (Leela Zero: 0)."""
    elo1: float = 35.0
    """SPRT: the Elo difference of the alternative, "stronger" (Leela Zero: 35)."""
    alpha: float = 0.05
    """SPRT: the chance of promoting a candidate that is not stronger."""
    beta: float = 0.05
    """SPRT: the chance of rejecting a candidate that is elo1 stronger."""
    max_games: int = 400
    """SPRT: games after which an undecided test keeps the best network (Leela Zero: 400)."""
    threshold_games: int = 40
    """Threshold gate: games played (alpha-zero-general: 40)."""
    threshold: float = 0.6
    """Threshold gate: share of the decisive games the candidate must win (alpha-zero-general:
    0.6)."""
    validation_games: int = 256
    """One-player games: validation problems drawn afresh for each gate decision; the candidate
    and the best network answer the same ones."""
    validation_player: Literal["search", "policy"] = "search"
    """One-player games: who answers the validation set, the search with ``simulations``
    simulations or the network's raw policy (its most likely legal move, no search)."""
    strength_every: int = 5
    """Generations between strength measurements of the best network; 0 = never."""
    baselines: str = "random,minimax:2"
    """Comma-separated players the best network is rated against (see `selfplay arena`); the
    first is the Elo anchor at 0. Two-player games only."""
    baseline_games: int = 20
    """Games against each baseline per measurement (even: both colours)."""
    pons_dir: str = ""
    """Connect Four: folder of Pascal Pons' test sets (e.g. ../shared/connect4) to log the share
    of optimal moves on; empty = off."""
    pons_positions: int = 100
    """Connect Four: positions from each of the End-Easy, Middle-Easy and Middle-Medium sets."""
    test_problems: int = 200
    """Text games: problems from each test split whose solve rate by the network alone (no
    search) is logged with the strength measurements; 0 = off."""

    def __post_init__(self) -> None:
        _validate(
            self,
            {
                f"simulations must be >= 1, got {self.simulations}": self.simulations >= 1,
                f"opening_plies must be >= 0, got {self.opening_plies}": self.opening_plies >= 0,
                f"batch must be even and >= 2, got {self.batch}": (
                    self.batch >= 2 and self.batch % 2 == 0
                ),
                f"elo1 ({self.elo1}) must be > elo0 ({self.elo0})": self.elo1 > self.elo0,
                f"alpha and beta must be in (0, 0.5), got {self.alpha}, {self.beta}": (
                    0 < self.alpha < 0.5 and 0 < self.beta < 0.5
                ),
                f"max_games must be >= 2, got {self.max_games}": self.max_games >= 2,
                f"threshold_games must be >= 1, got {self.threshold_games}": (
                    self.threshold_games >= 1
                ),
                f"threshold must be in (0, 1), got {self.threshold}": 0 < self.threshold < 1,
                f"validation_games must be >= 1, got {self.validation_games}": (
                    self.validation_games >= 1
                ),
                f"validation_player must be 'search' or 'policy', got {self.validation_player!r}": (
                    self.validation_player in ("search", "policy")
                ),
                f"strength_every must be >= 0, got {self.strength_every}": (
                    self.strength_every >= 0
                ),
                f"baseline_games must be even and >= 2, got {self.baseline_games}": (
                    self.baseline_games >= 2 and self.baseline_games % 2 == 0
                ),
                f"pons_positions must be >= 1, got {self.pons_positions}": (
                    self.pons_positions >= 1
                ),
                f"test_problems must be >= 0, got {self.test_problems}": self.test_problems >= 0,
            },
        )


@dataclasses.dataclass(frozen=True, kw_only=True)
class RayConfig:
    """Where the run executes."""

    address: str = ""
    """Ray cluster to join ("auto" for the one `ray start` made); empty = start Ray in-process."""
    num_cpus: int = 0
    """CPUs for an in-process Ray; 0 = all of this machine's."""
    num_gpus: int = -1
    """GPUs for an in-process Ray; -1 = all that torch sees."""

    def __post_init__(self) -> None:
        _validate(
            self,
            {
                f"num_cpus must be >= 0, got {self.num_cpus}": self.num_cpus >= 0,
                f"num_gpus must be >= -1, got {self.num_gpus}": self.num_gpus >= -1,
            },
        )


@dataclasses.dataclass(frozen=True, kw_only=True)
class RunConfig:
    """A whole training run."""

    game: str = "connect4"
    """Game spec: a registered name, path/to/file.py:Class or module:Class. A registered name
    with an entry in PRESETS brings that game's settings, applied before the overrides."""
    seed: int = 0
    """Seed of every random generator in the run."""
    run_dir: str = "runs"
    """Folder that holds the runs."""
    name: str = ""
    """This run's folder under run_dir; empty = the game and the start time."""
    generations: int = 0
    """Learner phases to run; 0 = until interrupted."""
    checkpoint_every: int = 1
    """Generations between checkpoints."""
    mcts: SearchConfig = dataclasses.field(default_factory=SearchConfig)
    """The search run by every self-play move."""
    model: ModelConfig = dataclasses.field(default_factory=ModelConfig)
    """The policy-value network."""
    selfplay: SelfPlayConfig = dataclasses.field(default_factory=SelfPlayConfig)
    """The self-play workers."""
    replay: ReplayConfig = dataclasses.field(default_factory=ReplayConfig)
    """The replay buffer."""
    learner: LearnerConfig = dataclasses.field(default_factory=LearnerConfig)
    """The learner."""
    arena: ArenaConfig = dataclasses.field(default_factory=ArenaConfig)
    """Gating of candidate networks."""
    ray: RayConfig = dataclasses.field(default_factory=RayConfig)
    """Where the run executes."""

    def __post_init__(self) -> None:
        _validate(
            self,
            {
                f"seed must be >= 0, got {self.seed}": self.seed >= 0,
                f"generations must be >= 0, got {self.generations}": self.generations >= 0,
                f"checkpoint_every must be >= 1, got {self.checkpoint_every}": (
                    self.checkpoint_every >= 1
                ),
                f"selfplay.cheap_simulations must be below mcts.simulations "
                f"({self.mcts.simulations}), got {self.selfplay.cheap_simulations}": (
                    self.selfplay.cheap_simulations < self.mcts.simulations
                ),
            },
        )


# -- Presets ------------------------------------------------------------------------------------

_TEXT_PRESET = (
    # A small causal transformer (model.channels = 64 wide, 4 layers, 4 heads: ~210k
    # parameters): cheap enough on a CPU to search with. On countdown k=3 (free, 2 cores
    # shared by two runs) it solved 56% greedy after 30 minutes, 2 layers 48-52%.
    "model.blocks=4",
    # Gumbel's improved policy is sharp where most characters lose on the spot (free mode):
    # countdown k=3 free solved ~1% of its self-play games with PUCT (64 simulations) and
    # 45-50% with Gumbel (32). Guided countdown also learns with PUCT and 64 simulations
    # (benchmarks/learn_countdown.py and the issue 6 note give both curves).
    "mcts.algorithm=gumbel",
    # 16 simulations played 1.6x the positions per second of 32 with a trained k=3 network
    # and solved 96% of the self-play problems instead of 98%; 256 games in lockstep give the
    # network bigger batches (1.2x the positions per second of 128). benchmarks/text_speed.py.
    "mcts.simulations=16",
    "selfplay.games_per_worker=256",
    "mcts.dirichlet_alpha=1.0",  # about 10 / legal moves; PUCT's root noise
    # A loss 20 characters away is worth -0.36, one right ahead -1: before its first solved
    # problem, free mode learns at least to write answers that stay right for longer.
    "selfplay.value_discount=0.95",
    # Most characters lose on the spot in free mode: sampling PUCT's moves from the visit
    # counts threw away nearly every game (answers 2.6 characters long).
    "selfplay.temperature_moves=0",
    # Solved games teach the solution: the greedy network learns what the search verified.
    "selfplay.solution_targets=true",
    "replay.window=100000",
    "replay.min_positions=2000",
    "replay.augment=false",
    # Whole games: the transformer reads all of a game's positions out of one pass (8x the
    # positions per second of single-position batches for a 64x4 network, text_speed.py on
    # k=3); a batch holds ~32 games, and 50 steps train each position about as often as 100
    # steps of 256 single positions did. learner.length_buckets stays 1: on k=3 it trained
    # 1.59x the old path's positions per second against 1.43x (whole_games.py), but the loop
    # is bound by self-play, and two 35-minute runs side by side learned alike with and
    # without it (learn_countdown_k3_buckets16.json, learn_countdown_k3_buckets1.json).
    "learner.whole_games=true",
    "learner.batch_size=512",
    "learner.steps_per_generation=50",
    "learner.lr=1e-3",
    "learner.amp=false",
    # Publish and gate a moving average of the weights: on countdown k=3 (free, dead ends, two
    # runs sharing 2 cores) the network alone solved 67% after 35 minutes with it, 60-61% in
    # two runs without; on solver answers the average was 6-10 points ahead at every step.
    "learner.ema=0.99",
    # Gate on the network alone answering validation problems: the number we optimise. The
    # gate decodes them twice (best and candidate); at 256 problems that took 2.5 of every 6.5
    # seconds of a k=3 generation with a 6-layer network, time the learner did not train.
    "arena.validation_player=policy",
    "arena.validation_games=128",
)

PRESETS: dict[str, tuple[str, ...]] = {
    # Nine squares, at most nine plies: a small net and a small search learn it in minutes.
    "tictactoe": (
        "model.blocks=2",
        "model.channels=32",
        "model.value_hidden=32",
        "mcts.simulations=32",
        "mcts.dirichlet_alpha=1.0",  # about 10 / legal moves
        "selfplay.games_per_worker=64",
        "selfplay.games_per_generation=128",
        "selfplay.temperature_moves=4",
        "replay.window=20000",
        "replay.min_positions=500",
        "learner.batch_size=128",
        "learner.steps_per_generation=50",
        "learner.warmup_steps=50",
        # Between good networks nearly every game is a draw, so a gate would rarely promote and
        # self-play would stay on an early network (benchmarks/learn_tictactoe.py: 2-4x slower).
        "arena.gate=none",
    ),
    # Sized so that a CPU-only machine sees progress within minutes: a narrow net and 64
    # simulations keep self-play at hundreds of positions per second per worker.
    "connect4": (
        "model.blocks=4",
        "model.channels=32",
        "mcts.simulations=64",
        "mcts.dirichlet_alpha=1.0",  # about 10 / legal moves
        "selfplay.games_per_generation=128",
        "learner.steps_per_generation=100",
    ),
    # Text games share _TEXT_PRESET (below).
    # About 10 legal moves and 60 plies a game: more search and longer exploration.
    "othello": (
        "mcts.simulations=200",
        "mcts.dirichlet_alpha=1.0",
        "selfplay.temperature_moves=16",
    ),
}
for _text_game in ("countdown", "game24", "addition"):
    PRESETS[_text_game] = _TEXT_PRESET
del _text_game
"""Per-game overrides that ``resolve`` applies before the user's own when ``game`` names the
game. Plain override strings, so ``--help`` shows them as they would be typed."""


# -- Fields by dotted name ----------------------------------------------------------------------


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    """The declared type of each field of a config dataclass, in declaration order."""
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls)}


def _is_section(hint: Any) -> bool:
    return isinstance(hint, type) and dataclasses.is_dataclass(hint)


def _valid_keys(cls: type, prefix: str) -> str:
    """'valid keys under mcts: a, b, c' for a section; top level lists fields then sections."""
    hints = _hints(cls)
    fields = sorted(name for name, hint in hints.items() if not _is_section(hint))
    sections = sorted(name for name, hint in hints.items() if _is_section(hint))
    where = f"under {prefix}" if prefix else "at the top level"
    text = f"valid keys {where}: {', '.join(fields)}"
    if sections:
        text += f"; sections: {', '.join(sections)} (set their fields, e.g. {sections[0]}.X=...)"
    return text


def _lookup(key: str) -> Any:
    """The declared type of the field at dotted ``key``; ConfigError if there is none."""
    parts = key.split(".")
    cls: type = RunConfig
    for i, part in enumerate(parts):
        prefix = ".".join(parts[:i])
        hints = _hints(cls)
        if part not in hints:
            message = f"unknown key {key!r}; {_valid_keys(cls, prefix)}"
            close = difflib.get_close_matches(part, list(hints), n=1)
            if close:
                message += f"; did you mean {'.'.join([*parts[:i], close[0]])!r}?"
            raise ConfigError(message)
        hint = hints[part]
        if i == len(parts) - 1:
            if _is_section(hint):
                raise ConfigError(
                    f"{key!r} is a section and cannot be assigned; set its fields instead, "
                    f"e.g. {key}.X=...; {_valid_keys(hint, key)}"
                )
            return hint
        if not _is_section(hint):
            field = ".".join(parts[: i + 1])
            raise ConfigError(f"unknown key {key!r}: {field!r} is a plain field, not a section")
        cls = hint
    raise AssertionError("unreachable")


def _type_name(hint: Any) -> str:
    if typing.get_origin(hint) is Literal:
        return "{" + ", ".join(str(c) for c in typing.get_args(hint)) + "}"
    return getattr(hint, "__name__", str(hint))


_TRUE = ("true", "yes", "1")
_FALSE = ("false", "no", "0")


def _parse(key: str, text: str, hint: Any) -> Any:
    """Converts the text after ``key=`` to the field's declared type."""
    stripped = text.strip()
    if typing.get_origin(hint) is Literal:
        choices = typing.get_args(hint)
        for choice in choices:
            if stripped == str(choice):
                return choice
        expected = ", ".join(repr(c) for c in choices)
        raise ConfigError(f"bad value {text!r} for {key}: expected one of {expected}")
    if hint is bool:
        if stripped.lower() in _TRUE:
            return True
        if stripped.lower() in _FALSE:
            return False
        raise ConfigError(f"bad value {text!r} for {key}: expected bool (true/false, yes/no, 1/0)")
    if hint is int:
        try:
            return int(stripped)
        except ValueError:
            raise ConfigError(f"bad value {text!r} for {key}: expected int") from None
    if hint is float:
        try:
            value = float(stripped)
        except ValueError:
            raise ConfigError(f"bad value {text!r} for {key}: expected float") from None
        if not math.isfinite(value):
            raise ConfigError(f"bad value {text!r} for {key}: expected a finite float")
        return value
    if hint is str:
        return text
    raise TypeError(f"config field {key} has a type overrides can't set: {hint!r}")


def _check(key: str, value: Any, hint: Any) -> Any:
    """Checks a loaded (JSON) value against the field's declared type; ints pass as floats."""
    if typing.get_origin(hint) is Literal:
        ok = value in typing.get_args(hint)
    elif hint is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        value = float(value) if ok else value
    elif hint is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    else:
        ok = isinstance(value, hint)
    if not ok:
        raise ConfigError(f"bad value {value!r} for {key}: expected {_type_name(hint)}")
    return value


def _apply(
    obj: Any, path: tuple[str, ...], values: Mapping[tuple[str, ...], tuple[Any, str]]
) -> Any:
    """``obj`` with the values whose dotted path lies under ``path`` replaced.

    ``values`` maps a field's path to (value, the text that set it); a dataclass's own
    validation error comes back as a ConfigError naming that text.
    """
    changes, sources = {}, []
    for name, hint in _hints(type(obj)).items():
        sub = (*path, name)
        if _is_section(hint):
            if any(key[: len(sub)] == sub for key in values):
                changes[name] = _apply(getattr(obj, name), sub, values)
        elif sub in values:
            changes[name], source = values[sub]
            sources.append(source)
    if not changes:
        return obj
    try:
        return dataclasses.replace(obj, **changes)
    except ValueError as e:
        where = ", ".join(sources) or ".".join(path)
        raise ConfigError(f"{where}: {e}") from e


# -- Overrides and presets ----------------------------------------------------------------------


def parse_overrides(args: Sequence[str], base: RunConfig | None = None) -> RunConfig:
    """``base`` (default: ``RunConfig()``) with ``key=value`` overrides applied; later args win.

    Keys are dotted field names (``mcts.simulations=200``); values are converted to the
    field's declared type (bools: true/false, yes/no, 1/0; Literal fields: one of the choices).
    Raises ConfigError for an unknown key, a bad value, an assigned section or an arg
    without ``=``, and for values the dataclasses' own validation rejects.
    """
    values: dict[tuple[str, ...], tuple[Any, str]] = {}
    for arg in args:
        key, sep, text = arg.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError(f"override {arg!r} is not key=value (e.g. mcts.simulations=200)")
        hint = _lookup(key)
        path = tuple(key.split("."))
        values[path] = (_parse(key, text, hint), arg)
    return _apply(RunConfig() if base is None else base, (), values)


def resolve(args: Sequence[str]) -> RunConfig:
    """The run configuration for command-line ``args``: the game's preset, then ``args``.

    The game is the last ``game=`` arg (else RunConfig's default), its preset found by the name
    before any ``@options``; a game without an entry in PRESETS (a plug-in file, say) gets the
    plain defaults.
    """
    game = RunConfig().game
    for arg in args:
        key, sep, text = arg.partition("=")
        if sep and key.strip() == "game":
            game = text
    return parse_overrides([*PRESETS.get(game.partition("@")[0].strip(), ()), *args])


# -- Documentation ------------------------------------------------------------------------------


def field_docs(cls: type) -> dict[str, str]:
    """The attribute docstrings of a dataclass: the string literal right after each field."""
    return dict(_field_docs(cls))


@functools.cache
def _field_docs(cls: type) -> dict[str, str]:
    tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    body = next(node for node in tree.body if isinstance(node, ast.ClassDef)).body
    docs = {}
    for node, after in itertools.pairwise(body):
        if (
            isinstance(node, ast.AnnAssign)
            and isinstance(node.target, ast.Name)
            and isinstance(after, ast.Expr)
            and isinstance(after.value, ast.Constant)
            and isinstance(after.value.value, str)
        ):
            docs[node.target.id] = inspect.cleandoc(after.value.value)
    return docs


def _format_value(value: Any) -> str:
    return json.dumps(value)


def help_text(config: RunConfig | None = None) -> str:
    """Every field by dotted name with its type, value and docstring, grouped by section.

    Shows ``config``'s values (noting defaults they differ from), else the defaults; ends with
    the game presets.
    """
    lines = ["Settings: override any with key=value, e.g. mcts.simulations=200 replay.augment=no."]

    def section(obj: Any, prefix: str, title: str) -> None:
        cls = type(obj)
        lines.extend(["", f"{title}: {inspect.getdoc(cls).splitlines()[0]}"])
        defaults, docs = cls(), _field_docs(cls)
        for name, hint in _hints(cls).items():
            if _is_section(hint):
                continue
            value, default = getattr(obj, name), getattr(defaults, name)
            entry = f"  {prefix}{name}: {_type_name(hint)} = {_format_value(value)}"
            if value != default:
                entry += f"  (default {_format_value(default)})"
            lines.append(entry)
            lines.extend(f"      {line}" for line in docs.get(name, "").splitlines())

    config = RunConfig() if config is None else config
    section(config, "", "run")
    for name, hint in _hints(RunConfig).items():
        if _is_section(hint):
            section(getattr(config, name), f"{name}.", name)
    lines.extend(["", "presets: applied before the overrides when game=NAME"])
    for game, preset in PRESETS.items():
        text = f"{game}: {' '.join(preset) if preset else '(the defaults)'}"
        lines.extend(textwrap.wrap(text, 98, initial_indent="  ", subsequent_indent="      "))
    return "\n".join(lines) + "\n"


# -- Saving, loading, printing ------------------------------------------------------------------


def to_dict(config: RunConfig) -> dict[str, Any]:
    """The configuration as nested plain dicts, ready for JSON and checkpoints."""
    return dataclasses.asdict(config)


def from_dict(d: Mapping[str, Any]) -> RunConfig:
    """The RunConfig that ``to_dict`` made; missing keys take their defaults.

    Raises ConfigError for unknown keys, values of the wrong type, and values the dataclasses
    reject, as ``parse_overrides`` does.
    """
    values: dict[tuple[str, ...], tuple[Any, str]] = {}

    def walk(mapping: Mapping[str, Any], prefix: str) -> None:
        for name, value in mapping.items():
            key = f"{prefix}{name}"
            if isinstance(value, Mapping):
                walk(value, f"{key}.")
                continue
            value = _check(key, value, _lookup(key))
            values[tuple(key.split("."))] = (value, f"{key}={_format_value(value)}")

    walk(d, "")
    return _apply(RunConfig(), (), values)


def _flatten(obj: Any, prefix: str = "") -> list[tuple[str, Any]]:
    items = []
    for name, hint in _hints(type(obj)).items():
        value = getattr(obj, name)
        if _is_section(hint):
            items.extend(_flatten(value, f"{prefix}{name}."))
        else:
            items.append((f"{prefix}{name}", value))
    return items


def format_config(config: RunConfig) -> str:
    """Every setting as an aligned ``dotted.key = value`` line (values as JSON)."""
    items = _flatten(config)
    width = max(len(key) for key, _ in items)
    return "".join(f"{key:<{width}} = {_format_value(value)}\n" for key, value in items)


# -- Smoke test ---------------------------------------------------------------------------------


def smoke(config: RunConfig) -> RunConfig:
    """A tiny configuration derived from ``config`` that runs the whole loop in seconds.

    Keeps the game, seed, run_dir and name and every setting not about size; shrinks the
    network, the search, the self-play batch, the replay buffer and the learner, and runs two
    generations with a checkpoint after each.
    """
    return dataclasses.replace(
        config,
        generations=2,
        checkpoint_every=1,
        mcts=dataclasses.replace(config.mcts, simulations=8),
        model=dataclasses.replace(config.model, blocks=1, channels=8, value_hidden=8),
        selfplay=dataclasses.replace(
            config.selfplay, workers=1, games_per_worker=8, games_per_generation=8
        ),
        replay=dataclasses.replace(
            config.replay, window=max(config.replay.window, 16), min_positions=16
        ),
        learner=dataclasses.replace(
            config.learner, batch_size=16, steps_per_generation=2, warmup_steps=1
        ),
        arena=dataclasses.replace(
            config.arena, simulations=4, batch=4, max_games=8, threshold_games=4,
            validation_games=8, baseline_games=2, pons_positions=4, test_problems=8,
        ),
    )  # fmt: skip
