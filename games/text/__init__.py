"""Text-reasoning games: a task's problems are answered one character at a time and a
verifier decides the win. ``TextGame`` turns any ``TextTask`` into a one-player game."""

from games.text.task import END, TextGame, TextTask

__all__ = ["END", "TextGame", "TextTask"]
