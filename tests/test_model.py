"""The policy-value network: shapes for board and vector observations, the parameter count of
the AlphaZero architecture, and the evaluator the search calls."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from toy_games import LineWalk

import games
from games.base import GameSpec
from selfplay.config import ConfigError, ModelConfig, parse_overrides
from selfplay.mcts import SearchConfig, search
from selfplay.model import (
    PolicyValueNet,
    _prefix_hosts,
    count_parameters,
    make_evaluator,
    pick_device,
)

torch.set_num_threads(1)

BOARD = GameSpec(name="board", version=1, num_players=2, num_actions=7,
                 observation_shape=(2, 6, 7), max_game_length=42)  # fmt: skip
VECTOR = GameSpec(name="vector", version=1, num_players=1, num_actions=3,
                  observation_shape=(5,), max_game_length=10)  # fmt: skip
SMALL = ModelConfig(blocks=2, channels=16, value_hidden=8)


def _net(spec: GameSpec, config: ModelConfig = SMALL, seed: int = 0) -> PolicyValueNet:
    with torch.random.fork_rng(devices=[]):  # seeded without touching the global generator
        torch.manual_seed(seed)
        return PolicyValueNet(spec, config)


@pytest.mark.parametrize("spec", [BOARD, VECTOR], ids=["board", "vector"])
@pytest.mark.parametrize("batch", [1, 5])
def test_forward_shapes_and_value_range(spec, batch):
    net = _net(spec)
    obs = torch.randn(batch, *spec.observation_shape) * 10  # large inputs: tanh must bound
    for mode in (net.train, net.eval):
        mode()  # training mode at batch 1 too
        logits, values = net(obs)
        assert logits.shape == (batch, spec.num_actions) and logits.dtype == torch.float32
        assert values.shape == (batch,) and values.dtype == torch.float32
        assert torch.all(values.abs() <= 1)
        assert torch.isfinite(logits).all()


def test_board_net_is_convolutional_and_vector_net_is_not():
    board, vector = _net(BOARD), _net(VECTOR)
    assert board.convolutional and not vector.convolutional
    assert sum(isinstance(m, torch.nn.Conv2d) for m in board.modules()) == 1 + 2 * 2 + 2
    assert not any(isinstance(m, torch.nn.Conv2d) for m in vector.modules())


@pytest.mark.parametrize("spec", [BOARD, VECTOR], ids=["board", "vector"])
def test_residual_blocks_have_a_skip(spec):
    """With its second layer zeroed, a residual block passes relu(input) through."""
    block = _net(spec).tower[0].eval()
    second = block.conv2 if spec is BOARD else block.fc2
    with torch.no_grad():
        for p in second.parameters():
            p.zero_()
        x = torch.randn(3, 16, 6, 7) if spec is BOARD else torch.randn(3, 16)
        torch.testing.assert_close(block(x), torch.relu(x))


@pytest.mark.parametrize("spec", [BOARD, VECTOR], ids=["board", "vector"])
def test_values_are_squashed_by_tanh(spec):
    net = _net(spec).eval()
    obs = torch.rand(4, *spec.observation_shape)
    for bias, sign in ((20.0, 1.0), (-20.0, -1.0)):
        with torch.no_grad():
            net.value_head[-1].bias.fill_(bias)
            _, values = net(obs)
        assert torch.all(values.abs() <= 1) and torch.all(values * sign > 0.99)


def test_parameter_count_is_alphazeros_architecture():
    c, h, w, a, hidden, blocks, ch = 2, 6, 7, 7, 8, 2, 16
    stem = c * ch * 9 + 2 * ch  # conv without bias, BatchNorm weight and bias
    block = 2 * (ch * ch * 9 + 2 * ch)
    policy = ch * 2 + 2 * 2 + (2 * h * w) * a + a
    value = ch * 1 + 2 * 1 + (h * w) * hidden + hidden + hidden + 1
    assert count_parameters(_net(BOARD)) == stem + blocks * block + policy + value


def test_count_parameters_skips_frozen_ones():
    net = _net(BOARD)
    total = count_parameters(net)
    net.stem[0].weight.requires_grad_(False)
    assert count_parameters(net) == total - net.stem[0].weight.numel()


def test_wrong_observation_shape_is_refused():
    net = _net(BOARD)
    with pytest.raises(ValueError, match=r"\[B, 2, 6, 7\]"):
        net(torch.zeros(3, 2, 7, 6))
    with pytest.raises(ValueError, match="board"):
        net(torch.zeros(2, 6, 7))


def test_invalid_config_is_refused():
    with pytest.raises(ValueError, match="channels"):
        PolicyValueNet(BOARD, ModelConfig(blocks=1, channels=0, value_hidden=4))


@pytest.mark.parametrize("spec", [BOARD, VECTOR], ids=["board", "vector"])
def test_evaluator_matches_forward_in_eval_mode(spec):
    net = _net(spec)
    rng = np.random.default_rng(1)
    obs = rng.standard_normal((33, *spec.observation_shape)).astype(np.float32)
    # Make the running statistics differ from a fresh batch's: eval and train modes disagree.
    net.train()
    with torch.no_grad():
        net(torch.from_numpy(obs) * 3 + 1)
    net.eval()
    with torch.no_grad():
        want_logits, want_values = net(torch.from_numpy(obs))
    net.train()  # the evaluator must switch to eval mode on its own, and back
    logits, values = make_evaluator(net, "cpu")(obs)
    assert net.training
    assert isinstance(logits, np.ndarray) and logits.dtype == np.float32
    assert isinstance(values, np.ndarray) and values.dtype == np.float32
    assert logits.shape == (33, spec.num_actions) and values.shape == (33,)
    np.testing.assert_allclose(logits, want_logits.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(values, want_values.numpy(), rtol=1e-5, atol=1e-6)
    if spec is BOARD:  # BatchNorm: batch statistics would give other logits
        with torch.no_grad():
            train_logits, _ = net(torch.from_numpy(obs))
        assert not np.allclose(train_logits.numpy(), logits, atol=1e-3)


def test_evaluator_leaves_batchnorm_statistics_alone():
    net = _net(BOARD).train()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    make_evaluator(net, "cpu")(np.ones((8, 2, 6, 7), np.float32))
    for key, value in net.state_dict().items():
        assert torch.equal(value, before[key]), key


def test_evaluator_rows_do_not_depend_on_the_batch():
    net = _net(BOARD)
    evaluate = make_evaluator(net, "cpu")
    obs = np.random.default_rng(2).random((64, 2, 6, 7)).astype(np.float32)
    logits, values = evaluate(obs)
    one_logits, one_values = evaluate(obs[5:6])
    np.testing.assert_allclose(one_logits[0], logits[5], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(one_values[0], values[5], rtol=1e-4, atol=1e-5)


def test_evaluator_accepts_float64_strided_and_empty_batches():
    net = _net(BOARD)
    evaluate = make_evaluator(net, "cpu")
    obs = np.random.default_rng(3).random((6, 2, 6, 7))
    want_logits, want_values = evaluate(obs.astype(np.float32))
    logits, values = evaluate(obs)  # float64
    np.testing.assert_allclose(logits, want_logits, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(values, want_values, rtol=1e-5, atol=1e-6)
    strided_logits, _ = evaluate(obs[::2])
    np.testing.assert_allclose(strided_logits, want_logits[::2], rtol=1e-4, atol=1e-5)
    empty_logits, empty_values = evaluate(obs[:0])
    assert empty_logits.shape == (0, 7) and empty_values.shape == (0,)
    assert empty_logits.dtype == np.float32 and empty_values.dtype == np.float32


def test_evaluator_sees_weights_loaded_after_it_was_made():
    net, other = _net(BOARD, seed=0), _net(BOARD, seed=1)
    evaluate = make_evaluator(net, "cpu")
    obs = np.random.default_rng(4).random((4, 2, 6, 7)).astype(np.float32)
    before, _ = evaluate(obs)
    net.load_state_dict(other.state_dict())
    after, _ = evaluate(obs)
    want, _ = make_evaluator(other, "cpu")(obs)
    assert not np.allclose(before, after)
    np.testing.assert_allclose(after, want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", ["connect4", "linewalk"])
def test_the_search_runs_on_the_evaluator(name):
    game = LineWalk() if name == "linewalk" else games.make(name)
    net = _net(game.spec)
    states = game.new_initial_states(4)
    config = SearchConfig(simulations=8, backend="numba")
    out = search(game, states, make_evaluator(net, "cpu"), config, np.random.default_rng(0))
    assert out.visit_counts.shape == (4, game.spec.num_actions)
    np.testing.assert_array_equal(out.visit_counts.sum(axis=1), 8)
    assert np.all(np.abs(out.root_values) <= 1)


def test_pick_device():
    assert pick_device("cpu") == torch.device("cpu")
    assert pick_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="no CUDA"):
            pick_device("cuda")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_evaluator_on_the_gpu_matches_the_cpu():
    net = _net(BOARD)
    obs = np.random.default_rng(5).random((300, 2, 6, 7)).astype(np.float32)
    cpu_logits, cpu_values = make_evaluator(net, "cpu")(obs)
    logits, values = make_evaluator(net, "cuda")(obs)
    assert next(net.parameters()).is_cuda
    assert logits.dtype == np.float32 and isinstance(values, np.ndarray)
    np.testing.assert_allclose(logits, cpu_logits, rtol=1e-2, atol=1e-2)  # TF32 allowed
    np.testing.assert_allclose(values, cpu_values, rtol=1e-2, atol=1e-2)


# -- Text games: the causal transformer ---------------------------------------------------------

V, T = 11, 8
TEXT = GameSpec(name="toytext", version=1, num_players=1, num_actions=V,
                observation_shape=(T,), max_game_length=T, vocabulary_size=V)  # fmt: skip
TEXT_CONFIG = ModelConfig(blocks=2, channels=16, value_hidden=8, heads=4)


def _token_rows(lengths, length=T, seed=0) -> torch.Tensor:
    """Float token ids ``[len(lengths), length]``: random real tokens, then padding (0)."""
    rng = np.random.default_rng(seed)
    ids = np.zeros((len(lengths), length), np.float32)
    for row, n in enumerate(lengths):
        ids[row, :n] = rng.integers(1, V, n)
    return torch.from_numpy(ids)


def _text_net(spec: GameSpec = TEXT, config: ModelConfig = TEXT_CONFIG, seed: int = 0):
    return _net(spec, config, seed).eval()


@pytest.mark.parametrize("blocks", [0, 2])
@pytest.mark.parametrize("lengths", [[1], [3, 8, 1, 5, 2]], ids=["batch1", "batch5"])
def test_text_net_shapes_and_value_range(blocks, lengths):
    net = _net(TEXT, ModelConfig(blocks=blocks, channels=16, value_hidden=8, heads=4))
    assert net.text and not net.convolutional
    assert not any(isinstance(m, torch.nn.Conv2d) for m in net.modules())
    obs = _token_rows(lengths)
    for mode in (net.train, net.eval):
        mode()
        logits, values = net(obs)
        assert logits.shape == (len(lengths), V) and logits.dtype == torch.float32
        assert values.shape == (len(lengths),) and values.dtype == torch.float32
        assert torch.all(values.abs() <= 1) and torch.isfinite(logits).all()


def test_text_values_are_squashed_by_tanh():
    net = _text_net()
    for bias, sign in ((20.0, 1.0), (-20.0, -1.0)):
        with torch.no_grad():
            net.value_head[-1].bias.fill_(bias)
            _, values = net(_token_rows([2, 5, 8]))
        assert torch.all(values.abs() <= 1) and torch.all(values * sign > 0.99)


def test_text_last_layer_read_out_matches_the_full_layer():
    """``forward_at`` (the last layer, computed at the read-out positions only) is the full
    layer's output at those positions."""
    layer = _text_net().tower.layers[0]
    x = torch.randn(6, T, 16)
    last = torch.tensor([0, 7, 3, 5, 1, 7])
    with torch.no_grad():
        torch.testing.assert_close(layer.forward_at(x, last), layer(x)[torch.arange(6), last])


def test_text_padding_does_not_change_the_output():
    net = _text_net()
    obs = _token_rows([3, 5, 1, 4])  # the longest row has 5 tokens: the batch is cut to 5
    with torch.no_grad():
        logits, values = net(obs)
        # Each row alone (cut to its own length) and next to a full-length row (no cut).
        for row in range(4):
            one_logits, one_values = net(obs[row : row + 1])
            torch.testing.assert_close(one_logits[0], logits[row])
            torch.testing.assert_close(one_values[0], values[row])
        full = torch.cat([obs, _token_rows([T], seed=1)])
        full_logits, full_values = net(full)
        torch.testing.assert_close(full_logits[:4], logits)
        torch.testing.assert_close(full_values[:4], values)
        # Longer padding: the same weights on a game with T + 5 (its first T positions).
        long_spec = GameSpec(name="toytext", version=1, num_players=1, num_actions=V,
                             observation_shape=(T + 5,), max_game_length=T + 5,
                             vocabulary_size=V)  # fmt: skip
        long_net = _text_net(long_spec, seed=3)
        state = net.state_dict()
        state["stem.position"] = torch.cat([state["stem.position"], torch.randn(5, 16)])
        long_net.load_state_dict(state)
        padded = torch.cat([obs, torch.zeros(4, 5)], dim=1)
        long_logits, long_values = long_net(padded)
        torch.testing.assert_close(long_logits, logits)
        torch.testing.assert_close(long_values, values)
        # Tokens after the read-out position (garbage where the padding was) are never seen.
        ids = obs.long()
        last = (ids != 0).sum(dim=1) - 1
        garbage = torch.where(ids == 0, torch.randint(1, V, ids.shape), ids)
        net_features = net.tower(net.stem(ids), last)
        torch.testing.assert_close(net.tower(net.stem(garbage), last), net_features)


def test_text_rows_that_are_prefixes_are_read_out_of_one_pass():
    """A batch of whole games (each game's positions in order, every one a prefix of the
    next) gives the same outputs and gradients as each row on its own, from fewer passes."""
    rng = np.random.default_rng(4)
    games_rows = []
    for _ in range(5):
        full = _token_rows([T], seed=int(rng.integers(1000)))[0]
        for n in sorted(rng.integers(1, T + 1, size=int(rng.integers(1, 5)))):
            row = torch.zeros(T)
            row[:n] = full[:n]
            games_rows.append(row)
    obs = torch.stack(games_rows)
    ids = obs.long()
    hosts, host_of = _prefix_hosts(ids, ids != 0)
    assert len(hosts) <= 5 < len(obs)
    for row, host in enumerate(hosts[host_of].tolist()):  # every row is a prefix of its host
        n = int((ids[row] != 0).sum())
        assert torch.equal(ids[row, :n], ids[host, :n])
    for blocks in (0, 1, 3):
        net = _net(TEXT, ModelConfig(blocks=blocks, channels=16, value_hidden=8, heads=4))
        logits, values = net(obs)
        (logits.square().sum() + values.sum()).backward()
        shared = [p.grad.clone() for p in net.parameters()]
        net.zero_grad()
        alone = [net(obs[i : i + 1]) for i in range(len(obs))]
        torch.testing.assert_close(logits, torch.cat([a[0] for a in alone]))
        torch.testing.assert_close(values, torch.cat([a[1] for a in alone]))
        sum(a[0].square().sum() + a[1].sum() for a in alone).backward()
        for got, want in zip(shared, [p.grad for p in net.parameters()], strict=True):
            torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-5)


def test_text_last_layer_runs_whole_or_at_the_read_outs_alike(monkeypatch):
    """The last layer runs at the read-out positions only or over every position, by how many
    read-outs there are (``READ_OUT_SHARE``); both give the same outputs and gradients."""
    import selfplay.model as model_module

    net = _net(TEXT, ModelConfig(blocks=2, channels=16, value_hidden=8, heads=4))
    rng = np.random.default_rng(5)
    rows = []
    for seed in range(4):  # four whole games of random lengths, every position read out
        full = _token_rows([T], seed=seed)[0]
        for n in range(int(rng.integers(1, 3)), T + 1):
            rows.append(torch.cat([full[:n], torch.zeros(T - n)]))
    obs = torch.stack(rows)
    results = []
    for share in (0, 10**6):  # always at the read-outs; always the whole layer
        monkeypatch.setattr(model_module, "READ_OUT_SHARE", share)
        net.zero_grad()
        logits, values = net(obs)
        (logits.square().sum() + values.sum()).backward()
        results.append((logits, values, [p.grad.clone() for p in net.parameters()]))
    (logits, values, grads), (whole_logits, whole_values, whole_grads) = results
    torch.testing.assert_close(whole_logits, logits)
    torch.testing.assert_close(whole_values, values)
    for got, want in zip(whole_grads, grads, strict=True):
        torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-5)


def test_text_output_depends_on_every_token_up_to_the_read_out():
    net = _text_net()
    obs = _token_rows([6])
    with torch.no_grad():
        logits, values = net(obs)
        for position in range(6):
            changed = obs.clone()
            changed[0, position] = changed[0, position] % (V - 1) + 1  # another real token
            new_logits, new_values = net(changed)
            assert not torch.allclose(new_logits, logits, atol=1e-5), position
            assert not torch.allclose(new_values, values, atol=1e-6), position


def test_text_net_learns_a_next_token_and_a_value_sign():
    net = _net(TEXT, TEXT_CONFIG, seed=4).train()
    obs = _token_rows([2, 3, 4, 5, 6, 7, 8, 3], seed=5)
    rng = np.random.default_rng(6)
    targets = torch.from_numpy(rng.integers(0, V, len(obs)))
    signs = torch.tensor([1.0, -1.0] * (len(obs) // 2))
    optimizer = torch.optim.Adam(net.parameters(), lr=3e-3)
    losses = []
    for _ in range(100):
        logits, values = net(obs)
        loss = F.cross_entropy(logits, targets) + F.mse_loss(values, signs)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.1 * losses[0], (losses[0], losses[-1])
    with torch.no_grad():
        logits, values = net.eval()(obs)
    assert torch.equal(logits.argmax(dim=1), targets)
    assert torch.equal(torch.sign(values), signs)


def test_text_parameter_count():
    width, layers, hidden, heads = 16, 2, 8, 4
    net = _net(TEXT, ModelConfig(blocks=layers, channels=width, value_hidden=hidden, heads=heads))
    norm = 2 * width
    layer = norm + (width * 3 * width + 3 * width) + (width * width + width)  # attention
    layer += norm + (width * 4 * width + 4 * width) + (4 * width * width + width)  # MLP
    embeddings = V * width + T * width
    heads_ = (width * V + V) + (width * hidden + hidden + hidden + 1)
    assert count_parameters(net) == embeddings + layers * layer + norm + heads_


def test_text_bad_inputs_are_refused():
    net = _text_net()
    good = _token_rows([3, 5])
    with pytest.raises(ValueError, match=r"\[B, 8\]"):
        net(torch.zeros(2, T + 1))
    all_padding = good.clone()
    all_padding[1] = 0
    with pytest.raises(ValueError, match=r"rows \[1\] are all padding"):
        net(all_padding)
    for bad_id in (V, -1):
        bad = good.clone()
        bad[0, 1] = bad_id
        with pytest.raises(ValueError, match=rf"token ids must be in \[0, {V}\)"):
            net(bad)
    gap = good.clone()
    gap[0, 1], gap[0, 6] = 0, 3
    with pytest.raises(ValueError, match="follows padding"):
        net(gap)


def test_heads_must_divide_channels():
    with pytest.raises(ValueError, match=r"channels must divide by heads.*channels=10.*heads=4"):
        ModelConfig(channels=10)
    with pytest.raises(ValueError, match="heads must be >= 1, got 0"):
        ModelConfig(heads=0)
    assert ModelConfig(channels=12, heads=3).heads == 3
    assert ModelConfig().heads == 4
    with pytest.raises(ConfigError, match="heads"):
        parse_overrides(["model.channels=24", "model.heads=5"])


def test_text_evaluator_matches_forward():
    net = _text_net().train()
    obs = _token_rows([1, 4, 8, 2, 6, 3, 5], seed=7).numpy()
    with torch.no_grad():
        want_logits, want_values = net.eval()(torch.from_numpy(obs))
    net.train()
    evaluate = make_evaluator(net, "cpu")
    logits, values = evaluate(obs.astype(np.float64))
    assert net.training and logits.dtype == np.float32 and values.dtype == np.float32
    np.testing.assert_allclose(logits, want_logits.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(values, want_values.numpy(), rtol=1e-5, atol=1e-6)
    one_logits, one_values = evaluate(obs[3:4])
    np.testing.assert_allclose(one_logits[0], logits[3], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(one_values[0], values[3], rtol=1e-4, atol=1e-5)
    empty_logits, empty_values = evaluate(obs[:0])
    assert empty_logits.shape == (0, V) and empty_values.shape == (0,)
