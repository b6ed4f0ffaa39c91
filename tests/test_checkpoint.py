"""Checkpoints: a payload comes back as it went in, a failed write leaves the old file whole,
and every way a file can be wrong gives a CheckpointError that names it."""

from __future__ import annotations

import dataclasses
import os
import pickle

import numpy as np
import pytest
import torch

from games.base import GameSpec
from selfplay import checkpoint
from selfplay.checkpoint import (
    FORMAT,
    CheckpointError,
    atomic_write_bytes,
    check_compatible,
    game_info,
    load_checkpoint,
    save_checkpoint,
)

torch.set_num_threads(1)

SPEC = GameSpec(name="connect4", version=1, num_players=2, num_actions=7,
                observation_shape=(2, 6, 7), max_game_length=42)  # fmt: skip


def _payload(seed: int = 0) -> dict:
    g = torch.Generator().manual_seed(seed)
    return {
        "game": game_info(SPEC),
        "weights": {"a.weight": torch.randn(3, 4, generator=g), "b.bias": torch.arange(5)},
        "optimizer": {"state": {0: {"step": torch.tensor(3.0)}}, "betas": (0.9, 0.999)},
        "step": 12,
        "lr": 2e-3,
        "amp": True,
        "note": None,
        "history": [1.5, 2.5],
        "dtype": torch.bfloat16,
    }


def _leftovers(folder) -> list[str]:
    return sorted(name for name in os.listdir(folder) if name.endswith(".tmp"))


def test_round_trip(tmp_path):
    path = tmp_path / "ckpt.pt"
    save_checkpoint(path, _payload())
    got = load_checkpoint(path)
    want = _payload()
    assert got["format"] == FORMAT
    assert set(got) == {"format", *want}
    assert got["game"] == want["game"] == {
        "name": "connect4", "version": 1, "num_players": 2, "num_actions": 7,
        "observation_shape": [2, 6, 7], "max_game_length": 42, "vocabulary_size": 0,
        "observation_dtype": "float32",
    }  # fmt: skip
    for key in want["weights"]:
        assert torch.equal(got["weights"][key], want["weights"][key])
    assert torch.equal(got["optimizer"]["state"][0]["step"], torch.tensor(3.0))
    assert got["optimizer"]["betas"] == (0.9, 0.999)
    assert (got["step"], got["lr"], got["amp"], got["note"]) == (12, 2e-3, True, None)
    assert got["history"] == [1.5, 2.5] and got["dtype"] is torch.bfloat16
    assert _leftovers(tmp_path) == []


def test_saving_creates_the_folder_and_replaces_the_old_file(tmp_path):
    path = tmp_path / "run" / "ckpts" / "latest.pt"
    save_checkpoint(path, {"step": 1})
    save_checkpoint(path, {"step": 2})
    assert load_checkpoint(path)["step"] == 2
    assert _leftovers(path.parent) == []


def test_loads_with_weights_only(tmp_path, monkeypatch):
    calls = []
    real_load = torch.load

    def spy(*args, **kwargs):
        calls.append(kwargs.get("weights_only"))
        return real_load(*args, **kwargs)

    monkeypatch.setattr(torch, "load", spy)
    save_checkpoint(tmp_path / "c.pt", _payload())
    load_checkpoint(tmp_path / "c.pt")
    assert calls == [True]


@dataclasses.dataclass
class _Settings:
    lr: float = 1.0


def test_a_file_with_pickled_objects_is_refused_unexecuted(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"format": FORMAT, "settings": _Settings()}, path)
    with pytest.raises(CheckpointError, match=r"evil\.pt") as info:
        load_checkpoint(path)
    assert info.value.path == path
    assert "holds a pickled test_checkpoint._Settings" in str(info.value)


@pytest.mark.parametrize(
    ("bad", "where"),
    [
        ({"buffer": {"obs": np.zeros(3)}}, r"payload\['buffer'\]\['obs'\] is a numpy.ndarray"),
        ({"loss": np.float64(0.5)}, r"payload\['loss'\] is a numpy.float64"),
        ({"history": [1, np.int64(2)]}, r"payload\['history'\]\[1\]"),
        ({"config": _Settings()}, "dataclasses.asdict"),
        ({"ids": {1, 2}}, "builtins.set"),
    ],
)
def test_saving_non_plain_data_is_refused_before_writing(tmp_path, bad, where):
    path = tmp_path / "c.pt"
    save_checkpoint(path, {"step": 1})
    with pytest.raises(TypeError, match=where):
        save_checkpoint(path, bad)
    assert load_checkpoint(path)["step"] == 1
    assert _leftovers(tmp_path) == []


def test_payload_must_be_a_dict_without_its_own_format(tmp_path):
    with pytest.raises(TypeError, match="dict"):
        save_checkpoint(tmp_path / "c.pt", [1, 2])
    with pytest.raises(ValueError, match="reserved"):
        save_checkpoint(tmp_path / "c.pt", {"format": "mine"})
    save_checkpoint(tmp_path / "c.pt", {"format": FORMAT, "step": 3})  # the same value is fine
    assert load_checkpoint(tmp_path / "c.pt")["step"] == 3


def test_a_failed_save_leaves_the_old_checkpoint_intact(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.pt"
    save_checkpoint(path, _payload(seed=0))
    before = path.read_bytes()

    def torn_save(obj, f, *args, **kwargs):
        f.write(b"PK\x03\x04 half a zip archive")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", torn_save)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(path, _payload(seed=1))
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert torch.equal(
        load_checkpoint(path)["weights"]["a.weight"], _payload()["weights"]["a.weight"]
    )
    assert _leftovers(tmp_path) == []


def test_a_failed_first_save_leaves_nothing(tmp_path, monkeypatch):
    def failing_save(obj, f, *args, **kwargs):
        f.write(b"partial")
        raise KeyboardInterrupt  # even an interrupt cleans up

    monkeypatch.setattr(torch, "save", failing_save)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(tmp_path / "new.pt", {"step": 1})
    assert os.listdir(tmp_path) == []


def test_atomic_write_bytes(tmp_path, monkeypatch):
    path = tmp_path / "buffer.bin"
    atomic_write_bytes(path, b"old contents")
    assert path.read_bytes() == b"old contents"

    def failing_replace(src, dst):
        raise OSError("rename failed")

    monkeypatch.setattr(checkpoint.os, "replace", failing_replace)
    with pytest.raises(OSError, match="rename failed"):
        atomic_write_bytes(path, b"new contents")
    monkeypatch.undo()
    assert path.read_bytes() == b"old contents"
    assert _leftovers(tmp_path) == []
    atomic_write_bytes(path, b"new contents")
    assert path.read_bytes() == b"new contents"


def test_new_files_get_ordinary_permissions(tmp_path):
    umask = os.umask(0o022)
    try:
        atomic_write_bytes(tmp_path / "f", b"x")
    finally:
        os.umask(umask)
    assert (tmp_path / "f").stat().st_mode & 0o777 == 0o644


def test_a_missing_file(tmp_path):
    path = tmp_path / "nowhere" / "ckpt.pt"
    with pytest.raises(CheckpointError, match="no such file") as info:
        load_checkpoint(path)
    assert str(path) in str(info.value) and isinstance(info.value, ValueError)
    with pytest.raises(CheckpointError, match="not a file"):
        load_checkpoint(tmp_path)


@pytest.mark.parametrize("keep", [0, 10, 0.5, -1])
def test_a_truncated_file(tmp_path, keep):
    path = tmp_path / "ckpt.pt"
    save_checkpoint(path, _payload())
    data = path.read_bytes()
    cut = int(len(data) * keep) if isinstance(keep, float) else keep % len(data)
    path.write_bytes(data[:cut])
    with pytest.raises(CheckpointError, match=r"ckpt\.pt") as info:
        load_checkpoint(path)
    assert info.value.path == path


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
def test_a_file_of_garbage(tmp_path):
    path = tmp_path / "garbage.pt"
    path.write_bytes(np.random.default_rng(0).bytes(4096))
    with pytest.raises(CheckpointError, match=r"garbage\.pt"):
        load_checkpoint(path)
    path.write_bytes(pickle.dumps({"format": FORMAT}))  # a plain pickle, not torch.save's zip
    with pytest.raises(CheckpointError, match=r"garbage\.pt"):
        load_checkpoint(path)


@pytest.mark.parametrize(
    "content", [{"model": {"w": torch.zeros(2)}}, torch.zeros(3), [1, 2]], ids=str
)
def test_a_torch_file_that_is_not_a_selfplay_checkpoint(tmp_path, content):
    path = tmp_path / "other.pt"
    torch.save(content, path)
    with pytest.raises(CheckpointError, match=r"other\.pt.*not a selfplay checkpoint"):
        load_checkpoint(path)


def test_a_checkpoint_of_another_format_version(tmp_path):
    path = tmp_path / "old.pt"
    torch.save({"format": "selfplay-checkpoint-v0"}, path)
    with pytest.raises(CheckpointError, match="selfplay-checkpoint-v0"):
        load_checkpoint(path)


def test_check_compatible(tmp_path):
    path = tmp_path / "ckpt.pt"
    save_checkpoint(path, {"game": game_info(SPEC)})
    payload = load_checkpoint(path)
    check_compatible(payload, SPEC)  # the same game: fine
    check_compatible({"game": game_info(SPEC)}, SPEC)  # before saving too

    othello = dataclasses.replace(SPEC, name="othello", num_actions=65,
                                  observation_shape=(2, 8, 8))  # fmt: skip
    with pytest.raises(CheckpointError, match=r"'connect4' version 1.*'othello' version 1"):
        check_compatible(payload, othello)
    with pytest.raises(CheckpointError, match=r"ckpt\.pt.*version 1.*version 2"):
        check_compatible(payload, dataclasses.replace(SPEC, version=2), path=path)
    with pytest.raises(CheckpointError, match="num_actions"):
        check_compatible(payload, dataclasses.replace(SPEC, num_actions=8))
    with pytest.raises(CheckpointError, match="observation_shape"):
        check_compatible(payload, dataclasses.replace(SPEC, observation_shape=(3, 6, 7)))
    with pytest.raises(CheckpointError, match="records no game") as info:
        check_compatible({"step": 1}, SPEC, path=path)
    assert info.value.path == path
