"""The tree kernels compiled with Numba: choose a leaf in every tree, back values up.

Every kernel loops over the B trees itself; Python calls it once per simulation step. The
arithmetic follows ``reference.py`` operation for operation, so that the visit counts agree
exactly (the C++ backend in ``csrc/mcts.cpp`` does the same).
"""

from __future__ import annotations

import math

import numba
import numpy as np

PUCT, GUMBEL = 0, 1

# The kernels take the tree arrays one by one (as the C++ backend does), which makes for long
# argument lists that are laid out by hand.
# fmt: off


@numba.njit(cache=True, inline="always")
def _signed(value, player, num_players):
    return -value if num_players == 2 and player == 1 else value


@numba.njit(cache=True, inline="always")
def _q(value_sum, visits, virtual, virtual_loss, b, n):
    """Mean value of node n from its ``player_in``'s view, pending simulations as losses."""
    w = value_sum[b, n] - virtual[b, n] * virtual_loss
    return w / (visits[b, n] + virtual[b, n])


@numba.njit(cache=True, inline="always")
def _select_puct(b, node, prior_row, children, legal, player_in, to_play, visits, virtual,
                 value_sum, num_players, c_init, c_base, fpu_reduction, virtual_loss):
    a_size = prior_row.shape[0]
    n_parent = visits[b, node] + virtual[b, node]
    c = c_init + math.log((n_parent + c_base + 1.0) / c_base)
    sqrt_n = math.sqrt(n_parent)
    visited_mass = 0.0
    for a in range(a_size):
        child = children[b, node, a]
        if child >= 0 and visits[b, child] + virtual[b, child] > 0:
            visited_mass += prior_row[a]
    own = _q(value_sum, visits, virtual, virtual_loss, b, node)
    if num_players == 2 and to_play[b, node] != player_in[b, node]:
        own = -own
    fpu = own - fpu_reduction * math.sqrt(visited_mass)
    best, best_a = -np.inf, -1
    for a in range(a_size):
        if not legal[b, node, a]:
            continue
        child = children[b, node, a]
        n_child = 0 if child < 0 else visits[b, child] + virtual[b, child]
        q = _q(value_sum, visits, virtual, virtual_loss, b, child) if n_child > 0 else fpu
        score = q + c * prior_row[a] * sqrt_n / (1.0 + n_child)
        if score > best:
            best, best_a = score, a
    return best_a


@numba.njit(cache=True, inline="always")
def _completed_sigma(b, node, sigma, children, prior, legal, to_play, visits, virtual, value_sum,
                     leaf_value, num_players, virtual_loss, c_visit, c_scale):
    """Writes sigma(completed, rescaled Q) of every action into ``sigma``; returns the sum of
    the children's visits."""
    a_size = sigma.shape[0]
    sum_n, max_n = 0, 0
    for a in range(a_size):
        child = children[b, node, a]
        n = visits[b, child] if child >= 0 else 0
        sum_n += n
        max_n = max(max_n, n)
    v_net = _signed(leaf_value[b, node], to_play[b, node], num_players)
    if sum_n > 0:
        weighted, mass = 0.0, 0.0
        for a in range(a_size):
            child = children[b, node, a]
            if child >= 0 and visits[b, child] > 0:
                q = _q(value_sum, visits, virtual, virtual_loss, b, child)
                weighted += prior[b, node, a] * q
                mass += prior[b, node, a]
        v_mix = (v_net + sum_n * (weighted / mass)) / (1.0 + sum_n)
    else:
        v_mix = v_net
    lo, hi = np.inf, -np.inf
    for a in range(a_size):
        sigma[a] = 0.0
        if legal[b, node, a]:
            child = children[b, node, a]
            if child >= 0 and visits[b, child] > 0:
                sigma[a] = _q(value_sum, visits, virtual, virtual_loss, b, child)
            else:
                sigma[a] = v_mix
            lo, hi = min(lo, sigma[a]), max(hi, sigma[a])
    scale = (c_visit + max_n) * c_scale
    span = max(hi - lo, 1e-8)
    for a in range(a_size):
        sigma[a] = scale * ((sigma[a] - lo) / span) if legal[b, node, a] else 0.0
    return sum_n


@numba.njit(cache=True, inline="always")
def _improved_policy(b, node, out, children, prior, legal, to_play, visits, virtual, value_sum,
                     leaf_value, num_players, virtual_loss, c_visit, c_scale):
    """softmax(log prior + sigma(completed Q)) into ``out``; returns the children's visits."""
    sum_n = _completed_sigma(b, node, out, children, prior, legal, to_play, visits, virtual,
                             value_sum, leaf_value, num_players, virtual_loss, c_visit, c_scale)
    a_size = out.shape[0]
    top = -np.inf
    for a in range(a_size):
        if legal[b, node, a] and prior[b, node, a] > 0:
            out[a] = math.log(prior[b, node, a]) + out[a]
            top = max(top, out[a])
        else:
            out[a] = -np.inf
    total = 0.0
    for a in range(a_size):
        out[a] = math.exp(out[a] - top) if out[a] > -np.inf else 0.0
        total += out[a]
    for a in range(a_size):
        out[a] = out[a] / total
    return sum_n


@numba.njit(cache=True)
def improved_policy(children, prior, legal, to_play, visits, virtual, value_sum, leaf_value,
                    num_players, virtual_loss, c_visit, c_scale):
    """float64 ``[B, A]``: the Gumbel policy target at every root."""
    b_size, _, a_size = children.shape
    out = np.zeros((b_size, a_size))
    for b in range(b_size):
        _improved_policy(b, 0, out[b], children, prior, legal, to_play, visits, virtual,
                         value_sum, leaf_value, num_players, virtual_loss, c_visit, c_scale)
    return out


@numba.njit(cache=True, inline="always")
def gumbel_root_action(b, considered_visit, gumbel, sigma, children, prior, legal, to_play,
                       visits, virtual, value_sum, leaf_value, num_players, virtual_loss,
                       c_visit, c_scale):
    """The root action with ``considered_visit`` visits that maximises g + logits + sigma."""
    _completed_sigma(b, 0, sigma, children, prior, legal, to_play, visits, virtual, value_sum,
                     leaf_value, num_players, virtual_loss, c_visit, c_scale)
    best, best_a = -np.inf, -1
    for a in range(sigma.shape[0]):
        child = children[b, 0, a]
        n = visits[b, child] if child >= 0 else 0
        if legal[b, 0, a] and prior[b, 0, a] > 0 and n == considered_visit:
            score = gumbel[b, a] + math.log(prior[b, 0, a]) + sigma[a]
            if score > best:
                best, best_a = score, a
    return best_a


@numba.njit(cache=True)
def gumbel_actions(gumbel, children, prior, legal, to_play, visits, virtual, value_sum,
                   leaf_value, num_players, virtual_loss, c_visit, c_scale):
    """int64 ``[B]``: the move Gumbel search plays, the best of the most visited actions."""
    b_size, _, a_size = children.shape
    out = np.zeros(b_size, dtype=np.int64)
    sigma = np.empty(a_size)
    for b in range(b_size):
        most = 0
        for a in range(a_size):
            child = children[b, 0, a]
            if child >= 0:
                most = max(most, visits[b, child])
        out[b] = gumbel_root_action(b, most, gumbel, sigma, children, prior, legal, to_play,
                                    visits, virtual, value_sum, leaf_value, num_players,
                                    virtual_loss, c_visit, c_scale)
    return out


@numba.njit(cache=True)
def select_leaves(children, prior, root_prior, legal, parent, action_in, player_in, to_play,
                  terminal, evaluated, visits, virtual, value_sum, leaf_value, num_nodes,
                  gumbel, schedule, sim_index, num_leaves, algorithm, num_players, c_init,
                  c_base, fpu_reduction, virtual_loss, c_visit, c_scale, out_leaf, out_new):
    """Walks every tree ``num_leaves`` times from the root to a leaf: a new node (allocated
    here, to be evaluated by the caller), a node still waiting for its evaluation, or a
    terminal node. Each walk adds a virtual loss along its path."""
    b_size, _, a_size = children.shape
    scratch = np.empty(a_size)
    for b in range(b_size):
        for k in range(num_leaves):
            node, is_new = 0, False
            while evaluated[b, node] and not terminal[b, node]:
                if algorithm == GUMBEL:
                    if node == 0:
                        a = gumbel_root_action(b, schedule[b, sim_index + k], gumbel, scratch,
                                               children, prior, legal, to_play, visits, virtual,
                                               value_sum, leaf_value, num_players, virtual_loss,
                                               c_visit, c_scale)
                    else:
                        sum_n = _improved_policy(b, node, scratch, children, prior, legal,
                                                 to_play, visits, virtual, value_sum, leaf_value,
                                                 num_players, virtual_loss, c_visit, c_scale)
                        best, a = -np.inf, -1
                        for x in range(a_size):
                            if legal[b, node, x]:
                                child = children[b, node, x]
                                n = visits[b, child] if child >= 0 else 0
                                score = scratch[x] - n / (1.0 + sum_n)
                                if score > best:
                                    best, a = score, x
                else:
                    prior_row = root_prior[b] if node == 0 else prior[b, node]
                    a = _select_puct(b, node, prior_row, children, legal, player_in, to_play,
                                     visits, virtual, value_sum, num_players, c_init, c_base,
                                     fpu_reduction, virtual_loss)
                child = children[b, node, a]
                if child < 0:
                    child = num_nodes[b]
                    num_nodes[b] += 1
                    children[b, child, :] = -1
                    legal[b, child, :] = False
                    prior[b, child, :] = 0.0
                    parent[b, child] = node
                    action_in[b, child] = a
                    player_in[b, child] = to_play[b, node]
                    to_play[b, child] = -1
                    terminal[b, child] = False
                    evaluated[b, child] = False
                    visits[b, child] = 0
                    virtual[b, child] = 0
                    value_sum[b, child] = 0.0
                    leaf_value[b, child] = 0.0
                    children[b, node, a] = child
                    node, is_new = child, True
                    break
                node = child
            out_leaf[b, k] = node
            out_new[b, k] = is_new
            n = node
            while n >= 0:
                virtual[b, n] += 1
                n = parent[b, n]


@numba.njit(cache=True)
def backup(parent, player_in, visits, virtual, value_sum, leaf_value, leaves, num_leaves,
           num_players):
    """Adds each walk's leaf value to every node on its path and lifts its virtual loss."""
    for b in range(leaves.shape[0]):
        for k in range(num_leaves):
            value = leaf_value[b, leaves[b, k]]
            n = leaves[b, k]
            while n >= 0:
                virtual[b, n] -= 1
                visits[b, n] += 1
                value_sum[b, n] += _signed(value, player_in[b, n], num_players)
                n = parent[b, n]
