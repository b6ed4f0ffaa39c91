"""A plain, slow, pure-Python search with the same semantics as the compiled backends.

It exists so that tests can demand that both backends give *exactly* its visit counts: it
walks one tree at a time with ``Node`` objects and evaluates one leaf at a time. It shares with
the batched search only the pieces in ``common`` that never touch a tree (priors from logits,
root noise, the Gumbel schedule, move choice).

Values: ``Node.value_sum`` adds up outcomes from the view of ``Node.player_in``, the player who
moved into the node (for the root, the player to move there), so ``child.value_sum /
child.visits`` is directly the parent mover's estimate of that move.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from games.base import TERMINAL, Game
from selfplay.mcts.common import (
    choose_actions,
    considered_visit_sequence,
    masked_softmax,
    root_noise,
)
from selfplay.mcts.config import SearchConfig

Evaluator = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]


class Node:
    def __init__(self, player_in: int):
        self.player_in = player_in
        self.visits = 0
        self.virtual = 0  # pending simulations through this node (virtual loss)
        self.value_sum = 0.0
        self.children: dict[int, Node] = {}
        self.evaluated = False
        # Set on evaluation:
        self.state: np.ndarray | None = None
        self.to_play = TERMINAL
        self.terminal = False
        self.prior: list[float] = []
        self.legal: list[bool] = []
        self.leaf_value = 0.0  # player 0's view (the only player's in one-player games)


def _argmax(scores: list[float]) -> int:
    """The first best index; -1 if every score is -inf."""
    best, best_i = -math.inf, -1
    for i, score in enumerate(scores):
        if score > best:
            best, best_i = score, i
    return best_i


def _signed(value: float, player: int, num_players: int) -> float:
    """``value`` given from player 0's view, seen by ``player``."""
    return -value if num_players == 2 and player == 1 else value


def _evaluate(node: Node, game: Game, evaluator: Evaluator) -> None:
    state = node.state
    node.terminal = bool(game.is_terminal(state)[0])
    node.to_play = int(game.current_player(state)[0])
    mask = game.legal_actions_mask(state)
    node.legal = [bool(x) for x in mask[0]]
    if node.terminal:
        node.leaf_value = float(game.returns(state)[0, 0])
        node.prior = [0.0] * game.spec.num_actions
    else:
        logits, values = evaluator(game.observation_tensor(state))
        node.prior = [float(p) for p in masked_softmax(np.asarray(logits), mask)[0]]
        node.leaf_value = _signed(float(values[0]), node.to_play, game.spec.num_players)
    node.evaluated = True


class _Search:
    """One tree's search; ``run`` performs the simulations."""

    def __init__(self, game: Game, evaluator: Evaluator, config: SearchConfig):
        self.game, self.evaluator, self.config = game, evaluator, config
        self.players = game.spec.num_players

    # -- statistics seen from a node's mover ---------------------------------------------
    def _n(self, node: Node) -> int:
        return node.visits + node.virtual

    def _q(self, child: Node) -> float:
        """Mean value of a visited child, from the view of the player who moved into it, with
        each pending simulation counted as a loss of ``virtual_loss``."""
        w = child.value_sum - child.virtual * self.config.virtual_loss
        return w / (child.visits + child.virtual)

    def _own_value(self, node: Node) -> float:
        """The node's mean value from the view of its player to move."""
        q = self._q(node)
        if self.players == 2 and node.to_play != node.player_in:
            return -q
        return q

    def _net_value(self, node: Node) -> float:
        return _signed(node.leaf_value, node.to_play, self.players)

    # -- PUCT ---------------------------------------------------------------------------
    def _select_puct(self, node: Node, prior: list[float]) -> int:
        cfg = self.config
        n_parent = self._n(node)
        c = cfg.c_init + math.log((n_parent + cfg.c_base + 1.0) / cfg.c_base)
        sqrt_n = math.sqrt(n_parent)
        visited_mass = 0.0
        for a in range(len(prior)):
            child = node.children.get(a)
            if child is not None and self._n(child) > 0:
                visited_mass += prior[a]
        fpu = self._own_value(node) - cfg.fpu_reduction * math.sqrt(visited_mass)
        best, best_a = -math.inf, -1
        for a in range(len(prior)):
            if not node.legal[a]:
                continue
            child = node.children.get(a)
            n_child = 0 if child is None else self._n(child)
            q = self._q(child) if n_child > 0 else fpu
            score = q + c * prior[a] * sqrt_n / (1.0 + n_child)
            if score > best:
                best, best_a = score, a
        return best_a

    # -- Gumbel ---------------------------------------------------------------------------
    def _completed_sigma(self, node: Node) -> list[float]:
        """sigma(completed, rescaled Q) for every action (Gumbel AlphaZero, eq. 8 and 10)."""
        cfg = self.config
        actions = range(len(node.prior))
        visits = [node.children[a].visits if a in node.children else 0 for a in actions]
        sum_n, max_n = 0, 0
        for a in actions:
            sum_n += visits[a]
            max_n = max(max_n, visits[a])
        v_net = self._net_value(node)
        if sum_n > 0:
            weighted, mass = 0.0, 0.0
            for a in actions:
                if visits[a] > 0:
                    weighted += node.prior[a] * self._q(node.children[a])
                    mass += node.prior[a]
            v_mix = (v_net + sum_n * (weighted / mass)) / (1.0 + sum_n)
        else:
            v_mix = v_net
        completed = [0.0] * len(node.prior)
        lo, hi = math.inf, -math.inf
        for a in actions:
            if node.legal[a]:
                completed[a] = self._q(node.children[a]) if visits[a] > 0 else v_mix
                lo, hi = min(lo, completed[a]), max(hi, completed[a])
        scale = (cfg.c_visit + max_n) * cfg.c_scale
        span = max(hi - lo, 1e-8)
        return [scale * ((completed[a] - lo) / span) if node.legal[a] else 0.0 for a in actions]

    def _improved_policy(self, node: Node) -> list[float]:
        """softmax(logits + sigma(completed Q)) over the legal actions."""
        sigma = self._completed_sigma(node)
        scores = [
            math.log(node.prior[a]) + sigma[a] if node.legal[a] and node.prior[a] > 0 else -math.inf
            for a in range(len(node.prior))
        ]
        top = max(scores)
        exps = [math.exp(s - top) if s > -math.inf else 0.0 for s in scores]
        total = 0.0
        for e in exps:
            total += e
        return [e / total for e in exps]

    def _select_gumbel_interior(self, node: Node) -> int:
        policy = self._improved_policy(node)
        total = 0
        for child in node.children.values():
            total += child.visits
        best, best_a = -math.inf, -1
        for a in range(len(policy)):
            if node.legal[a]:
                n = node.children[a].visits if a in node.children else 0
                score = policy[a] - n / (1.0 + total)
                if score > best:
                    best, best_a = score, a
        return best_a

    def _root_scores(self, root: Node, gumbel: np.ndarray, considered_visit: int) -> list[float]:
        sigma = self._completed_sigma(root)
        scores = []
        for a in range(len(root.prior)):
            n = root.children[a].visits if a in root.children else 0
            if root.legal[a] and root.prior[a] > 0 and n == considered_visit:
                scores.append(float(gumbel[a]) + math.log(root.prior[a]) + sigma[a])
            else:
                scores.append(-math.inf)
        return scores

    # -- the search -----------------------------------------------------------------------
    def _descend(self, root: Node, root_action: Callable[[], int]) -> list[Node]:
        """Walks from the root to a leaf (new, pending or terminal); returns the path."""
        node, path = root, [root]
        while node.evaluated and not node.terminal:
            if node is root:
                a = root_action()
            elif self.config.algorithm == "gumbel":
                a = self._select_gumbel_interior(node)
            else:
                a = self._select_puct(node, node.prior)
            child = node.children.get(a)
            if child is None:
                child = Node(player_in=node.to_play)
                child.state = self.game.apply_actions(node.state, np.array([a]))
                node.children[a] = child
                path.append(child)
                return path
            node = child
            path.append(node)
        return path

    def run(self, root: Node, dirichlet: np.ndarray, gumbel: np.ndarray) -> None:
        cfg = self.config
        root_prior = list(root.prior)
        if cfg.algorithm == "puct" and cfg.dirichlet_fraction > 0:
            f = cfg.dirichlet_fraction
            noise = zip(root.prior, dirichlet, strict=True)
            root_prior = [(1 - f) * p + f * float(d) for p, d in noise]
        schedule = None
        if cfg.algorithm == "gumbel":
            legal = [a for a in range(len(root.prior)) if root.legal[a] and root.prior[a] > 0]
            m = min(cfg.max_considered_actions, len(legal))
            schedule = considered_visit_sequence(m, cfg.simulations)

        done = 0
        while done < cfg.simulations:
            batch = min(cfg.leaves_per_step, cfg.simulations - done)
            pending: list[list[Node]] = []
            for k in range(batch):
                if schedule is None:
                    path = self._descend(root, lambda: self._select_puct(root, root_prior))
                else:
                    visit = int(schedule[done + k])
                    path = self._descend(
                        root, lambda v=visit: _argmax(self._root_scores(root, gumbel, v))
                    )
                for node in path:
                    node.virtual += 1
                pending.append(path)
            for path in pending:  # evaluate the new leaves in the order they were reached
                if not path[-1].evaluated:
                    _evaluate(path[-1], self.game, self.evaluator)
            for path in pending:
                value = path[-1].leaf_value
                for node in path:
                    node.virtual -= 1
                    node.visits += 1
                    node.value_sum += _signed(value, node.player_in, self.players)
            done += batch


def reference_search(
    game: Game,
    states: np.ndarray,
    evaluator: Evaluator,
    config: SearchConfig,
    rng: np.random.Generator,
    roots: list[Node] | None = None,
) -> dict:
    """Searches each of the ``B`` positions on its own; returns the visit counts ``[B, A]``, the
    root values ``[B]``, the policy target ``[B, A]``, the chosen actions ``[B]`` and the root
    ``Node`` of every tree (pass ``roots=[root.children[a] ...]`` to reuse subtrees)."""
    b_size, a_size = len(states), game.spec.num_actions
    if roots is None:
        roots = [None] * b_size
    trees = []
    for i in range(b_size):
        root = roots[i]
        reusable = root is not None and config.algorithm == "puct"  # Gumbel starts afresh
        if not reusable or root.state.tobytes() != states[i : i + 1].tobytes():
            root = Node(player_in=int(game.current_player(states[i : i + 1])[0]))
            root.state = states[i : i + 1].copy()
        if not root.evaluated:
            _evaluate(root, game, evaluator)
            root.visits = 1
            root.value_sum = _signed(root.leaf_value, root.player_in, game.spec.num_players)
        trees.append(root)
    mask = np.array([root.legal for root in trees], dtype=bool)
    dirichlet, gumbel = root_noise(rng, mask, config)
    search = _Search(game, evaluator, config)
    for i, root in enumerate(trees):
        search.run(root, dirichlet[i], gumbel[i])

    visits = np.zeros((b_size, a_size), dtype=np.int32)
    policy = np.zeros((b_size, a_size), dtype=np.float64)
    values = np.zeros(b_size, dtype=np.float64)
    for i, root in enumerate(trees):
        for a, child in root.children.items():
            visits[i, a] = child.visits
        values[i] = search._own_value(root)
        if config.algorithm == "gumbel":
            policy[i] = search._improved_policy(root)
        else:
            policy[i] = visits[i] / visits[i].sum()
    if config.algorithm == "gumbel":
        actions = np.zeros(b_size, dtype=np.int64)
        for i, root in enumerate(trees):
            actions[i] = _argmax(search._root_scores(root, gumbel[i], int(visits[i].max())))
    else:
        actions = choose_actions(rng, visits, config.temperature)
    return {
        "visit_counts": visits,
        "root_values": values,
        "policy": policy,
        "actions": actions,
        "roots": trees,
    }
