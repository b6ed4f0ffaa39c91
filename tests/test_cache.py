"""The evaluation cache: the network's own answers, with each position evaluated once while it
is remembered."""

from __future__ import annotations

import numpy as np
import pytest

import games
from selfplay.cache import EvaluationCache
from selfplay.config import SelfPlayConfig
from selfplay.mcts import SearchConfig
from selfplay.worker import SelfPlayWorker


class CountingNetwork:
    """A deterministic evaluator that records every row it is asked about."""

    def __init__(self, num_actions: int):
        self.weights = np.random.default_rng(0).normal(size=(9, num_actions)).astype(np.float32)
        self.seen: list[bytes] = []
        self.calls = 0

    def __call__(self, observations):
        self.calls += 1
        self.seen.extend(row.tobytes() for row in np.ascontiguousarray(observations))
        flat = observations[:, :9]  # 2-D observations only
        # Not `flat @ self.weights`: BLAS blocks a matmul by batch size, so a row's last bits
        # would depend on which rows came with it (and the cache changes the batches).
        logits = (flat[:, :, None] * self.weights[None]).sum(axis=1)
        return logits, np.tanh(flat.sum(axis=1)).astype(np.float32)


def test_answers_equal_the_network_and_each_position_is_evaluated_once():
    network = CountingNetwork(4)
    cache = EvaluationCache(network)
    rng = np.random.default_rng(1)
    pool = rng.integers(0, 3, size=(20, 9)).astype(np.float32)
    for _ in range(10):
        batch = pool[rng.integers(0, len(pool), size=12)]
        logits, values = cache(batch)
        want_logits, want_values = CountingNetwork(4)(batch)
        np.testing.assert_allclose(logits, want_logits, rtol=1e-6)
        np.testing.assert_allclose(values, want_values, rtol=1e-6)
    # Without next_move everything is still remembered: no row reached the network twice.
    assert len(network.seen) == len(set(network.seen)) == len(cache)
    assert cache.hits + cache.misses == 120 and cache.misses == len(network.seen)


def test_the_window_is_this_move_and_the_one_before():
    network = CountingNetwork(2)
    cache = EvaluationCache(network)
    a, b = np.zeros((1, 9), np.float32), np.ones((1, 9), np.float32)
    cache(a)
    cache.next_move()
    cache(b)
    cache.next_move()
    cache(a)  # two moves ago: forgotten, evaluated again
    cache(b)  # one move ago: remembered (and kept for the next move)
    cache.next_move()
    cache(b)
    assert network.seen == [a.tobytes(), b.tobytes(), a.tobytes()]
    cache.clear()
    cache(b)
    assert len(network.seen) == 4 and network.calls == 4


def test_an_empty_batch_goes_to_the_network_unchanged():
    cache = EvaluationCache(CountingNetwork(3))
    logits, values = cache(np.zeros((0, 9), np.float32))
    assert logits.shape == (0, 3) and values.shape == (0,)


@pytest.mark.parametrize("algorithm", ["gumbel", "puct"])
def test_self_play_with_the_cache_asks_the_network_less_for_the_same_games(algorithm):
    game = games.make("countdown@k=3")
    records, positions = {}, {}
    for cached in (False, True):
        network = CountingNetwork(game.spec.num_actions)
        config = SelfPlayConfig(games_per_worker=8, temperature_moves=0,
                                cache_evaluations=cached)  # fmt: skip
        worker = SelfPlayWorker(game, SearchConfig(simulations=16, algorithm=algorithm),
                                config, network, seed=5)  # fmt: skip
        records[cached] = worker.play(12)
        stats = worker.stats()
        positions[cached] = stats["evaluator_positions"]
        assert stats["evaluator_positions"] == len(network.seen)
        if cached:
            assert len(set(network.seen)) == len(network.seen)  # within the window: once each
    # A deterministic network gives the same answers from the cache: the same games.
    for with_cache, without in zip(records[True], records[False], strict=True):
        np.testing.assert_array_equal(with_cache.actions, without.actions)
        np.testing.assert_array_equal(with_cache.policies, without.policies)
    if algorithm == "gumbel":  # no tree reuse: the last move's search evaluated most of it
        assert positions[True] < positions[False]
    else:  # PUCT keeps its subtree, so the cache has little left to add
        assert positions[True] <= positions[False]
