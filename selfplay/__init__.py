"""selfplay: an AlphaZero-style self-play engine. Games live in the ``games`` package; the search
in ``selfplay.mcts``; the exact Connect Four solver in ``selfplay.solver``."""

__version__ = "0.1.0"
