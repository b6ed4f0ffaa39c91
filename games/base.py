"""The batched game API every game implements, and the static facts kept apart from state.

A game's state is a NumPy *structured* array of shape ``[B]`` (one record per game) with the
game's own ``state_dtype``. Records can be indexed, copied, concatenated and stored in large
node tables by the search without knowing what is inside them, and compiled kernels read the
fields as plain arrays (``states["board"]`` is a ``[B, ...]`` view).

Conventions (shape letters: B batch, A actions, P players):

- Players are numbered from 0. ``current_player`` is ``TERMINAL`` (-1) at terminal states.
- ``legal_actions_mask`` is True where legal and all True at terminal states, so normalising a
  policy over it never divides by zero.
- ``apply_actions`` is functional: it returns new states and never changes its input. At a
  terminal state it is a no-op (the game is over; the action is ignored).
- ``returns`` is ``[B, P]`` float32 in [-1, 1]: the final outcome for each player at terminal
  states, zero elsewhere. Two-player games are zero-sum.
- ``observation_tensor`` is float32, from the view of the player to move.
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod

import numpy as np

TERMINAL = -1
"""``current_player`` of a finished game."""


@dataclasses.dataclass(frozen=True)
class GameSpec:
    """Static facts about a game: what a network, a buffer and a checkpoint need to know."""

    name: str
    version: int  # bump whenever rules or observations change; recorded in checkpoints
    num_players: int  # 1 (puzzles, text tasks) or 2 (zero-sum board games)
    num_actions: int  # size of the action space A; actions are 0..A-1
    observation_shape: tuple[int, ...]  # shape of one observation, without the batch dim
    max_game_length: int  # upper bound on plies from the initial state to a terminal one
    vocabulary_size: int = 0  # > 0: observations are token ids 0..V-1 (0 = padding), text games
    # The narrowest dtype that holds every observation exactly: the replay buffer stores its
    # positions in it ("uint8" for 0/1 planes and token ids, a quarter of float32's bytes)
    # and hands the network float32.
    observation_dtype: str = "float32"

    def __post_init__(self) -> None:
        problems = []
        if not isinstance(self.name, str) or not self.name:
            problems.append(f"name must be a non-empty string, got {self.name!r}")
        if not isinstance(self.version, int) or self.version < 1:
            problems.append(f"version must be an int >= 1, got {self.version!r}")
        if self.num_players not in (1, 2):
            problems.append(f"num_players must be 1 or 2, got {self.num_players!r}")
        if not isinstance(self.num_actions, int) or self.num_actions < 1:
            problems.append(f"num_actions must be an int >= 1, got {self.num_actions!r}")
        shape = self.observation_shape
        if not isinstance(shape, tuple) or not all(isinstance(d, int) and d > 0 for d in shape):
            problems.append(f"observation_shape must be a tuple of positive ints, got {shape!r}")
        if not isinstance(self.max_game_length, int) or self.max_game_length < 1:
            problems.append(f"max_game_length must be an int >= 1, got {self.max_game_length!r}")
        if not isinstance(self.vocabulary_size, int) or self.vocabulary_size < 0:
            problems.append(f"vocabulary_size must be an int >= 0, got {self.vocabulary_size!r}")
        elif self.vocabulary_size and len(shape) != 1:
            problems.append(f"token observations must be 1-D [T], got shape {shape!r}")
        try:
            numeric = np.dtype(self.observation_dtype).kind in "biuf"
        except TypeError:
            numeric = False
        if not numeric:
            problems.append(
                f"observation_dtype must name a numpy number type such as 'uint8' or "
                f"'float32', got {self.observation_dtype!r}"
            )
        if problems:
            raise ValueError(f"invalid GameSpec {self.name!r}: " + "; ".join(problems))


def stored_observations(observations: np.ndarray, dtype: str | np.dtype) -> np.ndarray:
    """``observations`` in ``dtype``; a ValueError where a value would change (a fraction or
    a number out of range for a narrow dtype), since the network would then learn from
    observations the game never made. The replay buffer stores observations through it, and
    the conformance suite checks a game's observations with it."""
    dtype = np.dtype(dtype)
    if observations.dtype == dtype:
        return observations
    with np.errstate(invalid="ignore", over="ignore"):
        cast = observations.astype(dtype)
    if not np.array_equal(cast, observations):
        bad = observations[cast != observations]
        raise ValueError(
            f"observations hold values that {dtype} cannot store exactly (such as "
            f"{bad.flat[0]!r}): declare a wider GameSpec.observation_dtype"
        )
    return cast


class IllegalActionError(ValueError):
    """An action that is not legal in its position; names the game, the action and the board."""

    def __init__(self, game: str, action: int, index: int, position: str, reason: str = ""):
        self.game, self.action, self.index, self.position = game, action, index, position
        why = f": {reason}" if reason else ""
        super().__init__(
            f"{game}: illegal action {action} in game {index} of the batch{why}; "
            f"position:\n{position}"
        )


class Game(ABC):
    """A batched game. Subclasses set ``spec`` and ``state_dtype`` and implement the rules.

    Subclasses implement ``_apply_actions`` (no checks); the public ``apply_actions`` checks
    the actions first so an illegal one raises ``IllegalActionError`` and nothing changes.
    """

    spec: GameSpec
    state_dtype: np.dtype

    # -- rules ---------------------------------------------------------------------------
    @abstractmethod
    def new_initial_states(
        self, batch_size: int, rng: np.random.Generator | None = None
    ) -> np.ndarray:
        """``batch_size`` initial states. ``rng`` is for games whose start is random."""

    @abstractmethod
    def current_player(self, states: np.ndarray) -> np.ndarray:
        """int8 ``[B]``: the player to move, ``TERMINAL`` where the game is over."""

    @abstractmethod
    def legal_actions_mask(self, states: np.ndarray) -> np.ndarray:
        """bool ``[B, A]``: True where legal; all True at terminal states."""

    @abstractmethod
    def _apply_actions(self, states: np.ndarray, actions: np.ndarray) -> np.ndarray:
        """New states after ``actions`` (int ``[B]``, already checked legal)."""

    @abstractmethod
    def is_terminal(self, states: np.ndarray) -> np.ndarray:
        """bool ``[B]``."""

    @abstractmethod
    def returns(self, states: np.ndarray) -> np.ndarray:
        """float32 ``[B, P]``: each player's outcome at terminal states, zero elsewhere."""

    @abstractmethod
    def observation_tensor(self, states: np.ndarray) -> np.ndarray:
        """float32 ``[B, *spec.observation_shape]`` from the view of the player to move."""

    # -- text ----------------------------------------------------------------------------
    @abstractmethod
    def action_to_string(self, action: int) -> str:
        """A short human name for ``action`` that ``string_to_action`` reads back."""

    def string_to_action(self, text: str) -> int:
        """The action named ``text``; raises ValueError naming the valid forms."""
        wanted = text.strip().lower()
        for action in range(self.spec.num_actions):
            if self.action_to_string(action).lower() == wanted:
                return action
        examples = ", ".join(self.action_to_string(a) for a in range(min(4, self.spec.num_actions)))
        raise ValueError(
            f"{self.spec.name}: no action named {text!r} (actions look like {examples})"
        )

    @abstractmethod
    def render(self, states: np.ndarray, index: int = 0) -> str:
        """The position of game ``index`` of the batch as text for people."""

    # -- optional ------------------------------------------------------------------------
    def symmetries(
        self, observations: np.ndarray, policies: np.ndarray
    ) -> list[tuple[np.ndarray, np.ndarray]]:
        """Equivalent (observation ``[B, ...]``, policy ``[B, A]``) pairs for augmentation.

        The first pair is the input itself. Games without symmetries keep this default.
        """
        return [(observations, policies)]

    def validation_states(self, batch_size: int, rng: np.random.Generator) -> np.ndarray:
        """One-player games: the problems the gate scores networks on; by default drawn like
        training problems (``new_initial_states``)."""
        return self.new_initial_states(batch_size, rng)

    def hindsight(
        self, state: np.ndarray, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """One-player games, hindsight relabelling (HER): for the lost game that ended in
        ``state`` (a batch of one), a won game of another training problem that makes the same
        moves as far as it can. Returns its states ``[T + 1]``, from the first to the final
        one, and the ``T`` actions between them; None when there is none (the default)."""
        return None

    # -- provided ------------------------------------------------------------------------
    def apply_actions(
        self, states: np.ndarray, actions: np.ndarray, *, check: bool = True
    ) -> np.ndarray:
        """New states after each game in the batch plays its action; the input is unchanged.

        Raises ``IllegalActionError`` for the first illegal action, naming the position.
        ``check=False`` skips the checks, for callers (the search) whose actions come from the
        legal mask.
        """
        if not check:
            return self._apply_actions(states, np.asarray(actions, dtype=np.int64))
        states = self._check_states(states)
        actions = np.asarray(actions)
        if actions.shape != states.shape or not np.issubdtype(actions.dtype, np.integer):
            raise ValueError(
                f"{self.spec.name}: actions must be integers of shape {states.shape}, "
                f"got {actions.dtype} {actions.shape}"
            )
        out_of_range = (actions < 0) | (actions >= self.spec.num_actions)
        if out_of_range.any():
            i = int(np.flatnonzero(out_of_range)[0])
            raise IllegalActionError(
                self.spec.name,
                int(actions[i]),
                i,
                self.render(states, i),
                f"actions are 0..{self.spec.num_actions - 1}",
            )
        mask = self.legal_actions_mask(states)
        legal = mask[np.arange(len(states)), actions]
        if not legal.all():
            i = int(np.flatnonzero(~legal)[0])
            raise IllegalActionError(
                self.spec.name,
                int(actions[i]),
                i,
                self.render(states, i),
                f"{self.action_to_string(int(actions[i]))!r} is not a legal move here",
            )
        return self._apply_actions(states, actions.astype(np.int64, copy=False))

    def _check_states(self, states: np.ndarray) -> np.ndarray:
        if not isinstance(states, np.ndarray) or states.dtype != self.state_dtype:
            got = getattr(states, "dtype", type(states).__name__)
            raise TypeError(
                f"{self.spec.name}: states must be an array of this game's state_dtype "
                f"(from new_initial_states), got {got}"
            )
        if states.ndim != 1:
            raise ValueError(f"{self.spec.name}: states must have shape [B], got {states.shape}")
        return states

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.spec.name} v{self.spec.version})"


def dihedral_symmetries(
    observations: np.ndarray, policies: np.ndarray, height: int, width: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    """The 8 rotations and reflections of a square board: observations ``[B, C, H, W]``,
    policies ``[B, H*W + extra]`` with board actions row-major and any extra actions (such as
    a pass) left in place."""
    if height != width:
        raise ValueError("dihedral symmetries need a square board")
    b = len(policies)
    board = policies[:, : height * width].reshape(b, height, width)
    extra = policies[:, height * width :]
    pairs = []
    for flip in (False, True):
        for k in range(4):
            obs, pol = observations, board
            if flip:
                obs, pol = obs[..., ::-1], pol[..., ::-1]
            obs, pol = np.rot90(obs, k, axes=(-2, -1)), np.rot90(pol, k, axes=(-2, -1))
            flat = np.concatenate([pol.reshape(b, -1), extra], axis=1)
            pairs.append((np.ascontiguousarray(obs), np.ascontiguousarray(flat)))
    return pairs


class TwoPlayerGame(Game):
    """Shared bookkeeping for two-player zero-sum games whose ``state_dtype`` has the fields
    ``player`` (int8, 0 or 1: who moves next) and ``outcome`` (int8, one of the constants
    below). Subclasses write the rules; this class answers who moves, whether the game is over
    and what it returned."""

    ONGOING, FIRST_WINS, SECOND_WINS, DRAW = 0, 1, 2, 3

    def current_player(self, states: np.ndarray) -> np.ndarray:
        states = self._check_states(states)
        return np.where(states["outcome"] == self.ONGOING, states["player"], TERMINAL).astype(
            np.int8
        )

    def is_terminal(self, states: np.ndarray) -> np.ndarray:
        return self._check_states(states)["outcome"] != self.ONGOING

    _FIRST_PLAYER_RETURN = np.array([0.0, 1.0, -1.0, 0.0], dtype=np.float32)  # by outcome

    def returns(self, states: np.ndarray) -> np.ndarray:
        outcome = self._check_states(states)["outcome"]
        out = np.empty((len(outcome), 2), dtype=np.float32)
        out[:, 0] = self._FIRST_PLAYER_RETURN[outcome]
        out[:, 1] = -out[:, 0]
        return out

    def status_line(self, states: np.ndarray, index: int, names: tuple[str, str]) -> str:
        """'X to move', 'O won' or 'draw' for the game ``index`` of the batch."""
        outcome, player = int(states["outcome"][index]), int(states["player"][index])
        if outcome == self.ONGOING:
            return f"{names[player]} to move"
        if outcome == self.DRAW:
            return "draw"
        return f"{names[outcome - 1]} won"
