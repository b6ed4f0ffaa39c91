"""B search trees held as arrays, so compiled kernels can walk all of them without Python.

Node 0 of each tree is its root. Shapes: B trees, N nodes of capacity per tree, A actions.
``value_sum`` adds up outcomes from the view of ``player_in``, the player who moved into the
node (for a new root, the player to move there), so a child's mean value is directly its
parent mover's estimate of that move. ``leaf_value`` is a node's own evaluation from player
0's view (the game's return at terminal nodes, the network's value elsewhere).
"""

from __future__ import annotations

import dataclasses

import numba
import numpy as np

from games.base import Game
from selfplay.mcts.common import softmax_row

# Field order is the argument order of the kernels in every backend.
KERNEL_FIELDS = (
    "children", "prior", "root_prior", "legal", "parent", "action_in", "player_in", "to_play",
    "terminal", "evaluated", "visits", "virtual", "value_sum", "leaf_value", "num_nodes",
)  # fmt: skip


@dataclasses.dataclass
class Tree:
    states: np.ndarray  # [B, N] the game's state records
    children: np.ndarray  # int32 [B, N, A] child node per action, -1 where not expanded
    prior: np.ndarray  # float64 [B, N, A] network policy over legal actions
    root_prior: np.ndarray  # float64 [B, A] the root's prior with noise mixed in (PUCT)
    legal: np.ndarray  # bool [B, N, A] legal actions of evaluated nodes
    parent: np.ndarray  # int32 [B, N], -1 at the root
    action_in: np.ndarray  # int32 [B, N] the action that led here from the parent
    player_in: np.ndarray  # int8 [B, N] whose view value_sum takes
    to_play: np.ndarray  # int8 [B, N] player to move, -1 at terminal nodes
    terminal: np.ndarray  # bool [B, N]
    evaluated: np.ndarray  # bool [B, N] False while a new leaf waits for its evaluation
    visits: np.ndarray  # int32 [B, N]
    virtual: np.ndarray  # int32 [B, N] simulations in flight through the node
    value_sum: np.ndarray  # float64 [B, N]
    leaf_value: np.ndarray  # float64 [B, N]
    num_nodes: np.ndarray  # int32 [B] nodes in use; 0 = empty tree

    @classmethod
    def empty(cls, game: Game, batch_size: int, capacity: int) -> Tree:
        b, n, a = batch_size, capacity, game.spec.num_actions
        return cls(
            states=np.zeros((b, n), dtype=game.state_dtype),
            children=np.full((b, n, a), -1, dtype=np.int32),
            prior=np.zeros((b, n, a)),
            root_prior=np.zeros((b, a)),
            legal=np.zeros((b, n, a), dtype=bool),
            parent=np.full((b, n), -1, dtype=np.int32),
            action_in=np.full((b, n), -1, dtype=np.int32),
            player_in=np.zeros((b, n), dtype=np.int8),
            to_play=np.zeros((b, n), dtype=np.int8),
            terminal=np.zeros((b, n), dtype=bool),
            evaluated=np.zeros((b, n), dtype=bool),
            visits=np.zeros((b, n), dtype=np.int32),
            virtual=np.zeros((b, n), dtype=np.int32),
            value_sum=np.zeros((b, n)),
            leaf_value=np.zeros((b, n)),
            num_nodes=np.zeros(b, dtype=np.int32),
        )

    @property
    def batch_size(self) -> int:
        return self.visits.shape[0]

    @property
    def capacity(self) -> int:
        return self.visits.shape[1]

    def kernel_args(self) -> tuple[np.ndarray, ...]:
        return tuple(getattr(self, name) for name in KERNEL_FIELDS)

    def grown(self, capacity: int) -> Tree:
        """The same trees with room for ``capacity`` nodes each."""
        extra = capacity - self.capacity
        if extra <= 0:
            return self
        grown = {}
        for field in dataclasses.fields(self):
            array = getattr(self, field.name)
            if field.name in ("root_prior", "num_nodes"):
                grown[field.name] = array
                continue
            pad = [(0, 0)] * array.ndim
            pad[1] = (0, extra)
            fill = -1 if field.name in ("children", "parent", "action_in") else 0
            if field.name == "states":
                grown[field.name] = np.concatenate(
                    [array, np.zeros((array.shape[0], extra), array.dtype)], axis=1
                )
            else:
                grown[field.name] = np.pad(array, pad, constant_values=fill)
        return Tree(**grown)

    def rows(self, index: np.ndarray) -> Tree:
        """The trees of ``index`` (positions or a boolean mask over the B trees), copied."""
        return Tree(**{f.name: getattr(self, f.name)[index] for f in dataclasses.fields(self)})

    def advance(self, actions: np.ndarray) -> Tree:
        """The subtrees under ``actions`` (int ``[B]``) as new trees, for reuse at the next
        move; a tree whose action was never expanded comes back empty."""
        order, remap, counts = _subtree_order(self.children, self.num_nodes, np.asarray(actions))
        order = order[:, : max(1, int(counts.max()))]  # room for the kept nodes only
        rows = np.arange(self.batch_size)[:, None]
        valid = order >= 0
        take = np.maximum(order, 0)

        def gather(array: np.ndarray, fill) -> np.ndarray:
            out = array[rows, take]
            out[~valid] = fill
            return out

        children = gather(self.children, -1)
        children = np.where(children >= 0, remap[rows[..., None], np.maximum(children, 0)], -1)
        parent = gather(self.parent, -1)  # the new roots' parents are dropped: remapped to -1
        parent = np.where(parent >= 0, remap[rows, np.maximum(parent, 0)], -1)
        action_in = gather(self.action_in, -1)
        action_in[:, 0] = -1
        return Tree(
            states=gather(self.states, np.zeros((), self.states.dtype)),
            children=children.astype(np.int32),
            prior=gather(self.prior, 0.0),
            root_prior=np.zeros_like(self.root_prior),
            legal=gather(self.legal, False),
            parent=parent.astype(np.int32),
            action_in=action_in,
            player_in=gather(self.player_in, 0),
            to_play=gather(self.to_play, 0),
            terminal=gather(self.terminal, False),
            evaluated=gather(self.evaluated, False),
            visits=gather(self.visits, 0),
            virtual=np.zeros(order.shape, dtype=np.int32),
            value_sum=gather(self.value_sum, 0.0),
            leaf_value=gather(self.leaf_value, 0.0),
            num_nodes=counts,
        )


@numba.njit(cache=True)
def _subtree_order(children, num_nodes, actions):
    """Per tree, the old indices of the nodes under the root's child ``actions[b]`` in
    breadth-first order (the child first), padded with -1; the inverse map from old index to
    new (-1 for dropped nodes); and how many nodes are kept."""
    b_size, n_size, a_size = children.shape
    order = np.full((b_size, n_size), -1, dtype=np.int32)
    remap = np.full((b_size, n_size), -1, dtype=np.int32)
    counts = np.zeros(b_size, dtype=np.int32)
    for b in range(b_size):
        if num_nodes[b] == 0:
            continue
        start = children[b, 0, actions[b]]
        if start < 0:
            continue
        order[b, 0] = start
        remap[b, start] = 0
        head, tail = 0, 1
        while head < tail:
            node = order[b, head]
            head += 1
            for a in range(a_size):
                child = children[b, node, a]
                if child >= 0:
                    order[b, tail] = child
                    remap[b, child] = tail
                    tail += 1
        counts[b] = tail
    return order, remap, counts


@numba.njit(cache=True)
def store_evaluations(prior, legal, terminal, to_play, leaf_value, evaluated, rows, nodes,
                      mask, is_terminal, current_player, final_value, logits, net_value,
                      num_players):  # fmt: skip
    """Writes the evaluation of nodes ``(rows[i], nodes[i])``: the game's facts about each
    state, and for the live ones (in order) the network's priors and value."""
    live = 0
    for i in range(rows.shape[0]):
        b, n = rows[i], nodes[i]
        legal[b, n] = mask[i]
        terminal[b, n] = is_terminal[i]
        to_play[b, n] = current_player[i]
        evaluated[b, n] = True
        if is_terminal[i]:
            prior[b, n] = 0.0
            leaf_value[b, n] = final_value[i]  # player 0's return
        else:
            softmax_row(logits[live], mask[i], prior[b, n])
            value = float(net_value[live])  # the mover's view, turned to player 0's
            leaf_value[b, n] = -value if num_players == 2 and current_player[i] == 1 else value
            live += 1
