"""Finished self-play games and the replay buffer the learner samples positions from.

Shapes: T plies of one game, B sampled positions, A actions, P players. A position is one
(observation, search policy, final outcome) triple; ``values`` always take the view of the
player to move at that position (for one-player games, simply the player's return).

The buffer is a plain class with no Ray import, so it runs the same in a process, a test or a
Ray actor. Its counters make data reuse visible: ``reuse_ratio`` is how many times, on
average, each position added has been sampled for training.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from games.base import Game, stored_observations

FORMAT_VERSION = 1
"""Version of the file ``ReplayBuffer.save`` writes; bumped when its contents change."""


@dataclasses.dataclass(frozen=True, eq=False)
class GameRecord:
    """One finished game, ply by ply. Build it with ``GameRecord.from_plies``."""

    observations: np.ndarray  # [T, *obs] from the view of the player to move, in the game's
    # spec.observation_dtype (float32 unless the game declares a narrower one)
    policies: np.ndarray  # float32 [T, A] the search's policy target at each ply
    values: np.ndarray  # float32 [T] final outcome for the player to move at each ply
    players: np.ndarray  # int8 [T] the player to move at each ply
    actions: np.ndarray  # int64 [T] the move played at each ply
    returns: np.ndarray  # float32 [P] the final returns
    weights_version: int  # the network version that played the game's first move
    hindsight: bool = False  # relabelled from a lost game (``Game.hindsight``), not played
    sampled: bool = False  # an answer the network wrote alone (``selfplay.answer_samples``)

    def __post_init__(self) -> None:
        t = len(self.values)
        problems = [
            f"{name} has {len(getattr(self, name))} plies"
            for name in ("observations", "policies", "players", "actions")
            if len(getattr(self, name)) != t
        ]
        if t == 0:
            problems.append("a game has at least one ply")
        if self.policies.ndim != 2:
            problems.append(f"policies must be [T, A], got shape {self.policies.shape}")
        if self.returns.ndim != 1:
            problems.append(f"returns must be [P], got shape {self.returns.shape}")
        if problems:
            raise ValueError(f"invalid GameRecord with {t} values: " + "; ".join(problems))

    @property
    def played(self) -> bool:
        """Whether self-play played this game (not a hindsight twin or a sampled answer)."""
        return not (self.hindsight or self.sampled)

    @property
    def length(self) -> int:
        """Plies T (= positions the game gives the buffer)."""
        return len(self.values)

    @classmethod
    def from_plies(
        cls,
        observations: Sequence[np.ndarray] | np.ndarray,
        policies: Sequence[np.ndarray] | np.ndarray,
        players: Sequence[int] | np.ndarray,
        actions: Sequence[int] | np.ndarray,
        returns: np.ndarray,
        weights_version: int = 0,
        discount: float = 1.0,
        hindsight: bool = False,
        sampled: bool = False,
        observation_dtype: str | np.dtype = np.float32,
    ) -> GameRecord:
        """A record from per-ply data (lists of rows or stacked arrays) and the final returns
        ``[P]``; each ply's value is the return of the player who was to move there, times
        ``discount`` to the power of the plies after it. Observations are kept in
        ``observation_dtype`` (the game's ``spec.observation_dtype``), which must hold them
        exactly."""
        players = np.asarray(players, dtype=np.int8)
        returns = np.asarray(returns, dtype=np.float32).reshape(-1)
        if len(players) == 0:
            raise ValueError("a game record needs at least one ply")
        if players.min() < 0 or players.max() >= len(returns):
            raise ValueError(f"players must be in 0..{len(returns) - 1}, got {np.unique(players)}")
        return cls(
            observations=stored_observations(np.stack(observations), observation_dtype),
            policies=np.stack(policies).astype(np.float32, copy=False),
            values=(returns[players] * discount ** np.arange(len(players) - 1, -1, -1)).astype(
                np.float32
            ),
            players=players,
            actions=np.asarray(actions, dtype=np.int64),
            returns=returns,
            weights_version=int(weights_version),
            hindsight=hindsight,
            sampled=sampled,
        )


class ReplayLoadError(ValueError):
    """A replay buffer file that cannot be read back; the message names the file and why."""


class ReplayBuffer:
    """The last ``window`` positions of self-play, in preallocated ring arrays.

    Position number ``s`` (counting every position ever added, from 0) lives in slot
    ``s % window``; the stored ones are always the newest ``len(self)``. Sampling is uniform
    over the stored positions and draws from the buffer's own generator. Observations are
    stored in ``observation_dtype`` (the game's ``spec.observation_dtype``) and sampled as
    float32.
    """

    def __init__(
        self,
        window: int,
        observation_shape: tuple[int, ...],
        num_actions: int,
        seed: int | np.random.SeedSequence = 0,
        observation_dtype: str | np.dtype = np.float32,
    ):
        if not isinstance(window, int) or window < 1:
            raise ValueError(f"window must be an int >= 1, got {window!r}")
        self.window = window
        self.observation_shape = tuple(int(d) for d in observation_shape)
        self.num_actions = int(num_actions)
        self.observation_dtype = np.dtype(observation_dtype)
        self.observations = np.zeros((window, *self.observation_shape), self.observation_dtype)
        self.policies = np.zeros((window, self.num_actions), dtype=np.float32)
        self.values = np.zeros(window, dtype=np.float32)
        self.versions = np.zeros(window, dtype=np.int64)  # weights_version of each position
        self.plies = np.zeros(window, dtype=np.int32)  # each position's index in its game
        self.game_lengths = np.ones(window, dtype=np.int32)  # positions in its game
        self.positions_added = 0  # every position ever added, those slid out included
        self.games_added = 0
        self.positions_sampled = 0
        self.rng = np.random.default_rng(seed)
        # Bucketed whole-game batches drawn but not handed out yet (``sample(buckets=...)``),
        # with the (batch_size, buckets) they were cut for; ``add`` drops them (slots may be
        # overwritten).
        self._pending: list[np.ndarray] = []
        self._pending_for: tuple[int, int] | None = None

    def __len__(self) -> int:
        return min(self.positions_added, self.window)

    # -- filling and sampling ---------------------------------------------------------------
    def add(self, records: Sequence[GameRecord]) -> None:
        """Appends whole games, oldest first; when they hold more than ``window`` positions
        only the newest ones stay."""
        if not records:
            return
        for record in records:
            if record.observations.shape[1:] != self.observation_shape:
                raise ValueError(
                    f"observations of shape {record.observations.shape[1:]} do not fit a buffer "
                    f"of {self.observation_shape}"
                )
            if record.policies.shape[1] != self.num_actions:
                raise ValueError(
                    f"policies over {record.policies.shape[1]} actions do not fit a buffer of "
                    f"{self.num_actions}"
                )
        total = sum(r.length for r in records)
        keep = min(total, self.window)
        # Only the last `keep` positions are written: skip whole games that would slide out.
        first, skipped = 0, 0
        while total - skipped - records[first].length >= keep:
            skipped += records[first].length
            first += 1
        kept = records[first:]
        cut = total - skipped - keep  # positions to drop from the start of the first kept game
        serials = np.arange(self.positions_added + total - keep, self.positions_added + total)
        slots = serials % self.window
        observations = np.concatenate([r.observations for r in kept])[cut:]
        self.observations[slots] = stored_observations(observations, self.observation_dtype)
        self.policies[slots] = np.concatenate([r.policies for r in kept])[cut:]
        self.values[slots] = np.concatenate([r.values for r in kept])[cut:]
        lengths = [r.length for r in kept]
        self.versions[slots] = np.repeat([r.weights_version for r in kept], lengths)[cut:]
        self.plies[slots] = np.concatenate([np.arange(n) for n in lengths])[cut:]
        self.game_lengths[slots] = np.repeat(lengths, lengths)[cut:]
        self.positions_added += total
        self.games_added += len(records)
        self._pending.clear()

    def sample(
        self,
        batch_size: int,
        game: Game | None = None,
        whole_games: bool = False,
        buckets: int = 1,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``batch_size`` positions drawn uniformly with replacement: observations float32
        ``[B, *obs]``, policies float32 ``[B, A]``, values float32 ``[B]``. With ``game``,
        each position is replaced by one of ``game.symmetries`` drawn uniformly.

        ``whole_games``: games drawn uniformly, each with all its positions in order, until
        there are at least ``batch_size`` (every position is still equally likely to be in a
        batch). A text network reads a whole game's positions out of one pass.

        ``buckets`` (with ``whole_games``): the games of that many batches are drawn at once,
        sorted by length and cut into batches of games of about one length, which the next
        calls hand out in random order. A text batch is cut to its longest row, so bucketing
        spares short games the padding of long ones; each game is still drawn uniformly."""
        if len(self) == 0:
            raise ValueError("cannot sample from an empty replay buffer")
        if not isinstance(buckets, int) or buckets < 1:
            raise ValueError(f"buckets must be an int >= 1, got {buckets!r}")
        # Slots 0..len-1 are exactly the stored ones, whether or not the ring has wrapped.
        if whole_games and buckets > 1:
            slots = self._bucketed_slots(batch_size, buckets)
        elif whole_games:
            slots = self._slots_of(self._game_starts(batch_size))
        else:
            slots = self.rng.integers(len(self), size=batch_size)
        observations = self.observations[slots].astype(np.float32, copy=False)
        policies, values = self.policies[slots], self.values[slots]
        batch_size = len(slots)
        self.positions_sampled += batch_size
        if game is not None and batch_size > 0:
            count = len(game.symmetries(observations[:1], policies[:1]))
            which = self.rng.integers(count, size=batch_size)
            for k in np.unique(which):
                if k == 0:  # the identity
                    continue
                rows = np.flatnonzero(which == k)
                observations[rows], policies[rows] = game.symmetries(
                    observations[rows], policies[rows]
                )[k]
        return observations, policies, values

    def _game_starts(self, positions: int) -> list[int]:
        """First slots of whole games drawn uniformly until they hold at least ``positions``
        positions. A game is drawn when a uniformly drawn slot is its first position, so every
        stored game is equally likely; a game whose first positions slid out of the window is
        never drawn."""
        starts: list[int] = []
        total = 0
        while total < positions:
            drawn = self.rng.integers(len(self), size=max(64, 4 * positions))
            for start in drawn[self.plies[drawn] == 0].tolist():
                starts.append(start)
                total += int(self.game_lengths[start])
                if total >= positions:
                    break
            if not starts and (self.plies[: len(self)] != 0).all():
                raise ValueError("no whole game left in the replay buffer to sample")
        return starts

    def _slots_of(self, starts: Sequence[int]) -> np.ndarray:
        """The slots of the games that start at ``starts``, each game's in order."""
        return np.concatenate([(s + np.arange(self.game_lengths[s])) % self.window for s in starts])

    def _bucketed_slots(self, batch_size: int, buckets: int) -> np.ndarray:
        """The next of up to ``buckets`` batches of whole games of about one length."""
        if self._pending_for != (batch_size, buckets):
            self._pending.clear()
            self._pending_for = (batch_size, buckets)
        if not self._pending:
            starts = np.array(self._game_starts(batch_size * buckets))
            lengths = self.game_lengths[starts]
            starts = starts[np.argsort(lengths, kind="stable")]  # ties stay in drawn order
            # A batch closes once it holds batch_size positions; a short remainder joins the
            # last batch, so that every batch holds at least batch_size.
            parts: list[list[int]] = [[]]
            held = 0
            for start in starts.tolist():
                if held >= batch_size:
                    parts.append([])
                    held = 0
                parts[-1].append(start)
                held += int(self.game_lengths[start])
            if held < batch_size and len(parts) > 1:
                parts[-2].extend(parts.pop())
            batches = [self._slots_of(part) for part in parts]
            self._pending = [batches[i] for i in self.rng.permutation(len(batches))]
        return self._pending.pop()

    # -- logging ------------------------------------------------------------------------------
    @property
    def nbytes(self) -> int:
        """Bytes the buffer's arrays take, whether or not they are filled yet."""
        arrays = (self.observations, self.policies, self.values, self.versions, self.plies,
                  self.game_lengths)  # fmt: skip
        return sum(a.nbytes for a in arrays)

    @property
    def reuse_ratio(self) -> float:
        """Positions sampled / positions added: how many times each position is trained on."""
        return self.positions_sampled / self.positions_added if self.positions_added else 0.0

    @property
    def mean_age(self) -> float:
        """Mean age of the stored positions in network versions, counted from the newest
        version stored: ``version_age`` without knowing the learner's current version.

        (Counted in positions added since, the age says nothing: the stored positions are
        always the newest ``len(self)``, so their mean age is ``(len - 1) / 2``.)"""
        if len(self) == 0:
            return 0.0
        return self.version_age(int(self.versions[: len(self)].max()))

    def version_age(self, current_version: int) -> float:
        """Mean of ``current_version`` minus the network version that played each stored
        position: how stale the training data is."""
        if len(self) == 0:
            return 0.0
        return float(current_version - self.versions[: len(self)].mean())

    # -- persistence ----------------------------------------------------------------------------
    def state_dict(self) -> dict[str, np.ndarray | int]:
        """The buffer as arrays (stored positions oldest first) and ints; independent of the
        ring layout, so it loads into a buffer with another window."""
        n = len(self)
        order = np.arange(self.positions_added - n, self.positions_added) % self.window
        return {
            "format_version": FORMAT_VERSION,
            "window": self.window,
            "observation_shape": np.array(self.observation_shape, dtype=np.int64),
            "observation_dtype": np.array(self.observation_dtype.str),
            "num_actions": self.num_actions,
            "observations": self.observations[order],
            "policies": self.policies[order],
            "values": self.values[order],
            "versions": self.versions[order],
            "plies": self.plies[order],
            "game_lengths": self.game_lengths[order],
            "positions_added": self.positions_added,
            "games_added": self.games_added,
            "positions_sampled": self.positions_sampled,
            "rng_state": np.array(json.dumps(self.rng.bit_generator.state)),
        }

    def load_state_dict(self, state: dict) -> None:
        """Restores ``state_dict()``; with a smaller window only the newest positions stay."""
        shape = tuple(int(d) for d in np.asarray(state["observation_shape"]))
        if shape != self.observation_shape or int(state["num_actions"]) != self.num_actions:
            raise ValueError(
                f"saved positions have observations {shape} and {int(state['num_actions'])} "
                f"actions; this buffer holds {self.observation_shape} and {self.num_actions}"
            )
        n = len(state["values"])
        added = int(state["positions_added"])
        keep = min(n, self.window)
        slots = np.arange(added - keep, added) % self.window
        self.observations[slots] = stored_observations(
            state["observations"][n - keep :], self.observation_dtype
        )
        self.policies[slots] = state["policies"][n - keep :]
        self.values[slots] = state["values"][n - keep :]
        self.versions[slots] = state["versions"][n - keep :]
        # Files written before games were tracked: each position counts as a game of its own.
        self.plies[slots] = state.get("plies", np.zeros(n, np.int32))[n - keep :]
        self.game_lengths[slots] = state.get("game_lengths", np.ones(n, np.int32))[n - keep :]
        self.positions_added = added
        self.games_added = int(state["games_added"])
        self._pending.clear()  # slots of the buffer as it was
        self.positions_sampled = int(state["positions_sampled"])
        self.rng.bit_generator.state = json.loads(str(state["rng_state"]))

    def save(self, path: str | os.PathLike) -> None:
        """Writes the buffer to ``path`` (an .npz archive) atomically: a crash mid-write
        leaves any previous file there whole."""
        path = Path(path)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                np.savez(f, **self.state_dict())
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    @classmethod
    def load(cls, path: str | os.PathLike) -> ReplayBuffer:
        """The buffer ``save`` wrote to ``path``, its sampling generator's state included.
        Raises FileNotFoundError or ReplayLoadError."""
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"no replay buffer file at {path}")
        try:
            with np.load(path, allow_pickle=False) as archive:
                state = {key: archive[key] for key in archive.files}
            version = int(state["format_version"])
            if version != FORMAT_VERSION:
                raise ReplayLoadError(
                    f"{path} is a replay buffer of format {version}; this code reads "
                    f"format {FORMAT_VERSION}"
                )
            shape = tuple(int(d) for d in state["observation_shape"])
            # Files written before observations were stored narrow hold float32.
            dtype = str(state.get("observation_dtype", "float32"))
            buffer = cls(int(state["window"]), shape, int(state["num_actions"]), 0, dtype)
            buffer.load_state_dict(state)
        except ReplayLoadError:
            raise
        except (zipfile.BadZipFile, OSError, EOFError, KeyError, ValueError, TypeError) as e:
            raise ReplayLoadError(
                f"{path} is not a readable replay buffer (corrupt or truncated?): "
                f"{type(e).__name__}: {e}"
            ) from e
        return buffer
