"""Games and the registry that finds them.

A game is named by a *spec* string, accepted everywhere a game is taken (CLI, config):

- a registered name: ``"connect4"`` (built-ins, and games that installed packages register
  under the entry-point group ``selfplay.games``);
- a file and a class: ``"path/to/my_game.py:MyGame"``;
- a module and a class: ``"package.module:MyGame"``.

A class may be a ``Game`` or a ``TextTask`` (made into a ``TextGame``). Options for its
constructor follow an ``@``: ``"countdown@k=3,mode=guided"`` makes ``Countdown(k=3,
mode="guided")``; values that read as numbers become numbers.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import inspect
import sys
from importlib.metadata import entry_points
from pathlib import Path

from games.base import TERMINAL, Game, GameSpec, IllegalActionError, TwoPlayerGame
from games.text.task import TextGame, TextTask

__all__ = [
    "BUILTIN_GAMES",
    "TERMINAL",
    "Game",
    "GameLoadError",
    "GameSpec",
    "IllegalActionError",
    "TwoPlayerGame",
    "available",
    "make",
]

ENTRY_POINT_GROUP = "selfplay.games"

BUILTIN_GAMES = {
    "tictactoe": "games.tictactoe:TicTacToe",
    "connect4": "games.connect4:ConnectFour",
    "othello": "games.othello:Othello",
    "countdown": "games.text.countdown:Countdown",
    "game24": "games.text.game24:Game24",
    "addition": "games.text.addition:Addition",
}


class GameLoadError(ValueError):
    """A game spec that names no loadable game; the message says what was wrong."""


def available() -> dict[str, str]:
    """Registered game names mapped to the ``module:Class`` they load: built-ins first, then
    those installed packages register under the ``selfplay.games`` entry-point group."""
    found = dict(BUILTIN_GAMES)
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        found.setdefault(ep.name, ep.value)
    return found


def make(spec: str) -> Game:
    """A new game instance from a spec: a registered name, ``file.py:Class`` or
    ``module:Class``. Raises ``GameLoadError`` naming the problem."""
    if not isinstance(spec, str) or not spec.strip():
        raise GameLoadError(f"a game spec must be a non-empty string, got {spec!r}")
    spec = spec.strip()
    name, _, option_text = spec.partition("@")
    options = _parse_options(option_text, spec)
    registered = available()
    if name in registered:
        target = registered[name]
    elif ":" in name:
        target = name
    else:
        raise GameLoadError(
            f"unknown game {name!r}; registered games: {', '.join(sorted(registered))}; "
            "or give 'path/to/file.py:ClassName' or 'package.module:ClassName'"
        )
    cls = _load_class(target, spec)
    try:
        inspect.signature(cls).bind(**options)
    except TypeError as e:
        accepted = ", ".join(inspect.signature(cls).parameters) or "none"
        raise GameLoadError(
            f"game {spec!r}: {cls.__name__} does not take these options ({e}); "
            f"its options: {accepted}"
        ) from e
    try:
        made = cls(**options)
    except Exception as e:  # a user's constructor: report it as a load problem
        raise GameLoadError(f"game {spec!r}: {cls.__name__}() failed: {e}") from e
    game = TextGame(made) if isinstance(made, TextTask) else made
    game.source = spec  # lets other processes (Ray workers) make the same game again
    return game


def _parse_options(text: str, spec: str) -> dict[str, int | float | str]:
    """``"k=3,mode=guided"`` -> {"k": 3, "mode": "guided"}."""
    options: dict[str, int | float | str] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        key, eq, value = item.partition("=")
        if not eq or not key.isidentifier():
            raise GameLoadError(f"game {spec!r}: options are name=value pairs, got {item!r}")
        for kind in (int, float):
            try:
                options[key] = kind(value)
                break
            except ValueError:
                continue
        else:
            options[key] = value
    return options


def _load_class(target: str, spec: str) -> type[Game] | type[TextTask]:
    where, _, name = target.rpartition(":")
    if not where or not name:
        raise GameLoadError(f"game {spec!r}: expected 'file.py:ClassName' or 'module:ClassName'")
    if where.endswith(".py"):
        module = _import_file(Path(where), spec)
    else:
        try:
            module = importlib.import_module(where)
        except ImportError as e:
            raise GameLoadError(f"game {spec!r}: cannot import module {where!r}: {e}") from e
    cls = getattr(module, name, None)
    if cls is None:
        raise GameLoadError(f"game {spec!r}: {where} has no attribute {name!r}")
    if isinstance(cls, type) and issubclass(cls, TextTask):
        return cls
    if not (isinstance(cls, type) and issubclass(cls, Game)):
        raise GameLoadError(
            f"game {spec!r}: {name} is not a subclass of games.Game or games.text.TextTask"
        )
    if not isinstance(getattr(cls, "spec", None), GameSpec):
        raise GameLoadError(f"game {spec!r}: {name}.spec must be a games.GameSpec")
    return cls


def _import_file(path: Path, spec: str):
    path = path.expanduser().resolve()
    if not path.is_file():
        raise GameLoadError(f"game {spec!r}: no such file {str(path)!r}")
    digest = hashlib.sha1(str(path).encode()).hexdigest()[:10]  # stable across processes
    module_name = f"selfplay_user_game_{path.stem}_{digest}"
    if module_name in sys.modules:
        return sys.modules[module_name]
    module_spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[module_name] = module  # dataclasses and pickling look the module up by name
    try:
        module_spec.loader.exec_module(module)
    except Exception as e:
        del sys.modules[module_name]
        raise GameLoadError(f"game {spec!r}: importing {path} failed: {e!r}") from e
    return module
