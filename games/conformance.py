"""The conformance suite: the invariants every game must keep for the engine to trust it.

It plays seeded random games in a batch, then checks the recorded positions from many angles
(batched against one-by-one, permuted batches, replays, illegal moves...). Each failure names
the invariant and shows the position where it broke. Users run it on their own games with
``selfplay check-game path/to/my_game.py:MyGame``; our tests run it over every built-in game.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np

from games.base import TERMINAL, Game, GameSpec, IllegalActionError, stored_observations


@dataclasses.dataclass(frozen=True)
class CheckResult:
    """The outcome of one invariant: ``detail`` says what broke and where, when it did."""

    invariant: str
    passed: bool
    detail: str = ""


class ConformanceError(AssertionError):
    """Raised by ``assert_conforms`` with every broken invariant in its message."""


@dataclasses.dataclass
class Trace:
    """Random games played in one batch: ``states[t]`` is the batch before ``actions[t]``, and
    ``states[-1]`` is the final batch (every game over, unless the game overran its length)."""

    game: Game
    states: list[np.ndarray]
    actions: list[np.ndarray]

    def position(self, t: int, i: int) -> str:
        """Game ``i`` at step ``t``: the moves that led there and the board."""
        moves = " ".join(self.game.action_to_string(int(a[i])) for a in self.actions[:t])
        board = self.game.render(self.states[t], i)
        return f"game {i} after moves [{moves}]:\n{board}"


def play_random_games(game: Game, num_games: int, rng: np.random.Generator) -> Trace:
    """Uniformly random legal play for all games in one batch until every game is over.

    Stops after ``max_game_length`` plies even if some game is not over; the caller checks.
    Finished games keep receiving an action (the first their mask allows), which must leave
    them unchanged.
    """
    states = game.new_initial_states(num_games, rng=rng)
    trace = Trace(game, [states], [])
    for _ in range(game.spec.max_game_length):
        done = game.is_terminal(states)
        if done.all():
            break
        mask = game.legal_actions_mask(states)
        actions = np.array([rng.choice(np.flatnonzero(row)) for row in mask])
        actions[done] = mask[done].argmax(axis=1)
        states = game.apply_actions(states, actions)
        trace.actions.append(actions)
        trace.states.append(states)
    return trace


def _snapshot(game: Game, states: np.ndarray) -> dict[str, np.ndarray]:
    """Everything the engine reads from a batch of states."""
    return {
        "current_player": np.asarray(game.current_player(states)),
        "legal_actions_mask": np.asarray(game.legal_actions_mask(states)),
        "is_terminal": np.asarray(game.is_terminal(states)),
        "returns": np.asarray(game.returns(states)),
        "observation_tensor": np.asarray(game.observation_tensor(states)),
    }


def _first_difference(a: dict, b: dict) -> tuple[str, int] | None:
    for key in a:
        rows = (np.asarray(a[key]) != np.asarray(b[key])).reshape(len(a[key]), -1).any(axis=1)
        if rows.any():
            return key, int(np.flatnonzero(rows)[0])
    return None


def _same_states(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per game: are the two records byte for byte equal?"""
    return (a.view(np.uint8).reshape(len(a), -1) == b.view(np.uint8).reshape(len(b), -1)).all(1)


Check = Callable[[Trace, np.random.Generator], "str | None"]
CHECKS: list[tuple[str, Check]] = []


def _check(invariant: str):
    def register(fn: Check) -> Check:
        CHECKS.append((invariant, fn))
        return fn

    return register


@_check("spec and state type")
def _spec(trace: Trace, rng: np.random.Generator) -> str | None:
    game = trace.game
    if not isinstance(game.spec, GameSpec):
        return f"spec is {type(game.spec).__name__}, not a GameSpec"
    dtype = getattr(game, "state_dtype", None)
    if not isinstance(dtype, np.dtype) or dtype.names is None:
        return f"state_dtype must be a structured np.dtype, got {dtype!r}"
    first = trace.states[0]
    if not isinstance(first, np.ndarray) or first.dtype != dtype or first.ndim != 1:
        return f"new_initial_states returned {type(first).__name__} {getattr(first, 'dtype', '')}"
    if len(game.new_initial_states(3, rng=rng)) != 3:
        return "new_initial_states(3) did not return 3 states"
    if game.is_terminal(first).any():
        return "an initial state is already terminal"
    return None


@_check("shapes and dtypes")
def _shapes(trace: Trace, rng: np.random.Generator) -> str | None:
    spec = trace.game.spec
    for t, states in enumerate(trace.states):
        b = len(states)
        expected = {
            "current_player": ((b,), "integer"),
            "legal_actions_mask": ((b, spec.num_actions), np.bool_),
            "is_terminal": ((b,), np.bool_),
            "returns": ((b, spec.num_players), np.float32),
            "observation_tensor": ((b, *spec.observation_shape), np.float32),
        }
        snapshot = _snapshot(trace.game, states)
        for key, value in snapshot.items():
            shape, dtype = expected[key]
            ok = (
                np.issubdtype(value.dtype, np.integer)
                if dtype == "integer"
                else value.dtype == dtype
            )
            if value.shape != shape or not ok:
                return f"{key} at step {t} is {value.dtype} {value.shape}, expected {dtype} {shape}"
            if value.dtype.kind == "f" and not np.isfinite(value).all():
                return f"{key} at step {t} is not finite"
        try:  # the replay buffer keeps observations in the declared dtype
            stored_observations(snapshot["observation_tensor"], spec.observation_dtype)
        except ValueError as e:
            return f"observation_tensor at step {t}: {e}"
    return None


@_check("legal mask and player to move")
def _mask(trace: Trace, rng: np.random.Generator) -> str | None:
    game = trace.game
    for t, states in enumerate(trace.states):
        snap = _snapshot(game, states)
        done, mask, player = snap["is_terminal"], snap["legal_actions_mask"], snap["current_player"]
        for i in range(len(states)):
            if done[i] and not mask[i].all():
                return f"a terminal state's mask is not all True, {trace.position(t, i)}"
            if done[i] and player[i] != TERMINAL:
                return f"current_player is {player[i]} at a terminal state, {trace.position(t, i)}"
            if not done[i] and not mask[i].any():
                return f"a live state has no legal action, {trace.position(t, i)}"
            if not done[i] and not 0 <= player[i] < game.spec.num_players:
                return f"current_player is {player[i]} at a live state, {trace.position(t, i)}"
    return None


@_check("returns")
def _returns(trace: Trace, rng: np.random.Generator) -> str | None:
    game = trace.game
    for t, states in enumerate(trace.states):
        returns, done = game.returns(states), game.is_terminal(states)
        for i in range(len(states)):
            if np.abs(returns[i]).max() > 1:
                return f"returns {returns[i]} outside [-1, 1], {trace.position(t, i)}"
            if not done[i] and returns[i].any():
                return f"returns {returns[i]} before the game is over, {trace.position(t, i)}"
            if done[i] and game.spec.num_players == 2 and returns[i].sum() != 0:
                return f"returns {returns[i]} are not zero-sum, {trace.position(t, i)}"
    return None


@_check("games end within max_game_length")
def _length(trace: Trace, rng: np.random.Generator) -> str | None:
    done = trace.game.is_terminal(trace.states[-1])
    if not done.all():
        i = int(np.flatnonzero(~done)[0])
        limit = trace.game.spec.max_game_length
        return f"not over after {limit} plies, {trace.position(len(trace.actions), i)}"
    return None


@_check("batched play equals one-by-one play")
def _batched(trace: Trace, rng: np.random.Generator) -> str | None:
    game = trace.game
    for i in range(len(trace.states[0])):
        single = trace.states[0][i : i + 1].copy()
        for t, states in enumerate(trace.states):
            if t > 0:
                single = game.apply_actions(single, trace.actions[t - 1][i : i + 1])
            if not _same_states(single, states[i : i + 1])[0]:
                return f"state differs at step {t}, {trace.position(t, i)}"
            batched = {k: v[i : i + 1] for k, v in _snapshot(game, states).items()}
            diff = _first_difference(_snapshot(game, single), batched)
            if diff:
                return f"{diff[0]} differs at step {t}, {trace.position(t, i)}"
    return None


@_check("results independent of batch position")
def _permuted(trace: Trace, rng: np.random.Generator) -> str | None:
    game = trace.game
    for t, states in enumerate(trace.states):
        perm = rng.permutation(len(states))
        expected = {k: v[perm] for k, v in _snapshot(game, states).items()}
        diff = _first_difference(_snapshot(game, states[perm]), expected)
        if diff:
            where = trace.position(t, perm[diff[1]])
            return f"{diff[0]} changes with batch order at step {t}, {where}"
        if t < len(trace.actions):
            moved = game.apply_actions(states[perm], trace.actions[t][perm])
            same = _same_states(moved, trace.states[t + 1][perm])
            if not same.all():
                i = int(perm[np.flatnonzero(~same)[0]])
                return f"apply_actions depends on batch order at step {t}, {trace.position(t, i)}"
    return None


@_check("deterministic replay")
def _determinism(trace: Trace, rng: np.random.Generator) -> str | None:
    game = trace.game
    states = trace.states[0].copy()
    for t, actions in enumerate(trace.actions):
        states = game.apply_actions(states, actions)
        same = _same_states(states, trace.states[t + 1])
        if not same.all():
            i = int(np.flatnonzero(~same)[0])
            return f"replaying the same moves gave another state, {trace.position(t + 1, i)}"
    return None


@_check("apply_actions leaves its input unchanged; finished games stay finished")
def _functional(trace: Trace, rng: np.random.Generator) -> str | None:
    game = trace.game
    for t, actions in enumerate(trace.actions):
        before = trace.states[t].copy()
        after = game.apply_actions(trace.states[t], actions)
        if not _same_states(before, trace.states[t]).all():
            return f"apply_actions changed its input at step {t}"
        done = game.is_terminal(before)
        changed = done & ~_same_states(before, after)
        if changed.any():
            i = int(np.flatnonzero(changed)[0])
            return f"a move changed a finished game, {trace.position(t, i)}"
    return None


@_check("illegal actions raise IllegalActionError and change nothing")
def _illegal(trace: Trace, rng: np.random.Generator) -> str | None:
    game = trace.game
    for t, states in enumerate(trace.states):
        mask = game.legal_actions_mask(states)
        for i in np.flatnonzero(~mask.all(axis=1))[:4]:
            bad = int(rng.choice(np.flatnonzero(~mask[i])))
            actions = np.where(np.arange(len(states)) == i, bad, mask.argmax(axis=1))
            for attempt in (actions, np.full(len(states), game.spec.num_actions)):
                before = states.copy()
                try:
                    game.apply_actions(states, attempt)
                except IllegalActionError:
                    pass
                else:
                    name = game.action_to_string(bad) if attempt is actions else "out of range"
                    return f"illegal action {name} was accepted, {trace.position(t, i)}"
                if not _same_states(before, states).all():
                    return f"a rejected action changed the batch at step {t}"
    return None


@_check("action names round-trip")
def _strings(trace: Trace, rng: np.random.Generator) -> str | None:
    game = trace.game
    names = [game.action_to_string(a) for a in range(game.spec.num_actions)]
    if len(set(names)) != len(names):
        return "two actions share a name"
    for action, name in enumerate(names):
        if game.string_to_action(name) != action:
            return f"string_to_action({name!r}) != {action}"
    return None


@_check("render")
def _render(trace: Trace, rng: np.random.Generator) -> str | None:
    for states in (trace.states[0], trace.states[-1]):
        text = trace.game.render(states, 0)
        if not isinstance(text, str) or not text.strip():
            return f"render returned {text!r}"
    return None


@_check("symmetries")
def _symmetries(trace: Trace, rng: np.random.Generator) -> str | None:
    game = trace.game
    states = trace.states[len(trace.states) // 2]
    obs = game.observation_tensor(states)
    policies = np.tile(np.arange(game.spec.num_actions, dtype=np.float32), (len(states), 1))
    pairs = game.symmetries(obs, policies)
    if not pairs or not (
        np.array_equal(pairs[0][0], obs) and np.array_equal(pairs[0][1], policies)
    ):
        return "the first symmetry must be the identity"
    for k, (o, p) in enumerate(pairs):
        if o.shape != obs.shape or p.shape != policies.shape:
            return f"symmetry {k} changed shapes to {o.shape}, {p.shape}"
        if not (np.sort(p, axis=1) == policies).all():
            return f"symmetry {k} does not permute the actions"
    return None


def check_game(game: Game, *, num_games: int = 32, seed: int = 0) -> list[CheckResult]:
    """Runs every invariant on ``num_games`` seeded random games; one result per invariant."""
    rng = np.random.default_rng(seed)
    try:
        trace = play_random_games(game, num_games, rng)
    except Exception as e:  # the game's own code failed: that is the finding
        return [CheckResult("random play", False, f"raised {type(e).__name__}: {e}")]
    results = []
    for invariant, check in CHECKS:
        try:
            detail = check(trace, rng)
        except Exception as e:
            detail = f"raised {type(e).__name__}: {e}"
        results.append(CheckResult(invariant, detail is None, detail or ""))
    return results


def assert_conforms(game: Game, **kwargs) -> None:
    """Raises ``ConformanceError`` naming every broken invariant of ``game``."""
    failed = [r for r in check_game(game, **kwargs) if not r.passed]
    if failed:
        raise ConformanceError(
            f"{game.spec.name} breaks {len(failed)} invariant(s):\n"
            + "\n".join(f"- {r.invariant}: {r.detail}" for r in failed)
        )
