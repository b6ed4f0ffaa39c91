"""The incremental evaluator: a text network run on each row's new tokens only, with the
attention keys and values of the earlier ones kept, must give what the full pass gives."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import games
from games.base import GameSpec
from selfplay.config import ModelConfig
from selfplay.incremental import IncrementalEvaluator, decoding_evaluator
from selfplay.model import PolicyValueNet, make_evaluator
from selfplay.players import NetworkPlayer
from selfplay.text_eval import decode

torch.set_num_threads(1)

V, T = 13, 12
TEXT = GameSpec(name="toytext", version=1, num_players=1, num_actions=V,
                observation_shape=(T,), max_game_length=T, vocabulary_size=V)  # fmt: skip
CONFIG = ModelConfig(blocks=3, channels=16, value_hidden=8, heads=4)


def _net(seed: int = 0, spec: GameSpec = TEXT, config: ModelConfig = CONFIG) -> PolicyValueNet:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return PolicyValueNet(spec, config).eval()


def _assert_same(got, want) -> None:
    np.testing.assert_allclose(got[0], want[0], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(got[1], want[1], rtol=1e-4, atol=1e-5)


def _grow(rows: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Each row with 0-3 random tokens more (as far as it fits)."""
    rows = rows.copy()
    for row in rows:
        n = int((row != 0).sum())
        extra = min(int(rng.integers(0, 4)), T - n)
        row[n : n + extra] = rng.integers(1, V, extra)
    return rows


@pytest.mark.parametrize("seed", range(4))
def test_random_call_sequences_match_the_full_pass(seed):
    """Rows grow by several tokens, or none; some end, some come back in another order, some
    are new, some repeat: every call must equal the plain evaluator's."""
    rng = np.random.default_rng(seed)
    net = _net(seed)
    plain, incremental = make_evaluator(net, "cpu"), IncrementalEvaluator(net)
    rows = np.zeros((9, T), np.float32)
    for row in rows:
        n = int(rng.integers(1, 5))
        row[:n] = rng.integers(1, V, n)
    for _ in range(8):
        _assert_same(incremental(rows), plain(rows))
        rows = _grow(rows, rng)
        keep = rng.permutation(len(rows))[: int(rng.integers(1, len(rows) + 1))]
        fresh = np.zeros((int(rng.integers(0, 3)), T), np.float32)
        fresh[:, :2] = rng.integers(1, V, (len(fresh), 2))
        rows = np.concatenate([rows[keep], fresh, rows[keep[:1]]])  # the last row twice
    assert incremental.reused_tokens > 0  # the cache was used, not just filled


def test_decoding_a_text_game_reuses_nearly_every_token():
    """Greedy decoding of countdown answers: at each step the same logits as the full pass,
    and only one new token per row runs through the network."""
    game = games.make("countdown@k=3").without_early_verdicts()  # answers run to their end
    net = _net(1, game.spec, ModelConfig(blocks=2, channels=16, value_hidden=8, heads=4))
    plain, incremental = make_evaluator(net, "cpu"), IncrementalEvaluator(net)
    states = game.states_from_prompts(game.task.test_prompts("seen", limit=16))
    steps = 0
    while not game.is_terminal(states).all():
        live = np.flatnonzero(~game.is_terminal(states))
        observations = game.observation_tensor(states[live])
        want = plain(observations)
        _assert_same(incremental(observations), want)
        actions = np.where(game.legal_actions_mask(states[live]), want[0], -np.inf).argmax(1)
        states[live] = game.apply_actions(states[live], actions)
        steps += 1
    assert steps > 3
    prompt_tokens = int(game.observation_tensor(game.states_from_prompts(
        game.task.test_prompts("seen", limit=16))).astype(bool).sum())  # fmt: skip
    # The prompts once, then one token per live row and step.
    assert incremental.computed_tokens < prompt_tokens + 16 * steps


def test_samples_of_one_problem_decode_in_place_as_answers_end():
    """Several sampled answers to each problem, ending at different steps: every call equals
    the full pass, and the cache stays where it is until fewer than half its rows are left."""
    game = games.make("countdown@k=3").without_early_verdicts()
    net = _net(3, game.spec, ModelConfig(blocks=2, channels=16, value_hidden=8, heads=4))
    plain, incremental = make_evaluator(net, "cpu"), IncrementalEvaluator(net)
    prompts = game.task.test_prompts("seen", limit=4)
    states = game.states_from_prompts([p for p in prompts for _ in range(4)])  # equal rows
    rng = np.random.default_rng(0)
    moved, kept = 0, 0
    while not game.is_terminal(states).all():
        live = np.flatnonzero(~game.is_terminal(states))
        observations = game.observation_tensor(states[live])
        rows_before = len(incremental._lengths)
        cache_before = incremental._cache.data_ptr()
        _assert_same(incremental(observations), plain(observations))
        if rows_before and 2 * len(live) >= rows_before:
            assert incremental._cache.data_ptr() == cache_before  # not moved
            kept += 1
        else:
            moved += 1
        mask = game.legal_actions_mask(states[live])
        actions = np.array([rng.choice(np.flatnonzero(m)) for m in mask])
        states[live] = game.apply_actions(states[live], actions)
    assert kept > 5 and moved >= 1


def test_new_weights_drop_the_cache():
    net, other = _net(0), _net(1)
    incremental = IncrementalEvaluator(net)
    rows = np.zeros((3, T), np.float32)
    rows[:, :3] = [[1, 2, 3], [4, 5, 6], [7, 8, 9]]
    incremental(rows)
    net.load_state_dict(other.state_dict())
    rows[:, 3] = 5
    _assert_same(incremental(rows), make_evaluator(other, "cpu")(rows))


def test_a_training_model_is_evaluated_in_eval_mode_and_left_training():
    net = _net(0).train()
    rows = np.zeros((2, T), np.float32)
    rows[:, :4] = [[1, 2, 3, 4], [4, 3, 2, 1]]
    got = IncrementalEvaluator(net)(rows)
    assert net.training
    _assert_same(got, make_evaluator(_net(0), "cpu")(rows))


def test_bad_observations_and_models_are_refused():
    incremental = IncrementalEvaluator(_net(0))
    gap = np.zeros((1, T), np.float32)
    gap[0, [0, 2]] = 3
    with pytest.raises(ValueError, match="follows padding"):
        incremental(gap)
    with pytest.raises(ValueError, match=r"token ids must be in \[0, 13\)"):
        incremental(np.full((1, T), V, np.float32))
    logits, values = incremental(np.zeros((0, T), np.float32))
    assert logits.shape == (0, V) and values.shape == (0,)
    with pytest.raises(ValueError, match="text network with at least one layer"):
        IncrementalEvaluator(_net(0, config=ModelConfig(blocks=0, channels=16, value_hidden=8)))
    board = games.make("tictactoe")
    board_net = PolicyValueNet(board.spec, ModelConfig(blocks=1, channels=8, value_hidden=8))
    with pytest.raises(ValueError, match="text network"):
        IncrementalEvaluator(board_net)
    assert not isinstance(decoding_evaluator(board_net), IncrementalEvaluator)


def test_the_raw_policy_player_decodes_incrementally():
    game = games.make("countdown@k=3")
    net = _net(2, game.spec, ModelConfig(blocks=2, channels=16, value_hidden=8, heads=4))
    player = NetworkPlayer(net, None, device="cpu")
    assert isinstance(player.decoder, IncrementalEvaluator)
    states = game.states_from_prompts(game.task.test_prompts("seen", limit=8))
    rng = np.random.default_rng(0)
    final = decode(game, player.decoder, states, rng)
    assert game.is_terminal(final).all() and player.decoder.reused_tokens > 0


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_on_the_gpu_it_matches_the_cpu():
    rng = np.random.default_rng(9)
    rows = np.zeros((64, T), np.float32)
    rows[:, :3] = rng.integers(1, V, (64, 3))
    want = make_evaluator(_net(3), "cpu")
    gpu = IncrementalEvaluator(_net(3), "cuda")
    for _ in range(4):
        got, expected = gpu(rows), want(rows)
        np.testing.assert_allclose(got[0], expected[0], rtol=1e-2, atol=1e-2)  # TF32 allowed
        np.testing.assert_allclose(got[1], expected[1], rtol=1e-2, atol=1e-2)
        rows = _grow(rows, rng)
    assert gpu.reused_tokens > 0
