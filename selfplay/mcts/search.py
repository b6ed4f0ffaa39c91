"""The batched search: B trees advance in lockstep, one compiled kernel call per step.

Each step picks a leaf in every tree (``select_leaves``), advances all new leaves with one
``apply_actions`` call, evaluates the non-terminal ones with one evaluator call, and backs the
values up (``backup``). Terminal leaves are valued by the game's returns, never the network.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import logging
from collections.abc import Callable

import numpy as np

from games.base import Game
from selfplay.mcts import numba_backend
from selfplay.mcts.common import (
    choose_actions,
    considered_visit_sequence,
    root_noise,
)
from selfplay.mcts.config import SearchConfig
from selfplay.mcts.tree import Tree, store_evaluations

log = logging.getLogger("selfplay.mcts")

Evaluator = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]
"""observations ``[B, *obs]`` -> (policy logits ``[B, A]``, values ``[B]`` in [-1, 1] from the
view of the player to move)."""


@dataclasses.dataclass(frozen=True)
class Backend:
    """The two hot kernels; everything else is shared by all backends."""

    name: str
    select_leaves: Callable
    backup: Callable


@functools.cache
def resolve_backend(name: str) -> Backend:
    """The backend called ``name``; "auto" takes C++ when it imports, and logs its choice."""
    if name == "numba":
        return Backend("numba", numba_backend.select_leaves, numba_backend.backup)
    if name in ("cpp", "auto"):
        try:
            core = importlib.import_module("selfplay._core")
            log.info("search backend: cpp (asked for %r)", name)
            return Backend("cpp", core.select_leaves, core.backup)
        except (ImportError, AttributeError) as e:
            if name == "cpp":
                raise RuntimeError(
                    f"backend='cpp' was asked for but the C++ search core is unavailable ({e}); "
                    "reinstall with `pip install -e .` to build it, or use backend='numba'"
                ) from e
            log.warning("C++ search core unavailable (%s); using the Numba backend", e)
            return resolve_backend("numba")
    raise ValueError(f"unknown backend {name!r}; choose 'auto', 'cpp' or 'numba'")


@dataclasses.dataclass(frozen=True)
class SearchOutput:
    visit_counts: np.ndarray  # int32 [B, A] visits of each root action
    root_values: np.ndarray  # float64 [B] mean value at the root, player-to-move's view
    policy: np.ndarray  # float64 [B, A] training target: visit shares or Gumbel's improved policy
    actions: np.ndarray  # int64 [B] the moves to play
    tree: Tree  # pass tree.advance(actions) to the next search to reuse the subtrees
    backend: str  # which kernels ran


def search(
    game: Game,
    states: np.ndarray,
    evaluator: Evaluator,
    config: SearchConfig,
    rng: np.random.Generator,
    tree: Tree | None = None,
) -> SearchOutput:
    """Runs ``config.simulations`` simulations in each of the B trees rooted at ``states``.

    ``tree`` (from ``output.tree.advance(actions)``) reuses last move's subtrees where their root
    is the given state (PUCT only; Gumbel's schedule starts from zero visits).
    """
    backend = resolve_backend(config.backend)
    if config.terminal_values == "network" and game.spec.num_players != 1:
        raise ValueError("terminal_values='network' is for one-player games")
    done = game.is_terminal(states)
    if done.any():
        raise ValueError(f"cannot search from terminal states (games {np.flatnonzero(done)})")
    b_size, k = len(states), config.leaves_per_step
    capacity = config.simulations + 1
    if tree is None or tree.batch_size != b_size or config.algorithm == "gumbel":
        tree = Tree.empty(game, b_size, capacity)
    else:
        stale = (tree.num_nodes == 0) | (_bytes(tree.states[:, 0]) != _bytes(states)).any(axis=1)
        tree.num_nodes[stale] = 0
        tree = tree.grown(int(tree.num_nodes.max()) + capacity)
    hidden = config.terminal_values == "network"
    _init_roots(game, tree, states, evaluator, hidden)

    mask = tree.legal[:, 0]
    dirichlet, gumbel = root_noise(rng, mask, config)
    tree.root_prior[:] = tree.prior[:, 0]
    if config.algorithm == "puct" and config.dirichlet_fraction > 0:
        f = config.dirichlet_fraction
        tree.root_prior[:] = (1 - f) * tree.prior[:, 0] + f * dirichlet
    gumbel_search = config.algorithm == "gumbel"
    schedule = _schedule(tree, config) if gumbel_search else np.zeros((1, 1), np.int32)
    algorithm = numba_backend.GUMBEL if config.algorithm == "gumbel" else numba_backend.PUCT
    players = game.spec.num_players

    leaves = np.zeros((b_size, k), dtype=np.int32)
    new = np.zeros((b_size, k), dtype=bool)
    sim = 0
    while sim < config.simulations:
        num_leaves = min(k, config.simulations - sim)
        backend.select_leaves(
            *tree.kernel_args(), gumbel, schedule, sim, num_leaves, algorithm, players,
            config.c_init, config.c_base, config.fpu_reduction, config.virtual_loss,
            config.c_visit, config.c_scale, leaves, new,
        )  # fmt: skip
        _evaluate_new_leaves(
            game, tree, evaluator, leaves[:, :num_leaves], new[:, :num_leaves], hidden
        )
        backend.backup(tree.parent, tree.player_in, tree.visits, tree.virtual, tree.value_sum,
                       tree.leaf_value, leaves, num_leaves, players)  # fmt: skip
        sim += num_leaves

    rows = np.arange(b_size)[:, None]
    root_children = tree.children[:, 0]
    visits = np.where(root_children >= 0, tree.visits[rows, np.maximum(root_children, 0)], 0)
    q = tree.value_sum[:, 0] / tree.visits[:, 0]
    flip = (players == 2) & (tree.to_play[:, 0] != tree.player_in[:, 0])
    root_values = np.where(flip, -q, q)
    stats = (tree.children, tree.prior, tree.legal, tree.to_play, tree.visits, tree.virtual,
             tree.value_sum, tree.leaf_value, players, config.virtual_loss, config.c_visit,
             config.c_scale)  # fmt: skip
    if config.algorithm == "gumbel":
        policy = numba_backend.improved_policy(*stats)
        actions = numba_backend.gumbel_actions(gumbel, *stats)
    else:
        policy = visits / visits.sum(axis=1, keepdims=True)
        actions = choose_actions(rng, visits, config.temperature)
    return SearchOutput(visits.astype(np.int32), root_values, policy, actions, tree, backend.name)


def _bytes(records: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(records).view(np.uint8).reshape(len(records), -1)


def _init_roots(
    game: Game, tree: Tree, states: np.ndarray, evaluator: Evaluator, hidden: bool
) -> None:
    """Evaluates the roots of the empty trees, which become a single evaluated node."""
    fresh = np.flatnonzero(tree.num_nodes == 0)
    if len(fresh) == 0:
        return
    tree.num_nodes[fresh] = 1
    tree.children[fresh, 0] = -1
    tree.parent[fresh, 0] = -1
    tree.action_in[fresh, 0] = -1
    tree.virtual[fresh, 0] = 0
    tree.states[fresh, 0] = states[fresh]
    tree.player_in[fresh, 0] = game.current_player(states[fresh])
    zeros = np.zeros(len(fresh), dtype=np.int32)
    _store_evaluations(game, tree, evaluator, fresh, zeros, states[fresh], hidden)
    tree.visits[fresh, 0] = 1
    signed = np.where((game.spec.num_players == 2) & (tree.player_in[fresh, 0] == 1), -1.0, 1.0)
    tree.value_sum[fresh, 0] = signed * tree.leaf_value[fresh, 0]


def _evaluate_new_leaves(game, tree, evaluator, leaves, new, hidden) -> None:
    rows, cols = np.nonzero(new)
    if len(rows) == 0:
        return
    nodes = leaves[rows, cols]
    # Flat indices into the [B, N] arrays: one-dimensional takes are much cheaper.
    flat = rows * tree.capacity + nodes
    parents = rows * tree.capacity + tree.parent.reshape(-1)[flat]
    all_states = tree.states.reshape(-1)
    # The search only plays actions from the legal mask, so they need no checking.
    states = game.apply_actions(all_states[parents], tree.action_in.reshape(-1)[flat], check=False)
    all_states[flat] = states
    _store_evaluations(game, tree, evaluator, rows, nodes, states, hidden)


def _store_evaluations(game, tree, evaluator, rows, nodes, states, hidden) -> None:
    """Fills in the evaluation of nodes ``tree[rows, nodes]`` whose states are ``states``.
    ``hidden``: terminal states are valued by the network instead of the game's returns."""
    terminal = game.is_terminal(states)
    if hidden:  # the network sees every state; terminal ones take its value as their return
        logits, values = evaluator(game.observation_tensor(states))
        outcomes = np.where(terminal, np.asarray(values, np.float64), 0.0)
        live = ~terminal
        logits, values = np.asarray(logits)[live], np.asarray(values)[live]
    else:
        outcomes = game.returns(states)[:, 0].astype(np.float64)
        if terminal.all():  # nothing for the network to see
            logits = np.zeros((0, game.spec.num_actions), np.float32)
            values = np.zeros(0, np.float32)
        else:
            live = ~terminal
            observations = game.observation_tensor(states if live.all() else states[live])
            logits, values = evaluator(observations)
    store_evaluations(
        tree.prior, tree.legal, tree.terminal, tree.to_play, tree.leaf_value, tree.evaluated,
        rows, nodes, game.legal_actions_mask(states), terminal, game.current_player(states),
        outcomes, np.ascontiguousarray(logits), np.ascontiguousarray(values),
        game.spec.num_players,
    )  # fmt: skip


def _schedule(tree: Tree, config: SearchConfig) -> np.ndarray:
    """int32 ``[B, simulations]``: the sequential-halving schedule of each root."""
    considerable = (tree.legal[:, 0] & (tree.prior[:, 0] > 0)).sum(axis=1)
    m = np.minimum(considerable, config.max_considered_actions)
    return np.stack([_cached_sequence(int(x), config.simulations) for x in m])


@functools.lru_cache(maxsize=256)
def _cached_sequence(num_considered: int, simulations: int) -> np.ndarray:
    return considered_visit_sequence(num_considered, simulations)
