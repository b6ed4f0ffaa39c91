"""The replay buffer: ring semantics, uniform sampling, true symmetries, counters, files."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import games
from selfplay.replay import GameRecord, ReplayBuffer, ReplayLoadError

OBS, A = (3,), 4


def _record(first_id: int, length: int, version: int = 0) -> GameRecord:
    """A synthetic game whose positions carry their serial id in every array: observation
    [id, id, id], policy one-hot on id % A, and (via one player whose return is unique) a
    value we can check separately."""
    ids = np.arange(first_id, first_id + length, dtype=np.float32)
    policies = np.eye(A, dtype=np.float32)[ids.astype(int) % A]
    return GameRecord.from_plies(
        observations=np.repeat(ids[:, None], 3, axis=1),
        policies=policies,
        players=np.zeros(length, dtype=np.int8),
        actions=ids.astype(int) % A,
        returns=np.array([first_id / 1000.0]),
        weights_version=version,
    )


def _games(lengths: list[int], start: int = 0, version: int = 0) -> list[GameRecord]:
    records, next_id = [], start
    for length in lengths:
        records.append(_record(next_id, length, version))
        next_id += length
    return records


def _stored_ids(buffer: ReplayBuffer) -> list[int]:
    return sorted(int(x) for x in buffer.observations[: len(buffer), 0])


def test_game_record_values_are_the_movers_returns():
    record = GameRecord.from_plies(
        observations=[np.zeros(OBS)] * 3,
        policies=[np.full(A, 0.25)] * 3,
        players=[0, 1, 0],
        actions=[0, 1, 2],
        returns=np.array([1.0, -1.0]),
        weights_version=7,
    )
    assert record.length == 3
    np.testing.assert_array_equal(record.values, [1.0, -1.0, 1.0])
    assert record.observations.dtype == np.float32 and record.policies.dtype == np.float32
    assert record.players.dtype == np.int8 and record.weights_version == 7
    discounted = GameRecord.from_plies([np.zeros(OBS)] * 3, [np.full(A, 0.25)] * 3, [0, 0, 0],
                                       [0, 1, 2], np.array([-1.0]), discount=0.5)  # fmt: skip
    np.testing.assert_array_equal(discounted.values, [-0.25, -0.5, -1.0])  # the loss is nearer
    assert discounted.values.dtype == np.float32
    with pytest.raises(ValueError, match="players must be in"):
        GameRecord.from_plies([np.zeros(OBS)], [np.zeros(A)], [2], [0], np.array([1.0, -1.0]))
    with pytest.raises(ValueError, match="plies"):
        GameRecord(np.zeros((2, 3)), np.zeros((3, A)), np.zeros(3), np.zeros(3, np.int8),
                   np.zeros(3, int), np.zeros(2), 0)  # fmt: skip


def test_ring_keeps_exactly_the_newest_positions():
    buffer = ReplayBuffer(10, OBS, A)
    buffer.add(_games([4, 3]))
    assert len(buffer) == 7 and _stored_ids(buffer) == list(range(7))
    buffer.add(_games([5], start=7))  # 12 added: the two oldest slide out
    assert len(buffer) == 10 and _stored_ids(buffer) == list(range(2, 12))
    buffer.add(_games([1, 2, 6], start=12))  # 21 added
    assert _stored_ids(buffer) == list(range(11, 21))
    assert buffer.positions_added == 21 and buffer.games_added == 6
    # Every array of a position moves together.
    stored = buffer.observations[: len(buffer), 0].astype(int)
    np.testing.assert_array_equal(buffer.policies[: len(buffer)].argmax(axis=1), stored % A)


def test_a_game_longer_than_the_window_keeps_its_last_positions():
    buffer = ReplayBuffer(5, OBS, A)
    buffer.add(_games([2]))
    buffer.add(_games([3, 9], start=2))  # a whole game, then one longer than the window
    assert len(buffer) == 5 and buffer.positions_added == 14 and buffer.games_added == 3
    assert _stored_ids(buffer) == list(range(9, 14))
    # The values of the kept positions are those of the long game (its return: id 5 / 1000).
    np.testing.assert_allclose(buffer.values, 0.005)


def test_sampling_is_uniform_over_stored_positions_only():
    buffer = ReplayBuffer(8, OBS, A, seed=1)
    buffer.add(_games([5, 7]))  # ids 4..11 stay
    obs, policies, values = buffer.sample(16_000)
    assert obs.shape == (16_000, *OBS) and policies.shape == (16_000, A)
    assert values.shape == (16_000,)
    ids, counts = np.unique(obs[:, 0].astype(int), return_counts=True)
    np.testing.assert_array_equal(ids, np.arange(4, 12))
    # 2000 expected each; the standard deviation is about 42, so 250 is six of them.
    assert np.abs(counts - 2000).max() < 250, counts
    # Rows are whole positions: the policy and value belong to the observation's id.
    np.testing.assert_array_equal(policies.argmax(axis=1), obs[:, 0].astype(int) % A)
    np.testing.assert_allclose(values, np.where(obs[:, 0] < 5, 0.0, 0.005))


def test_whole_games_come_in_order_and_every_game_alike():
    buffer = ReplayBuffer(window=40, observation_shape=OBS, num_actions=A, seed=1)
    buffer.add(_games([3, 6, 2, 9, 4, 1]))  # ids 0..24
    buffer.add(_games([7, 8, 5, 2], start=25))  # ids 25..46: the window keeps ids 7..46
    # Games wholly stored, by first id: the one from id 3 lost its first positions.
    lengths = {9: 2, 11: 9, 20: 4, 24: 1, 25: 7, 32: 8, 40: 5, 45: 2}
    drawn = dict.fromkeys(lengths, 0)
    for _ in range(2000):
        observations, policies, values = buffer.sample(10, whole_games=True)
        ids = observations[:, 0].astype(int).tolist()
        assert len(ids) >= 10 and len(policies) == len(values) == len(ids)
        at = last_start = 0
        while at < len(ids):  # the batch is whole games, one after another, each in order
            first = ids[at]
            assert first in lengths, ids
            assert ids[at : at + lengths[first]] == list(range(first, first + lengths[first]))
            drawn[first] += 1
            last_start, at = at, at + lengths[first]
        assert last_start < 10  # no game after the one that reached 10 positions
    counts = np.array(list(drawn.values()))  # every game about as often, whatever its length
    assert counts.min() > 0.85 * counts.mean() and counts.max() < 1.15 * counts.mean()


def _split_games(ids: list[int], lengths: dict[int, int]) -> list[int]:
    """The first ids of the whole games, one after another and each in order, that ``ids``
    is made of (asserting that it is)."""
    firsts, at = [], 0
    while at < len(ids):
        first = ids[at]
        assert first in lengths, ids
        assert ids[at : at + lengths[first]] == list(range(first, first + lengths[first]))
        firsts.append(first)
        at += lengths[first]
    return firsts


def test_bucketed_whole_games_group_lengths_and_keep_every_game_alike():
    buffer = ReplayBuffer(window=200, observation_shape=OBS, num_actions=A, seed=3)
    sizes = [1, 9, 2, 7, 3, 12, 4, 5, 1, 8, 6, 2, 10, 3, 1]
    records = _games(sizes)
    buffer.add(records)
    lengths = {int(r.observations[0, 0]): r.length for r in records}
    drawn = dict.fromkeys(lengths, 0)
    buckets = 4
    for _ in range(500):  # each round: one draw, cut into up to four batches
        ranges = []
        for _ in range(buckets):
            ids = buffer.sample(15, whole_games=True, buckets=buckets)[0][:, 0].astype(int)
            assert len(ids) >= 15
            firsts = _split_games(ids.tolist(), lengths)
            for first in firsts:
                drawn[first] += 1
            ranges.append((min(lengths[f] for f in firsts), max(lengths[f] for f in firsts)))
            if not buffer._pending:
                break
        ranges.sort()
        # Batches of one draw hold games of about one length: their ranges do not overlap.
        for (_, high), (low, _) in itertools.pairwise(ranges):
            assert high <= low, ranges
    counts = np.array(list(drawn.values()))  # bucketing draws every game alike all the same
    assert counts.min() > 0.8 * counts.mean() and counts.max() < 1.2 * counts.mean(), drawn


def _add_games(buffer: ReplayBuffer, records: list[GameRecord]) -> None:
    buffer.add(records)


def _load_games(buffer: ReplayBuffer, records: list[GameRecord]) -> None:
    other = ReplayBuffer(buffer.window, OBS, A)
    other.add(records)
    buffer.load_state_dict(other.state_dict())


@pytest.mark.parametrize("replace", [_add_games, _load_games], ids=["added", "loaded"])
def test_bucketed_batches_left_over_are_dropped_when_the_games_are_replaced(replace):
    buffer = ReplayBuffer(window=30, observation_shape=OBS, num_actions=A, seed=4)
    buffer.add(_games([3, 4, 5, 6, 3, 4, 5]))  # 30 positions, ids 0..29
    buffer.sample(6, whole_games=True, buckets=4)  # three or so batches are left over
    assert buffer._pending
    records = _games([5, 5, 5, 5, 5, 5], start=100)  # every slot now holds another game
    replace(buffer, records)
    lengths = {int(r.observations[0, 0]): r.length for r in records}
    for _ in range(8):  # stale slots would hold pieces of the new games, out of place
        ids = buffer.sample(6, whole_games=True, buckets=4)[0][:, 0].astype(int).tolist()
        _split_games(ids, lengths)
    with pytest.raises(ValueError, match="buckets must be an int >= 1"):
        buffer.sample(6, whole_games=True, buckets=0)


def test_whole_games_survive_a_save_and_old_files_sample_single_positions(tmp_path):
    buffer = ReplayBuffer(window=50, observation_shape=OBS, num_actions=A, seed=2)
    buffer.add(_games([4, 7, 3]))
    buffer.save(tmp_path / "replay.npz")
    loaded = ReplayBuffer.load(tmp_path / "replay.npz")
    np.testing.assert_array_equal(loaded.plies[:14], buffer.plies[:14])
    ids = loaded.sample(5, whole_games=True)[0][:, 0].astype(int).tolist()
    assert ids[:1] in ([0], [4], [11])
    # A file from before games were tracked: every position is a game of its own.
    state = dict(np.load(tmp_path / "replay.npz"))
    del state["plies"], state["game_lengths"]
    old = ReplayBuffer(window=50, observation_shape=OBS, num_actions=A)
    old.load_state_dict(state)
    assert len(old.sample(5, whole_games=True)[0]) == 5


def test_sampling_an_empty_buffer_fails():
    with pytest.raises(ValueError, match="empty"):
        ReplayBuffer(4, OBS, A).sample(1)


def test_samples_are_copies():
    buffer = ReplayBuffer(4, OBS, A)
    buffer.add(_games([4]))
    obs, policies, values = buffer.sample(8)
    obs[:] = -1
    policies[:] = -1
    values[:] = -1
    assert _stored_ids(buffer) == [0, 1, 2, 3]
    assert buffer.policies.min() == 0 and buffer.values.min() == 0


def _tictactoe_records(game, count: int, seed: int) -> list[GameRecord]:
    """Random tic-tac-toe games with a random (legal) policy target at each ply."""
    rng = np.random.default_rng(seed)
    records = []
    for _ in range(count):
        states, plies = game.new_initial_states(1), []
        while not game.is_terminal(states)[0]:
            mask = game.legal_actions_mask(states)[0]
            policy = rng.random(9) * mask
            action = rng.choice(np.flatnonzero(mask))
            plies.append((game.observation_tensor(states)[0], policy / policy.sum(),
                          game.current_player(states)[0], action))  # fmt: skip
            states = game.apply_actions(states, np.array([action]))
        obs, pol, who, moves = zip(*plies, strict=True)
        records.append(GameRecord.from_plies(obs, pol, who, moves, game.returns(states)[0]))
    return records


def test_augmentation_returns_a_true_symmetry_of_a_stored_position():
    game = games.make("tictactoe")
    buffer = ReplayBuffer(200, game.spec.observation_shape, 9, seed=3)
    buffer.add(_tictactoe_records(game, 20, seed=0))
    n = len(buffer)
    stored = game.symmetries(buffer.observations[:n], buffer.policies[:n])  # [8] of [n, ...]
    obs, policies, values = buffer.sample(300, game)
    used = set()
    for o, p, v in zip(obs, policies, values, strict=True):
        matches = [
            (k, i)
            for k, (sym_obs, sym_pol) in enumerate(stored)
            for i in np.flatnonzero((sym_obs == o).all(axis=(1, 2, 3)))
            if np.array_equal(sym_pol[i], p) and buffer.values[i] == v
        ]
        assert matches, "a sampled position is no symmetry of any stored position"
        used.add(min(k for k, _ in matches))
    # Transformed positions (not only the identity) come out, and many kinds of them.
    assert len(used) >= 6, used
    # Without the game, every sample is a stored position exactly.
    obs, policies, _ = buffer.sample(50)
    for o, p in zip(obs, policies, strict=True):
        i = np.flatnonzero((buffer.observations[:n] == o).all(axis=(1, 2, 3)))
        assert any(np.array_equal(buffer.policies[j], p) for j in i)


def test_reuse_ratio_and_version_age():
    buffer = ReplayBuffer(50, OBS, A)
    assert buffer.reuse_ratio == 0.0 and buffer.version_age(3) == 0.0 and buffer.mean_age == 0
    buffer.add(_games([30], version=1))
    buffer.add(_games([10, 10], start=30, version=3))
    buffer.sample(25)
    buffer.sample(35)
    assert buffer.positions_sampled == 60
    assert buffer.reuse_ratio == pytest.approx(60 / 50)
    # 30 positions of version 1 and 20 of version 3, seen from version 4.
    assert buffer.version_age(4) == pytest.approx((30 * 3 + 20 * 1) / 50)
    assert buffer.mean_age == pytest.approx(30 * 2 / 50)  # from the newest stored, 3
    buffer.add(_games([40], start=50, version=4))  # window 50: 10 of version 3 remain
    assert buffer.reuse_ratio == pytest.approx(60 / 90)
    assert buffer.version_age(4) == pytest.approx((10 * 1 + 40 * 0) / 50)
    assert buffer.mean_age == buffer.version_age(4)


def test_add_rejects_records_of_another_shape():
    buffer = ReplayBuffer(10, (2,), A)
    with pytest.raises(ValueError, match="observations"):
        buffer.add(_games([2]))
    buffer = ReplayBuffer(10, OBS, A + 1)
    with pytest.raises(ValueError, match="actions"):
        buffer.add(_games([2]))
    assert buffer.positions_added == 0


def _filled(seed: int = 5) -> ReplayBuffer:
    buffer = ReplayBuffer(10, OBS, A, seed=seed)
    buffer.add(_games([4, 5, 6], version=2))  # wrapped around
    buffer.sample(7)
    return buffer


def test_save_load_round_trip(tmp_path):
    buffer = _filled()
    path = tmp_path / "replay.npz"
    buffer.save(path)
    loaded = ReplayBuffer.load(path)
    assert (loaded.window, loaded.observation_shape, loaded.num_actions) == (10, OBS, A)
    assert len(loaded) == len(buffer) and _stored_ids(loaded) == _stored_ids(buffer)
    for name in ("positions_added", "games_added", "positions_sampled"):
        assert getattr(loaded, name) == getattr(buffer, name)
    assert loaded.reuse_ratio == buffer.reuse_ratio and loaded.version_age(5) == 3
    # The generator's state travels too: both draw the very same samples next.
    for a, b in zip(buffer.sample(20), loaded.sample(20), strict=True):
        np.testing.assert_array_equal(a, b)
    # And the ring goes on where it stopped.
    buffer.add(_games([3], start=15))
    loaded.add(_games([3], start=15))
    assert _stored_ids(loaded) == _stored_ids(buffer) == list(range(8, 18))


def test_narrow_observations_sample_as_the_float32_buffer_does(tmp_path):
    """A uint8 buffer takes a quarter of the observation bytes, samples exactly what a
    float32 buffer with the same seed samples (as float32), and keeps its dtype in a file;
    a file without one (written before) loads as float32."""
    wide = ReplayBuffer(window=30, observation_shape=OBS, num_actions=A, seed=4)
    narrow = ReplayBuffer(30, OBS, A, seed=4, observation_dtype="uint8")
    for buffer in (wide, narrow):
        buffer.add(_games([5, 9, 4, 6]))
    assert narrow.observations.dtype == np.uint8
    assert narrow.observations.nbytes * 4 == wide.observations.nbytes
    assert wide.nbytes - narrow.nbytes == wide.observations.nbytes - narrow.observations.nbytes
    for whole in (False, True):
        for a, b in zip(wide.sample(16, whole_games=whole), narrow.sample(16, whole_games=whole),
                        strict=True):  # fmt: skip
            assert a.dtype == b.dtype == np.float32
            np.testing.assert_array_equal(a, b)
    narrow.save(tmp_path / "narrow.npz")
    loaded = ReplayBuffer.load(tmp_path / "narrow.npz")
    assert loaded.observation_dtype == np.uint8 and _stored_ids(loaded) == _stored_ids(narrow)
    state = dict(np.load(tmp_path / "narrow.npz"))
    del state["observation_dtype"]
    np.savez(tmp_path / "old.npz", **state)
    assert ReplayBuffer.load(tmp_path / "old.npz").observation_dtype == np.float32


def test_observations_a_narrow_dtype_cannot_hold_are_refused():
    """A fraction or a value out of range is never stored rounded or wrapped: the record or
    the buffer names the dtype to widen."""
    narrow = ReplayBuffer(30, OBS, A, observation_dtype="uint8")
    with pytest.raises(ValueError, match=r"uint8 cannot store exactly.*observation_dtype"):
        narrow.add(_games([300]))  # ids up to 299
    assert len(narrow) == 0
    half = GameRecord.from_plies(np.full((2, 3), 0.5), np.eye(A)[:2], [0, 0], [0, 1], [1.0])
    with pytest.raises(ValueError, match=r"such as np\.float32\(0\.5\)|such as 0\.5"):
        narrow.add([half])
    with pytest.raises(ValueError, match="uint8 cannot store"):
        GameRecord.from_plies(np.full((2, 3), 0.5), np.eye(A)[:2], [0, 0], [0, 1], [1.0],
                              observation_dtype="uint8")  # fmt: skip
    kept = GameRecord.from_plies(np.ones((2, 3)), np.eye(A)[:2], [0, 0], [0, 1], [1.0],
                                 observation_dtype="uint8")  # fmt: skip
    assert kept.observations.dtype == np.uint8
    with pytest.raises(ValueError, match="observation_dtype must name a numpy number type"):
        games.GameSpec("g", 1, 1, 3, (3,), 5, observation_dtype="text")


def test_state_dict_loads_into_a_smaller_window():
    small = ReplayBuffer(4, OBS, A)
    small.load_state_dict(_filled().state_dict())
    assert len(small) == 4 and _stored_ids(small) == [11, 12, 13, 14]
    small.add(_games([1], start=15))
    assert _stored_ids(small) == [12, 13, 14, 15]
    with pytest.raises(ValueError, match="observations"):
        ReplayBuffer(4, (2,), A).load_state_dict(_filled().state_dict())


def test_save_is_atomic(tmp_path, monkeypatch):
    path = tmp_path / "replay.npz"
    _filled().save(path)
    before = path.read_bytes()

    def crash(file, **arrays):
        file.write(b"half a file")
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", crash)
    with pytest.raises(OSError, match="disk full"):
        ReplayBuffer(10, OBS, A).save(path)
    assert path.read_bytes() == before  # the old file is untouched
    assert [p.name for p in tmp_path.iterdir()] == ["replay.npz"]  # no temporary left behind
    monkeypatch.undo()
    assert _stored_ids(ReplayBuffer.load(path)) == list(range(5, 15))


def test_missing_and_corrupt_files_fail_clearly(tmp_path):
    with pytest.raises(FileNotFoundError, match="no replay buffer file"):
        ReplayBuffer.load(tmp_path / "nowhere.npz")
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"this is not an archive" * 10)
    with pytest.raises(ReplayLoadError, match=r"garbage\.npz"):
        ReplayBuffer.load(garbage)
    good = tmp_path / "good.npz"
    _filled().save(good)
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(ReplayLoadError, match=r"truncated\.npz"):
        ReplayBuffer.load(truncated)
    other = tmp_path / "other.npz"
    np.savez(other, weights=np.zeros(3))
    with pytest.raises(ReplayLoadError, match=r"other\.npz"):
        ReplayBuffer.load(other)
