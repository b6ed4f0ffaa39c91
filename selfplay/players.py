"""Players for the arena: anything that picks a move for each game of a batch.

    player.act(game, states, rng, histories)  # -> int64 [B], a legal action per game

``states`` is a batch ``[B]`` of non-terminal positions, not necessarily with the same player to
move; ``histories[b]`` lists the actions played in game ``b`` since its initial state (the
arena keeps them; players must not change them), or ``histories`` is None where they are not
known. Every player has a ``name`` for tables.

- ``RandomPlayer``: a uniformly random legal move.
- ``PolicyPlayer``: an evaluator's raw policy, greedy or sampled at a temperature; no search.
- ``NetworkPlayer``: the batched search over a policy-value network, or its raw policy.
- ``RolloutMCTSPlayer``: plain UCT whose leaves are valued by random playouts; no network.
- ``MinimaxPlayer``: depth-limited negamax with alpha-beta and a transposition table.
- ``SolverPlayer``: perfect Connect Four from the exact solver.

Shapes: B games, A actions, P players.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol, runtime_checkable

import numpy as np

import games
from games.base import Game
from selfplay.mcts import Evaluator, SearchConfig, search
from selfplay.mcts.common import masked_softmax

if TYPE_CHECKING:  # torch is imported only when a network plays
    from selfplay.model import PolicyValueNet

__all__ = [
    "Heuristic",
    "MinimaxPlayer",
    "NetworkPlayer",
    "Player",
    "PolicyPlayer",
    "RandomPlayer",
    "RolloutMCTSPlayer",
    "SolverPlayer",
    "connect4_heuristic",
    "connect4_moves",
    "evaluation_config",
    "zero_heuristic",
]

Histories = Sequence[Sequence[int]] | None
"""Per game, the actions played since its initial state; None where unknown."""


@runtime_checkable
class Player(Protocol):
    """Picks one move for each game of a batch."""

    name: str

    def act(
        self, game: Game, states: np.ndarray, rng: np.random.Generator, histories: Histories
    ) -> np.ndarray:
        """int64 ``[B]``: a legal action for each of the non-terminal ``states`` ``[B]``."""
        ...


def _random_legal(rng: np.random.Generator, mask: np.ndarray) -> np.ndarray:
    """int64 ``[B]``: a uniformly random True entry of each row of ``mask`` ``[B, A]``."""
    return np.where(mask, rng.random(mask.shape), -1.0).argmax(axis=1)


def _check_live(game: Game, states: np.ndarray, who: str) -> None:
    done = game.is_terminal(states)
    if done.any():
        raise ValueError(f"{who}: game {int(np.flatnonzero(done)[0])} of the batch is over")


class RandomPlayer:
    """A uniformly random legal move."""

    def __init__(self, name: str = "random"):
        self.name = name

    def act(
        self, game: Game, states: np.ndarray, rng: np.random.Generator, histories: Histories = None
    ) -> np.ndarray:
        return _random_legal(rng, game.legal_actions_mask(states))

    def __repr__(self) -> str:
        return f"RandomPlayer({self.name!r})"


# -- network -----------------------------------------------------------------------------------


class PolicyPlayer:
    """Writes the evaluator's most likely legal move (``temperature`` 0) or one sampled from
    its policy at ``temperature``: the network alone, no search."""

    def __init__(self, evaluator: Evaluator, temperature: float = 0.0, name: str | None = None):
        self.evaluator, self.temperature = evaluator, temperature
        self.name = name or ("policy" if temperature == 0 else f"policy@{temperature:g}")

    def act(
        self, game: Game, states: np.ndarray, rng: np.random.Generator, histories: Histories = None
    ) -> np.ndarray:
        logits, _ = self.evaluator(game.observation_tensor(states))
        mask = game.legal_actions_mask(states)
        if self.temperature == 0:
            return np.where(mask, logits, -np.inf).argmax(axis=1)
        probs = masked_softmax(np.asarray(logits, np.float64) / self.temperature, mask)
        return (probs.cumsum(axis=1) > rng.random((len(states), 1))).argmax(axis=1)

    def __repr__(self) -> str:
        return f"PolicyPlayer({self.name!r})"


def evaluation_config(
    base: SearchConfig | None = None, *, simulations: int | None = None
) -> SearchConfig:
    """``base`` (default: ``SearchConfig()``) made deterministic for evaluation: no Dirichlet
    noise, temperature 0 (the most visited move), no Gumbel noise; ``simulations`` replaces
    its simulation count when given."""
    base = SearchConfig() if base is None else base
    changes = dict(dirichlet_fraction=0.0, temperature=0.0, gumbel_scale=0.0)
    if simulations is not None:
        changes["simulations"] = simulations
    return dataclasses.replace(base, **changes)


_DEFAULT = object()


class NetworkPlayer:
    """Plays a policy-value network: the batched search with ``search_config`` (default:
    ``evaluation_config()``, 100 simulations without noise, the most visited move), or the raw
    policy's most likely legal move when ``search_config`` is None. An explicit config is used
    as given, noise and temperature included.

    The model is moved to ``device`` ("auto": the GPU when torch sees one) and evaluated in
    evaluation mode; its weights are read at every move, so loading new ones updates the player.
    ``evaluator`` is what the search calls, ``decoder`` what the raw policy is read with (for
    a text network, an ``IncrementalEvaluator``: one new token per row and move).
    """

    def __init__(
        self,
        model: PolicyValueNet,
        search_config: SearchConfig | None = _DEFAULT,  # type: ignore[assignment]
        *,
        device: str = "auto",
        name: str | None = None,
    ):
        from selfplay.incremental import decoding_evaluator
        from selfplay.model import make_evaluator, pick_device

        self.model = model
        self.spec = model.spec
        self.search_config = evaluation_config() if search_config is _DEFAULT else search_config
        device = pick_device(str(device))
        self.evaluator = make_evaluator(model, device)
        self.decoder = decoding_evaluator(model, device)
        if name is None:
            sims = 0 if self.search_config is None else self.search_config.simulations
            name = f"network/{sims}" if sims else "network/policy"
        self.name = name

    @classmethod
    def from_checkpoint(
        cls,
        path: str | os.PathLike,
        game: Game | str | None = None,
        *,
        simulations: int = 100,
        raw_policy: bool = False,
        device: str = "auto",
        name: str | None = None,
    ) -> NetworkPlayer:
        """The network saved at ``path`` (a training run's checkpoint: its gated best network,
        or the learner's published one when it has none), searching with the run's own search
        settings made deterministic (``evaluation_config``) and ``simulations`` simulations, or
        playing its raw policy when ``raw_policy``.

        ``game`` is the game it will play (a ``Game`` or a spec string; default: the one the
        run trained on). Raises ``CheckpointError`` naming the file when it is missing, corrupt,
        holds no network, or was trained on another game or game version.
        """
        from selfplay.checkpoint import CheckpointError, check_compatible, load_checkpoint
        from selfplay.config import ConfigError, from_dict
        from selfplay.learner import published_weights
        from selfplay.model import PolicyValueNet

        payload = load_checkpoint(path)
        if not isinstance(payload.get("config"), dict):
            raise CheckpointError(path, "holds no run configuration (payload['config'])")
        try:
            config = from_dict(payload["config"])
        except (ConfigError, ValueError) as e:
            raise CheckpointError(path, f"its run configuration does not load: {e}") from e
        if game is None or isinstance(game, str):
            try:
                game = games.make(config.game if game is None else game)
            except games.GameLoadError as e:
                raise CheckpointError(path, f"cannot make its game: {e}") from e
        check_compatible(payload, game.spec, path=path)
        # A training run's checkpoint holds the gated best network (what self-play uses) and
        # the learner's latest one; play the best where there is one, else the learner's
        # published weights (its average, when it keeps one).
        best, learner = payload.get("best"), payload.get("learner")
        if isinstance(best, dict) and "model" in best:
            source, weights = best, best["model"]
        elif isinstance(learner, dict) and "model" in learner:
            source, weights = learner, published_weights(learner)
        else:
            source, weights = {}, None
        if not isinstance(weights, dict):
            raise CheckpointError(path, "holds no network weights (payload['learner']['model'])")
        model = PolicyValueNet(game.spec, config.model)
        try:
            model.load_state_dict(weights)
        except RuntimeError as e:
            first = str(e).strip().splitlines()[0]
            raise CheckpointError(
                path, f"its weights do not fit the network of its configuration ({first})"
            ) from e
        search_config = (
            None if raw_policy else evaluation_config(config.mcts, simulations=simulations)
        )
        if name is None:
            generation = source.get("generation", payload.get("generation"))
            stem = Path(path).stem + (f"@{generation}" if isinstance(generation, int) else "")
            name = f"{stem}/policy" if raw_policy else f"{stem}/{simulations}"
        return cls(model, search_config, device=device, name=name)

    def act(
        self, game: Game, states: np.ndarray, rng: np.random.Generator, histories: Histories = None
    ) -> np.ndarray:
        ours, theirs = self.spec, game.spec
        if (ours.name, ours.version, ours.num_actions, tuple(ours.observation_shape)) != (
            theirs.name, theirs.version, theirs.num_actions, tuple(theirs.observation_shape)
        ):  # fmt: skip
            raise ValueError(
                f"{self.name}: the network plays {ours.name!r} version {ours.version}, "
                f"not {theirs.name!r} version {theirs.version}"
            )
        if self.search_config is None:
            return PolicyPlayer(self.decoder).act(game, states, rng)
        return search(game, states, self.evaluator, self.search_config, rng).actions

    def __repr__(self) -> str:
        return f"NetworkPlayer({self.name!r})"


# -- UCT with random rollouts ------------------------------------------------------------------


def _random_playouts(game: Game, states: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The final states ``[B]`` of uniformly random games played on from ``states``."""
    states = states.copy()
    for _ in range(game.spec.max_game_length + 1):
        live = np.flatnonzero(~game.is_terminal(states))
        if len(live) == 0:
            return states
        sub = states[live]
        states[live] = game.apply_actions(
            sub, _random_legal(rng, game.legal_actions_mask(sub)), check=False
        )
    raise RuntimeError(
        f"{game.spec.name}: a random playout ran past spec.max_game_length="
        f"{game.spec.max_game_length}"
    )


class RolloutMCTSPlayer:
    """Plain UCT (Kocsis and Szepesvari 2006) with random-playout leaf values: no network.

    Each simulation walks every game's tree from the root by UCB1, expands one untried move
    (a random one), values the new leaf by one uniformly random playout to the end and backs
    the final return up. All B trees advance together. Plays the most visited move (ties to the
    better mean value). Works for one- and two-player games.
    """

    def __init__(self, simulations: int = 200, *, exploration: float = 1.4, name: str = ""):
        if not isinstance(simulations, int) or simulations < 1:
            raise ValueError(f"simulations must be an int >= 1, got {simulations!r}")
        if exploration < 0:
            raise ValueError(f"exploration must be >= 0, got {exploration}")
        self.simulations = simulations
        self.exploration = exploration
        """c in Q + c * sqrt(ln N_parent / N_child); returns are in [-1, 1] (UCB1's sqrt(2)
        is for [0, 1] rewards)."""
        self.name = name or f"uct/{simulations}"

    def act(
        self, game: Game, states: np.ndarray, rng: np.random.Generator, histories: Histories = None
    ) -> np.ndarray:
        _check_live(game, states, self.name)
        b_size, a_size = len(states), game.spec.num_actions
        capacity = self.simulations + 1
        children = np.full((b_size, capacity, a_size), -1, dtype=np.int32)
        parent = np.full((b_size, capacity), -1, dtype=np.int32)
        visits = np.zeros((b_size, capacity))
        value_sum = np.zeros((b_size, capacity))  # returns of the player who moved into the node
        player_in = np.zeros((b_size, capacity), dtype=np.int64)
        to_play = np.zeros((b_size, capacity), dtype=np.int64)
        terminal = np.zeros((b_size, capacity), dtype=bool)
        legal = np.zeros((b_size, capacity, a_size), dtype=bool)
        node_states = np.zeros((b_size, capacity), dtype=game.state_dtype)
        num_nodes = np.ones(b_size, dtype=np.int32)
        rows = np.arange(b_size)

        node_states[:, 0] = states
        legal[:, 0] = game.legal_actions_mask(states)
        to_play[:, 0] = game.current_player(states)

        for _ in range(self.simulations):
            # Selection: descend by UCB1 through fully expanded nodes.
            node = np.zeros(b_size, dtype=np.int32)
            expand = np.full(b_size, -1, dtype=np.int64)
            walking = rows
            while len(walking):
                at = node[walking]
                kids = children[walking, at]  # [w, A]
                untried = legal[walking, at] & (kids < 0)
                stop = terminal[walking, at]
                grow = untried.any(axis=1) & ~stop
                expand[walking[grow]] = _random_legal(rng, untried[grow])
                go = ~stop & ~grow
                walking, at, kids = walking[go], at[go], kids[go]
                if len(walking) == 0:
                    break
                safe = np.maximum(kids, 0)
                n = visits[walking[:, None], safe]
                q = value_sum[walking[:, None], safe] / np.maximum(n, 1)
                log_parent = np.log(visits[walking, at])[:, None]
                ucb = q + self.exploration * np.sqrt(log_parent / np.maximum(n, 1))
                ucb = np.where(legal[walking, at], ucb + 1e-9 * rng.random(ucb.shape), -np.inf)
                node[walking] = kids[np.arange(len(walking)), ucb.argmax(axis=1)]

            # Expansion: one new child in every game that found an untried move.
            grown = np.flatnonzero(expand >= 0)
            if len(grown):
                up, new, moves = node[grown], num_nodes[grown], expand[grown]
                child = game.apply_actions(node_states[grown, up], moves, check=False)
                num_nodes[grown] += 1
                node_states[grown, new] = child
                children[grown, up, moves] = new
                parent[grown, new] = up
                player_in[grown, new] = to_play[grown, up]
                terminal[grown, new] = game.is_terminal(child)
                legal[grown, new] = game.legal_actions_mask(child)
                to_play[grown, new] = game.current_player(child)
                node[grown] = new

            # Simulation and backup: every node on the path adds its mover's return.
            outcome = game.returns(_random_playouts(game, node_states[rows, node], rng))
            at = node.astype(np.int64)
            while True:
                on = np.flatnonzero(at >= 0)
                if len(on) == 0:
                    break
                cur = at[on]
                visits[on, cur] += 1
                value_sum[on, cur] += outcome[on, player_in[on, cur]]
                at[on] = parent[on, cur]

        root_kids = children[:, 0]
        safe = np.maximum(root_kids, 0)
        n = np.where(root_kids >= 0, visits[rows[:, None], safe], 0)
        q = np.where(n > 0, value_sum[rows[:, None], safe] / np.maximum(n, 1), -1.0)
        score = np.where(legal[:, 0], n + 0.25 * (q + 1.0), -np.inf)  # visits, then mean value
        return score.argmax(axis=1)

    def __repr__(self) -> str:
        return f"RolloutMCTSPlayer({self.simulations}, name={self.name!r})"


# -- minimax -----------------------------------------------------------------------------------

Heuristic = Callable[[Game, np.ndarray], np.ndarray]
"""(game, non-terminal states ``[B]``) -> float ``[B]`` in [-1, 1], the player to move's view."""


def zero_heuristic(game: Game, states: np.ndarray) -> np.ndarray:
    """Every unfinished position is worth 0: minimax then sees only forced results."""
    return np.zeros(len(states))


_C4_WIDTH, _C4_HEIGHT = 7, 6


def _connect4_windows() -> np.ndarray:
    """uint8 ``[69, 42]``: the cells (column-major, ``7 * col + row`` bit order compressed to
    ``6 * col + row``) of every line of four on the 7x6 board."""
    windows = []
    for col in range(_C4_WIDTH):
        for row in range(_C4_HEIGHT):
            for dcol, drow in ((1, 0), (0, 1), (1, 1), (1, -1)):
                cells = [(col + k * dcol, row + k * drow) for k in range(4)]
                if all(0 <= c < _C4_WIDTH and 0 <= r < _C4_HEIGHT for c, r in cells):
                    line = np.zeros(_C4_WIDTH * _C4_HEIGHT, dtype=np.uint8)
                    for c, r in cells:
                        line[_C4_HEIGHT * c + r] = 1
                    windows.append(line)
    return np.array(windows)


_C4_WINDOWS = _connect4_windows()
_C4_BITS = np.array(
    [7 * c + r for c in range(_C4_WIDTH) for r in range(_C4_HEIGHT)], dtype=np.uint64
)
_C4_CENTRE = np.array([c == 3 for c in range(_C4_WIDTH) for r in range(_C4_HEIGHT)])


def _connect4_cells(states: np.ndarray) -> np.ndarray:
    """uint8 ``[B, 2, 42]``: the stones of the player to move (0) and of the opponent (1)."""
    stones = states["stones"]  # [B, 2] bitboards, bit 7 * col + row
    mover = states["player"].astype(np.int64)
    own = stones[np.arange(len(states)), mover]
    opp = stones[np.arange(len(states)), 1 - mover]
    both = np.stack([own, opp], axis=1)
    return ((both[..., None] >> _C4_BITS) & np.uint64(1)).astype(np.uint8)


def connect4_heuristic(game: Game, states: np.ndarray) -> np.ndarray:
    """Connect Four, from the player to move's view: open threes (three stones and an empty
    cell in a line of four) count 4, open twos 1, stones in the centre column 2, each the
    player's minus the opponent's; squashed into (-1, 1) by tanh(total / 20)."""
    cells = _connect4_cells(states).astype(np.int32)
    counts = cells @ _C4_WINDOWS.T.astype(np.int32)  # [B, 2, 69] stones per line
    own, opp = counts[:, 0], counts[:, 1]
    threes = ((own == 3) & (opp == 0)).sum(axis=1) - ((opp == 3) & (own == 0)).sum(axis=1)
    twos = ((own == 2) & (opp == 0)).sum(axis=1) - ((opp == 2) & (own == 0)).sum(axis=1)
    centre = cells[:, 0, _C4_CENTRE].sum(axis=1) - cells[:, 1, _C4_CENTRE].sum(axis=1)
    return np.tanh((4.0 * threes + twos + 2.0 * centre) / 20.0)


_DISCOUNT = 0.999
"""Each ply shrinks a value by this factor: quicker wins and slower losses are preferred."""
_HEURISTIC_SCALE = 0.5
"""Heuristic leaves are worth at most this, below any result proven within a search."""
_TIE = 1e-9
_EXACT, _LOWER, _UPPER = 0, 1, 2


class MinimaxPlayer:
    """Depth-limited negamax with alpha-beta pruning and a transposition table, one position at
    a time over the game API (each node expands its children with one ``apply_actions``).

    Finished games score their return, unfinished leaves ``heuristic`` (default: Connect Four's
    ``connect4_heuristic`` for connect4, else 0) scaled to at most 0.5; values shrink by 0.999 a
    ply so the player wins fast and loses slowly. With ``depth`` at least the plies left, play
    is perfect. Equally good moves are told apart by ``tie_break``: "random" (the generator of
    ``act``) or "first" (the first in search order: centre-first in Connect Four).

    The table is kept between moves (results are exact for the depth they were searched to)
    and cleared when it passes ``table_size`` entries.
    """

    def __init__(
        self,
        depth: int,
        heuristic: Heuristic | None = None,
        *,
        tie_break: Literal["random", "first"] = "random",
        table_size: int = 2_000_000,
        name: str = "",
    ):
        if not isinstance(depth, int) or depth < 1:
            raise ValueError(f"depth must be an int >= 1, got {depth!r}")
        if tie_break not in ("random", "first"):
            raise ValueError(f"tie_break must be 'random' or 'first', got {tie_break!r}")
        self.depth = depth
        self.heuristic = heuristic
        self.tie_break = tie_break
        self.table_size = table_size
        self.name = name or f"minimax/{depth}"
        self._table: dict[tuple, tuple[int, float, int]] = {}
        self.nodes = 0
        """Positions expanded since the player was made (for benchmarks)."""

    def act(
        self, game: Game, states: np.ndarray, rng: np.random.Generator, histories: Histories = None
    ) -> np.ndarray:
        _check_live(game, states, self.name)
        heuristic = self.heuristic
        if heuristic is None:
            heuristic = connect4_heuristic if game.spec.name == "connect4" else zero_heuristic
        if len(self._table) > self.table_size:
            self._table.clear()
        actions = np.empty(len(states), dtype=np.int64)
        for b in range(len(states)):
            actions[b] = self._choose(game, states[b : b + 1], heuristic, rng)
        return actions

    # One position: children, their immediate values, and the search order.
    def _expand(self, game: Game, state: np.ndarray, depth: int, heuristic: Heuristic):
        self.nodes += 1
        mover = int(game.current_player(state)[0])
        actions = np.flatnonzero(game.legal_actions_mask(state)[0])
        if game.spec.name == "connect4":  # centre columns first: far better pruning
            actions = actions[np.argsort(np.abs(actions - 3), kind="stable")]
        kids = game.apply_actions(np.repeat(state, len(actions)), actions, check=False)
        done = game.is_terminal(kids)
        same = game.current_player(kids) == mover  # one-player games, or passes
        known = np.where(done, game.returns(kids)[:, mover] * _DISCOUNT, np.nan)
        if depth == 1 and not done.all():
            live = ~done
            h = np.clip(np.asarray(heuristic(game, kids[live]), dtype=np.float64), -1.0, 1.0)
            sign = np.where(same[live], 1.0, -1.0)
            known[live] = sign * h * _HEURISTIC_SCALE * _DISCOUNT
        finished = np.flatnonzero(done)
        finished = finished[np.argsort(-known[finished], kind="stable")]  # wins first
        order = np.concatenate([finished, np.flatnonzero(~done)])
        return actions[order], kids[order], known[order], same[order]

    def _child(self, game, kid, known, same, depth, alpha, beta, heuristic) -> float:
        """A child's value for the parent's mover, searched within (alpha, beta)."""
        if not np.isnan(known):
            return float(known)
        if same:
            v = self._value(game, kid, depth - 1, alpha / _DISCOUNT, beta / _DISCOUNT, heuristic)
            return _DISCOUNT * v
        v = self._value(game, kid, depth - 1, -beta / _DISCOUNT, -alpha / _DISCOUNT, heuristic)
        return -_DISCOUNT * v

    def _value(self, game, state, depth, alpha, beta, heuristic) -> float:
        """Fail-soft negamax value of the non-terminal one-game batch ``state``."""
        key = (game.spec.name, state.tobytes())
        hit = self._table.get(key)
        if hit is not None and hit[0] >= depth:
            _, value, flag = hit
            if flag == _EXACT:
                return value
            if flag == _LOWER:
                alpha = max(alpha, value)
            else:
                beta = min(beta, value)
            if alpha >= beta:
                return value
        _, kids, known, same = self._expand(game, state, depth, heuristic)
        best, low = -math.inf, alpha
        for i in range(len(kids)):
            v = self._child(game, kids[i : i + 1], known[i], same[i], depth, low, beta, heuristic)
            best = max(best, v)
            low = max(low, v)
            if low >= beta:
                break
        flag = _UPPER if best <= alpha else _LOWER if best >= beta else _EXACT
        if hit is None or hit[0] <= depth:
            self._table[key] = (depth, best, flag)
        return best

    def _choose(self, game, state, heuristic, rng) -> int:
        """The best move of one position; every child whose value ties the best is searched
        exactly (window (best - tie, inf)) so that ties can be broken fairly."""
        actions, kids, known, same = self._expand(game, state, self.depth, heuristic)
        best, values = -math.inf, []
        for i in range(len(kids)):
            low = best - _TIE if best > -math.inf else -math.inf
            if self.tie_break == "first" and best > -math.inf:
                low = best  # only a strictly better move matters
            v = self._child(game, kids[i : i + 1], known[i], same[i], self.depth, low, math.inf,
                            heuristic)  # fmt: skip
            values.append(v)
            best = max(best, v)
        tied = [int(a) for a, v in zip(actions, values, strict=True) if v > best - _TIE]
        if self.tie_break == "first" or len(tied) == 1:
            return tied[0]
        return int(rng.choice(tied))

    def __repr__(self) -> str:
        return f"MinimaxPlayer({self.depth}, name={self.name!r})"


# -- Connect Four solver -----------------------------------------------------------------------


def connect4_moves(states: np.ndarray, index: int) -> list[int]:
    """A sequence of 0-based columns, first player first, that builds Connect Four position
    ``index`` of ``states`` from the empty board (for the solver, which reads move lists).

    Any order of a position's stones that alternates colours and respects gravity is one the
    solver accepts, since a position without four in a row has none in any earlier one; a
    depth-first search finds such an order. Raises ValueError for a position no game reaches.
    """
    stones = [int(s) for s in states["stones"][index]]
    heights = [0] * _C4_WIDTH
    target = []
    for col in range(_C4_WIDTH):
        column = (stones[0] | stones[1]) >> (7 * col)
        target.append(bin(column & 0x3F).count("1"))
    owner = {}
    for col in range(_C4_WIDTH):
        for row in range(target[col]):
            owner[col, row] = 0 if stones[0] >> (7 * col + row) & 1 else 1
    total, dead, moves = sum(target), set(), []

    def build(ply: int) -> bool:
        if ply == total:
            return True
        key = tuple(heights)
        if key in dead:
            return False
        for col in sorted(range(_C4_WIDTH), key=lambda c: abs(c - 3)):
            if heights[col] < target[col] and owner[col, heights[col]] == ply % 2:
                heights[col] += 1
                moves.append(col)
                if build(ply + 1):
                    return True
                heights[col] -= 1
                moves.pop()
        dead.add(key)
        return False

    if not build(0):
        raise ValueError("connect4: no sequence of moves reaches this position")
    return moves


class SolverPlayer:
    """Perfect Connect Four: a move of the best exact score (Pascal Pons' scale, so the
    quickest win or the slowest loss). Ties go to a random one (``tie_break="random"``) or the
    one nearest the centre ("centre").

    The solver reads move lists: it takes ``histories`` when given (checked against the
    stone count) and otherwise rebuilds a move order from the position (``connect4_moves``).
    Its transposition table (2**log2_table_size entries of 8 bytes) persists between moves.
    """

    def __init__(
        self,
        *,
        tie_break: Literal["random", "centre"] = "random",
        log2_table_size: int = 22,
        name: str = "solver",
    ):
        if tie_break not in ("random", "centre"):
            raise ValueError(f"tie_break must be 'random' or 'centre', got {tie_break!r}")
        from selfplay.solver import Connect4Solver

        self.solver = Connect4Solver(log2_table_size)
        self.tie_break = tie_break
        self.name = name

    def act(
        self, game: Game, states: np.ndarray, rng: np.random.Generator, histories: Histories = None
    ) -> np.ndarray:
        if game.spec.name != "connect4":
            raise ValueError(f"{self.name}: the solver plays connect4 only, not {game.spec.name!r}")
        _check_live(game, states, self.name)
        if histories is not None and len(histories) != len(states):
            raise ValueError(
                f"{self.name}: {len(histories)} histories for a batch of {len(states)} games"
            )
        actions = np.empty(len(states), dtype=np.int64)
        for b in range(len(states)):
            if histories is None:
                moves = connect4_moves(states, b)
            else:
                moves = [int(m) for m in histories[b]]
                if len(moves) != int(states["plies"][b]):
                    raise ValueError(
                        f"{self.name}: game {b} has a history of {len(moves)} moves but "
                        f"{int(states['plies'][b])} stones on the board"
                    )
            scores = self.solver.analyze([m + 1 for m in moves])
            best = max(s for s in scores if s is not None)
            tied = [c for c, s in enumerate(scores) if s == best]
            if self.tie_break == "centre":
                actions[b] = min(tied, key=lambda c: abs(c - 3))
            else:
                actions[b] = tied[int(rng.integers(len(tied)))]
        return actions

    def __repr__(self) -> str:
        return f"SolverPlayer(name={self.name!r})"


PLAYER_SPECS = (
    "random",
    "minimax:DEPTH",
    "uct:SIMULATIONS",
    "solver (connect4)",
    "path/to/checkpoint.pt[:SIMULATIONS or :policy]",
)


def make_player(spec: str, game: Game) -> Player:
    """A player from a command-line spec (see ``PLAYER_SPECS``): a baseline by name, or a
    checkpoint searching with SIMULATIONS simulations (default 100) or playing its raw policy."""
    kind, _, arg = spec.partition(":")
    try:
        if kind == "random" and not arg:
            return RandomPlayer()
        if kind == "minimax":
            return MinimaxPlayer(int(arg), name=spec)
        if kind == "uct":
            return RolloutMCTSPlayer(int(arg), name=spec)
        if kind == "solver" and not arg:
            if game.spec.name != "connect4":
                raise ValueError(f"the solver plays connect4, not {game.spec.name}")
            return SolverPlayer()
    except ValueError as e:
        raise ValueError(f"player {spec!r}: {e}") from e
    if os.path.exists(kind):
        if arg == "policy":
            return NetworkPlayer.from_checkpoint(kind, game, raw_policy=True)
        if arg and not arg.isdigit():
            raise ValueError(f"player {spec!r}: expected {kind}:SIMULATIONS or {kind}:policy")
        return NetworkPlayer.from_checkpoint(kind, game, simulations=int(arg or 100))
    raise ValueError(f"unknown player {spec!r}: not a file; players are {', '.join(PLAYER_SPECS)}")
