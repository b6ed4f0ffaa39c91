"""Batched Monte Carlo tree search over B games at once (AlphaZero PUCT and Gumbel AlphaZero).

    from selfplay.mcts import SearchConfig, search
    out = search(game, states, evaluator, SearchConfig(simulations=200), rng)
    out.visit_counts, out.root_values, out.policy, out.actions

The tree work runs in compiled kernels (C++ from ``csrc/``, or Numba); ``reference`` holds a
plain pure-Python search with the same semantics, used by the tests.
"""

from selfplay.mcts.config import SearchConfig
from selfplay.mcts.search import Evaluator, SearchOutput, resolve_backend, search
from selfplay.mcts.tree import Tree

__all__ = ["Evaluator", "SearchConfig", "SearchOutput", "Tree", "resolve_backend", "search"]
