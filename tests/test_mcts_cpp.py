"""The C++ tree kernels (selfplay._core): the same trees as Numba's, bit for bit, and loud
errors instead of silent copies or writes out of bounds."""

from __future__ import annotations

import numpy as np
import pytest
from toy_games import LineWalk, hash_evaluator

import games
from selfplay.mcts import SearchConfig, search
from selfplay.mcts import numba_backend as nbk
from selfplay.mcts.tree import KERNEL_FIELDS, Tree

_core = pytest.importorskip("selfplay._core")
if not hasattr(_core, "select_leaves"):
    pytest.skip("this build of selfplay._core has no search kernels", allow_module_level=True)

CONFIGS = {
    "puct-virtual-loss-fpu": dict(simulations=90, leaves_per_step=8, fpu_reduction=0.25,
                                  virtual_loss=2.0),
    "puct-sequential": dict(simulations=60),
    "gumbel": dict(simulations=40, algorithm="gumbel", max_considered_actions=4),
}  # fmt: skip


def _positions(game, count, plies, seed):
    rng = np.random.default_rng(seed)
    states = game.new_initial_states(count)
    for _ in range(plies):
        mask = game.legal_actions_mask(states)
        states = game.apply_actions(states, np.where(mask, rng.random(mask.shape), -1).argmax(1))
    return states[~game.is_terminal(states)]


@pytest.mark.parametrize("config_name", sorted(CONFIGS))
@pytest.mark.parametrize("game_name", ["connect4", "linewalk"])
def test_trees_match_numba_bit_for_bit(config_name, game_name):
    game = LineWalk() if game_name == "linewalk" else games.make(game_name)
    states = _positions(game, 48, 2 if game_name == "linewalk" else 6, seed=5)
    trees = {}
    for backend in ("numba", "cpp"):
        config = SearchConfig(backend=backend, **CONFIGS[config_name])
        out = search(game, states, hash_evaluator(game.spec.num_actions), config,
                     np.random.default_rng(11))  # fmt: skip
        assert out.backend == backend
        trees[backend] = out.tree
    for name in KERNEL_FIELDS:
        np.testing.assert_array_equal(getattr(trees["cpp"], name), getattr(trees["numba"], name),
                                      err_msg=name)  # fmt: skip


def _one_root_tree(capacity: int) -> Tree:
    """One Connect Four tree whose root is evaluated, with a uniform prior."""
    tree = Tree.empty(games.make("connect4"), 1, capacity)
    tree.num_nodes[:] = 1
    tree.evaluated[0, 0] = True
    tree.legal[0, 0] = True
    tree.prior[0, 0] = tree.root_prior[0] = 1 / 7
    tree.visits[0, 0] = 1
    return tree


def _select_args(tree: Tree, **override) -> list:
    """select_leaves' arguments for one PUCT walk per tree, with some replaced by name."""
    b, a = tree.batch_size, tree.children.shape[2]
    named = dict(zip(KERNEL_FIELDS, tree.kernel_args(), strict=True))
    named |= dict(gumbel=np.zeros((b, a)), schedule=np.zeros((1, 1), np.int32), sim_index=0,
                  num_leaves=1, algorithm=nbk.PUCT, num_players=2, c_init=1.25, c_base=19652.0,
                  fpu_reduction=0.0, virtual_loss=1.0, c_visit=50.0, c_scale=0.1,
                  out_leaf=np.zeros((b, 1), np.int32), out_new=np.zeros((b, 1), bool))  # fmt: skip
    named |= override
    return list(named.values())


def _backup_args(tree: Tree, leaves: np.ndarray) -> list:
    return [tree.parent, tree.player_in, tree.visits, tree.virtual, tree.value_sum,
            tree.leaf_value, leaves, leaves.shape[1], 2]  # fmt: skip


def test_a_full_tree_raises_instead_of_writing_past_its_end():
    tree = _one_root_tree(capacity=2)
    args = _select_args(tree)
    _core.select_leaves(*args)  # node 1 fills the tree
    assert tree.num_nodes[0] == 2
    leaves = args[-2]
    assert args[-1][0, 0] and leaves[0, 0] == 1
    tree.evaluated[0, 1] = True  # evaluated, not terminal, no children yet
    tree.legal[0, 1] = True
    tree.prior[0, 1] = 1 / 7
    _core.backup(*_backup_args(tree, leaves))
    with pytest.raises(RuntimeError, match="tree 0 is full"):
        _core.select_leaves(*_select_args(tree))


@pytest.mark.parametrize(
    ("override", "message"),
    [
        (dict(prior=np.zeros((1, 4, 6))), r"prior must have shape \[B, N, A\] = \[1, 4, 7\]"),
        (dict(visits=np.zeros(4, np.int32)), r"visits must have shape \[B, N\]"),
        (dict(out_new=np.zeros((1, 2), bool)), r"out_new must have shape \[B, K\]"),
        (dict(num_leaves=2), r"num_leaves = 2 is outside \[0, 1\]"),
        (dict(algorithm=2), "algorithm = 2 is outside"),
        (dict(algorithm=nbk.GUMBEL, schedule=np.zeros((2, 5), np.int32)),
         r"schedule must have shape \[B, S\] = \[1, 5\], got \[2, 5\]"),
        (dict(algorithm=nbk.GUMBEL, schedule=np.zeros((1, 3), np.int32), sim_index=3),
         r"sim_index = 3 is outside \[0, 2\]"),
    ],
)  # fmt: skip
def test_bad_shapes_and_sizes_are_value_errors(override, message):
    tree = _one_root_tree(capacity=4)
    with pytest.raises(ValueError, match=message):
        _core.select_leaves(*_select_args(tree, **override))
    assert tree.num_nodes[0] == 1 and tree.virtual[0, 0] == 0  # nothing was touched


@pytest.mark.parametrize("problem", ["dtype", "order", "read-only"])
def test_arrays_that_would_need_a_copy_are_refused(problem):
    tree = _one_root_tree(capacity=4)
    if problem == "dtype":
        visits = tree.visits.astype(np.int64)
    elif problem == "order":
        visits = np.zeros((1, 8), np.int32)[:, ::2]  # [1, 4], strided: C order needs a copy
    else:
        visits = tree.visits.copy()
        visits.flags.writeable = False
    with pytest.raises(TypeError):
        _core.select_leaves(*_select_args(tree, visits=visits))


def test_backup_rejects_leaves_outside_the_tree_before_changing_anything():
    tree = _one_root_tree(capacity=4)
    with pytest.raises(ValueError, match=r"leaves\[0, 0\] = 4 is not a node index in \[0, 4\)"):
        _core.backup(*_backup_args(tree, np.array([[4]], np.int32)))
    assert tree.visits[0, 0] == 1 and tree.virtual[0, 0] == 0
