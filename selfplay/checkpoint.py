"""Checkpoints: written atomically, read back without running any pickled code.

    save_checkpoint(path, {"game": game_info(spec), "learner": learner.state_dict(), ...})
    payload = load_checkpoint(path)
    check_compatible(payload, spec, path=path)

A payload is a dict of tensors, plain containers (dict, list, tuple) and ``str``, ``int``,
``float``, ``bool`` and ``None``: ``load_checkpoint`` uses ``torch.load(weights_only=True)``,
which refuses anything else, and ``save_checkpoint`` checks this before writing so a run never
writes a checkpoint it cannot read. Callers convert what is not plain first: numpy arrays to
tensors (``torch.from_numpy``) or lists, numpy scalars to ``int``/``float``, dataclasses to dicts
(``dataclasses.asdict``).

A file is replaced only by a complete new one (temporary file in the same folder, fsync,
``os.replace``): a crash while writing leaves the previous checkpoint as it was.
"""

from __future__ import annotations

import collections
import dataclasses
import os
import pickle
import re
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

import torch

from games.base import GameSpec

__all__ = [
    "FORMAT",
    "CheckpointError",
    "atomic_write_bytes",
    "check_compatible",
    "game_info",
    "load_checkpoint",
    "save_checkpoint",
]

FORMAT = "selfplay-checkpoint-v1"
"""The value of every checkpoint's ``"format"`` key; bump it when the layout changes."""


class CheckpointError(ValueError):
    """A checkpoint that is missing, unreadable, not ours, or for another game. ``path`` is the
    file (None when the payload came from elsewhere)."""

    def __init__(self, path: str | os.PathLike | None, problem: str):
        self.path = None if path is None else Path(path)
        where = f"checkpoint {str(self.path)!r}" if path is not None else "checkpoint"
        super().__init__(f"{where}: {problem}")


# -- writing --------------------------------------------------------------------------------


@contextmanager
def _atomic_file(path: str | os.PathLike) -> Iterator[BinaryIO]:
    """A binary file that becomes ``path`` only when the block finishes without an exception."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    # O_EXCL: never write into someone else's file; mode 0o666 lets the umask decide, as open().
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    _fsync_folder(path.parent)


def _fsync_folder(folder: Path) -> None:
    """Makes the rename durable where the platform allows (POSIX); best effort elsewhere."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Replaces ``path`` with ``data`` atomically: readers see the old file or the new one."""
    with _atomic_file(path) as f:
        f.write(data)


_SCALARS = (str, int, float, bool, type(None))
_OPAQUE = (torch.Size, torch.dtype, torch.device)  # torch.load(weights_only=True) reads these


def _check_plain(value: Any, where: str) -> None:
    """Raises TypeError naming the first entry that ``torch.load(weights_only=True)`` would
    refuse. Exact types: numpy's float64 subclasses float but is not plain."""
    kind = type(value)
    if kind in _SCALARS or isinstance(value, (torch.Tensor, *_OPAQUE)):
        return
    if kind in (dict, collections.OrderedDict):
        for key, item in value.items():
            if type(key) not in _SCALARS:
                raise TypeError(f"{where} has a key of type {type(key).__name__}: {key!r}")
            _check_plain(item, f"{where}[{key!r}]")
        return
    if kind in (list, tuple):
        for i, item in enumerate(value):
            _check_plain(item, f"{where}[{i}]")
        return
    hint = ""
    if kind.__module__ == "numpy":
        hint = " (convert numpy arrays with torch.from_numpy or .tolist(), scalars with int/float)"
    elif dataclasses.is_dataclass(value):
        hint = " (convert dataclasses with dataclasses.asdict)"
    raise TypeError(
        f"{where} is a {kind.__module__}.{kind.__qualname__}; checkpoints hold only tensors, "
        f"dict/list/tuple and str/int/float/bool/None{hint}"
    )


def save_checkpoint(path: str | os.PathLike, payload: dict) -> None:
    """Writes ``payload`` (plus ``"format": FORMAT``) to ``path`` atomically with torch.save.

    Raises TypeError before touching the file if the payload holds anything but tensors, plain
    containers and plain scalars (see the module docstring), and ValueError if it sets its own
    ``"format"``. The folder is created if needed.
    """
    if type(payload) is not dict:
        raise TypeError(f"a checkpoint payload must be a dict, got {type(payload).__name__}")
    if payload.get("format", FORMAT) != FORMAT:
        raise ValueError(f"payload['format'] is reserved for {FORMAT!r}, got {payload['format']!r}")
    document = {"format": FORMAT, **payload}
    _check_plain(document, "payload")
    with _atomic_file(path) as f:
        torch.save(document, f)


# -- reading --------------------------------------------------------------------------------


def load_checkpoint(
    path: str | os.PathLike,
    map_location: str | torch.device | Callable | dict | None = "cpu",
) -> dict:
    """The payload saved at ``path``, tensors mapped to ``map_location`` (default: the CPU).

    Raises CheckpointError naming the file when it is missing, truncated or corrupt, holds
    objects other than tensors and plain data, or is not a selfplay checkpoint.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(path, "no such file" if not path.exists() else "not a file")
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError, KeyError, OSError) as e:
        raise CheckpointError(path, _why_unreadable(e)) from e
    if not isinstance(payload, dict) or "format" not in payload:
        raise CheckpointError(path, "not a selfplay checkpoint (it has no 'format' key)")
    if payload["format"] != FORMAT:
        raise CheckpointError(
            path, f"format {payload['format']!r} is not {FORMAT!r}, the one this version reads"
        )
    return payload


def _why_unreadable(error: Exception) -> str:
    """A one-line reason from torch.load's long messages (the full one stays the cause)."""
    text = str(error)
    refused = re.search(r"Unsupported global: GLOBAL ([\w.]+)", text)
    if refused:
        return (
            f"holds a pickled {refused.group(1)}, and checkpoints may hold only tensors and "
            "plain data (it was not loaded)"
        )
    if isinstance(error, EOFError):
        return "is empty or ends early: truncated"
    first = text.strip().split(". ")[0].splitlines()[0] if text.strip() else type(error).__name__
    return f"is truncated or corrupt ({first})"


def game_info(spec: GameSpec) -> dict:
    """What a checkpoint records about its game: every ``GameSpec`` field, as plain data."""
    info = dataclasses.asdict(spec)
    info["observation_shape"] = list(spec.observation_shape)
    return info


def check_compatible(
    payload: dict, spec: GameSpec, *, path: str | os.PathLike | None = None
) -> None:
    """Raises CheckpointError unless ``payload["game"]`` (from ``game_info``) records the game
    ``spec`` describes: same name, version, actions and observation shape. ``path`` names the
    file in the message."""
    info = payload.get("game")
    if not isinstance(info, dict) or "name" not in info or "version" not in info:
        raise CheckpointError(path, "records no game (expected payload['game'] = game_info(spec))")
    if info["name"] != spec.name or info["version"] != spec.version:
        raise CheckpointError(
            path,
            f"was trained on {info['name']!r} version {info['version']}, "
            f"but this game is {spec.name!r} version {spec.version}",
        )
    ours = game_info(spec)
    for key in ("num_players", "num_actions", "observation_shape"):
        theirs = info.get(key, ours[key])
        if (list(theirs) if isinstance(theirs, tuple) else theirs) != ours[key]:
            raise CheckpointError(
                path,
                f"records {key} = {theirs!r} for {spec.name!r} version {spec.version}, "
                f"but the game has {ours[key]!r} (was its version not bumped?)",
            )
