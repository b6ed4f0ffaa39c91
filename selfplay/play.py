"""A person against a network, in the terminal: ``selfplay play CHECKPOINT``.

``PlaySession`` holds the game and answers moves, undo and new games without any terminal, so
it is tested directly and can serve other front ends; ``run_terminal`` is the text loop.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np

from games.base import Game, IllegalActionError
from selfplay.mcts import search
from selfplay.players import NetworkPlayer

HELP = "type a move (e.g. {example}), 'undo', 'new', 'swap' (change sides), 'help' or 'quit'"


@dataclasses.dataclass(frozen=True)
class EngineMove:
    action: int
    value: float  # the engine's estimate from its own view, in [-1, 1]
    top: list[tuple[str, int, float]]  # (move, visits, prior) of the most visited moves


class PlaySession:
    """One game between a person and ``engine``; the person plays ``human`` (0 = first)."""

    def __init__(self, game: Game, engine: NetworkPlayer, human: int, seed: int = 0):
        if game.spec.num_players != 2:
            raise ValueError(f"{game.spec.name} is a one-player game: nothing to play against")
        self.game, self.engine, self.human = game, engine, human
        self.rng = np.random.default_rng(seed)
        self.new_game()

    def new_game(self) -> None:
        self.states = self.game.new_initial_states(1)
        self.history: list[np.ndarray] = []  # states before each move, for undo

    @property
    def over(self) -> bool:
        return bool(self.game.is_terminal(self.states)[0])

    @property
    def to_move(self) -> int:
        return int(self.game.current_player(self.states)[0])

    def board(self) -> str:
        return self.game.render(self.states, 0)

    def result(self) -> str:
        """The outcome from the person's view, once the game is over."""
        mine = float(self.game.returns(self.states)[0, self.human])
        return "you won" if mine > 0 else "you lost" if mine < 0 else "a draw"

    def human_move(self, text: str) -> str | None:
        """Plays the person's move; returns a message instead when it is not one."""
        if self.over or self.to_move != self.human:
            return "it is not your move"
        try:
            action = self.game.string_to_action(text)
            self._play(action)
        except IllegalActionError:
            legal = np.flatnonzero(self.game.legal_actions_mask(self.states)[0])
            names = ", ".join(self.game.action_to_string(int(a)) for a in legal)
            return f"{text!r} is not legal here; legal moves: {names}"
        except ValueError as e:
            return str(e)
        return None

    def engine_move(self) -> EngineMove:
        """The engine searches and plays; returns its move, value and most visited moves."""
        out = search(self.game, self.states, self.engine.evaluator, self.engine.search_config,
                     self.rng)  # fmt: skip
        action = int(out.actions[0])
        visits, prior = out.visit_counts[0], out.tree.prior[0, 0]
        order = np.argsort(-visits, kind="stable")[:3]
        top = [(self.game.action_to_string(int(a)), int(visits[a]), float(prior[a]))
               for a in order if visits[a] > 0]  # fmt: skip
        self._play(action)
        return EngineMove(action, float(out.root_values[0]), top)

    def undo(self) -> bool:
        """Takes back moves until it is the person's turn again; False when nothing to undo."""
        if not self.history:
            return False
        self.states = self.history.pop()
        while self.history and self.to_move != self.human:
            self.states = self.history.pop()
        return True

    def swap(self) -> None:
        self.human = 1 - self.human

    def _play(self, action: int) -> None:
        new = self.game.apply_actions(self.states, np.array([action]))
        self.history.append(self.states)
        self.states = new


def run_terminal(
    session: PlaySession,
    read: Callable[[str], str] = input,
    write: Callable[[str], None] = print,
) -> None:
    """The text loop: draws the board, reads the person's moves, shows the engine's thinking."""
    game = session.game
    first_legal = np.flatnonzero(game.legal_actions_mask(session.states)[0])[0]
    example = game.action_to_string(int(first_legal))
    write(HELP.format(example=example))
    while True:
        write(session.board())
        if session.over:
            write(f"game over: {session.result()}. 'new', 'undo' or 'quit'")
        elif session.to_move != session.human:
            move = session.engine_move()
            shown = ", ".join(f"{m} {n} visits (prior {p:.2f})" for m, n, p in move.top)
            write(f"engine plays {game.action_to_string(move.action)}  value {move.value:+.2f}"
                  f"  top: {shown}")  # fmt: skip
            continue
        try:
            text = read("your move> ").strip()
        except EOFError:
            return
        if text in ("quit", "exit", "q"):
            return
        if text == "help":
            write(HELP.format(example=example))
        elif text == "new":
            session.new_game()
        elif text == "swap":
            session.swap()
        elif text == "undo":
            if not session.undo():
                write("nothing to undo")
        elif text:
            message = session.human_move(text)
            if message:
                write(message)
