"""The learner: its loss is AlphaZero's, it learns a small fixed dataset, its schedule warms up,
and a run saved and resumed midway ends with exactly the weights of one that never stopped."""

from __future__ import annotations

import copy
import dataclasses
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from games.base import GameSpec
from selfplay.checkpoint import load_checkpoint, save_checkpoint
from selfplay.config import LearnerConfig, ModelConfig
from selfplay.learner import EMA_WARMUP, Learner, lr_factor, published_weights
from selfplay.model import PolicyValueNet, make_evaluator

torch.set_num_threads(1)

BOARD = GameSpec(name="board", version=1, num_players=2, num_actions=7,
                 observation_shape=(2, 6, 7), max_game_length=42)  # fmt: skip
VECTOR = GameSpec(name="vector", version=1, num_players=1, num_actions=3,
                  observation_shape=(5,), max_game_length=10)  # fmt: skip
SMALL = ModelConfig(blocks=1, channels=16, value_hidden=16)
FAST = LearnerConfig(batch_size=64, lr=3e-3, warmup_steps=5, weight_decay=1e-4, amp=True)


def _dataset(spec: GameSpec, size: int = 64, seed: int = 0):
    """Positions whose targets are a fixed function of the observation: the best action is the
    argmax of a random projection, the value the tanh of another; illegal actions (the last one
    in every other position) get zero target probability."""
    rng = np.random.default_rng(seed)
    obs = (rng.random((size, *spec.observation_shape)) < 0.3).astype(np.float32)
    flat = obs.reshape(size, -1)
    scores = flat @ rng.standard_normal((flat.shape[1], spec.num_actions))
    legal = np.ones((size, spec.num_actions), bool)
    legal[::2, -1] = False
    best = np.where(legal, scores, -np.inf).argmax(axis=1)
    policies = 0.1 * legal / legal.sum(axis=1, keepdims=True)  # a little on every legal move
    policies[np.arange(size), best] += 0.9
    values = np.tanh(flat @ rng.standard_normal(flat.shape[1]) / 2).astype(np.float32)
    return obs, policies.astype(np.float32), values


def _batches(spec: GameSpec, count: int, batch: int = 16, seed: int = 1):
    obs, policies, values = _dataset(spec)
    rng = np.random.default_rng(seed)
    picks = [rng.choice(len(obs), batch, replace=False) for _ in range(count)]
    return [(obs[p], policies[p], values[p]) for p in picks]


def _same_weights(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_dataset_targets_are_distributions_with_zeros_on_illegal_moves():
    _, policies, values = _dataset(BOARD)
    np.testing.assert_allclose(policies.sum(axis=1), 1.0, rtol=1e-6)
    assert np.all(policies[::2, -1] == 0) and np.all(np.abs(values) <= 1)


@pytest.mark.parametrize("spec", [BOARD, VECTOR], ids=["board", "vector"])
def test_training_fits_a_small_fixed_dataset(spec):
    learner = Learner(spec, SMALL, FAST, seed=0)
    obs, policies, values = _dataset(spec)
    first = learner.train_step(obs, policies, values)
    for _ in range(99):
        last = learner.train_step(obs, policies, values)
    assert learner.step == 100
    assert last["total_loss"] < 0.5 * first["total_loss"], (first, last)
    assert last["value_loss"] < 0.25 * first["value_loss"], (first, last)
    # The policy loss is bounded below by the targets' own entropy; approach it.
    target_entropy = float(-(policies * np.log(np.where(policies > 0, policies, 1))).sum(1).mean())
    assert last["policy_loss"] - target_entropy < 0.3 * (first["policy_loss"] - target_entropy)
    # The trained network prefers each position's target move.
    logits, _ = make_evaluator(learner.model, "cpu")(obs)
    assert (logits.argmax(axis=1) == policies.argmax(axis=1)).mean() > 0.8


def test_losses_are_cross_entropy_and_weighted_mse():
    config = LearnerConfig(lr=1e-3, warmup_steps=0, value_loss_weight=0.25)
    learner = Learner(BOARD, SMALL, config, seed=3)
    obs, policies, values = _dataset(BOARD, size=16)
    twin = copy.deepcopy(learner.model)  # the same forward pass, in training mode
    with torch.no_grad():
        logits, value = twin(torch.from_numpy(obs))
    log_probs = torch.log_softmax(logits, dim=-1)
    want_policy = float(-(torch.from_numpy(policies) * log_probs).sum(-1).mean())
    want_value = float(((value - torch.from_numpy(values)) ** 2).mean())
    want_entropy = float(-(log_probs.exp() * log_probs).sum(-1).mean())
    metrics = learner.train_step(obs, policies, values)
    assert metrics["policy_loss"] == pytest.approx(want_policy, rel=1e-5)
    assert metrics["value_loss"] == pytest.approx(want_value, rel=1e-5)
    assert metrics["total_loss"] == pytest.approx(want_policy + 0.25 * want_value, rel=1e-5)
    assert metrics["policy_entropy"] == pytest.approx(want_entropy, rel=1e-5)
    assert 0 < metrics["policy_entropy"] <= np.log(BOARD.num_actions) + 1e-6
    assert metrics["grad_norm"] > 0 and metrics["lr"] == pytest.approx(1e-3)
    names = {"total_loss", "policy_loss", "value_loss", "policy_entropy", "grad_norm", "lr"}
    assert set(metrics) == names
    assert all(type(v) is float for v in metrics.values())
    # A one-hot target: the policy loss is the negative log-likelihood of that action.
    onehot = np.eye(BOARD.num_actions, dtype=np.float32)[policies.argmax(axis=1)]
    twin = copy.deepcopy(learner.model)
    with torch.no_grad():
        logits, _ = twin(torch.from_numpy(obs))
    nll = float(F.cross_entropy(logits, torch.from_numpy(onehot.argmax(axis=1))))
    assert learner.train_step(obs, onehot, values)["policy_loss"] == pytest.approx(nll, rel=1e-5)


def test_warmup_is_linear_then_constant():
    warm = LearnerConfig(warmup_steps=4)
    assert [lr_factor(s, warm) for s in range(6)] == [0.25, 0.5, 0.75, 1.0, 1.0, 1.0]
    assert lr_factor(0, LearnerConfig(warmup_steps=0)) == 1.0
    learner = Learner(VECTOR, SMALL, LearnerConfig(lr=0.1, warmup_steps=4, weight_decay=0.0))
    batches = _batches(VECTOR, 6)
    lrs = [learner.train_step(*b)["lr"] for b in batches]
    np.testing.assert_allclose(lrs, [0.025, 0.05, 0.075, 0.1, 0.1, 0.1], rtol=1e-12)
    assert learner.optimizer.param_groups[0]["lr"] == pytest.approx(0.1)
    constant = Learner(VECTOR, SMALL, LearnerConfig(lr=0.1, warmup_steps=0))
    assert [constant.train_step(*b)["lr"] for b in batches[:2]] == [0.1, 0.1]


def _reference_lr(step: int, lr: float, warmup: int, decay: int, floor: float) -> float:
    """nanoGPT's get_lr, written out: linear warm-up, cosine to the floor, then the floor."""
    if step < warmup:
        return lr * (step + 1) / warmup
    if step >= decay:
        return lr * floor
    ratio = (step - warmup) / (decay - warmup)
    return lr * floor + 0.5 * (1.0 + math.cos(math.pi * ratio)) * (lr - lr * floor)


@pytest.mark.parametrize("warmup,decay,floor", [(3, 10, 0.1), (0, 7, 0.0), (2, 3, 0.5)])
def test_the_decay_follows_a_cosine_to_the_floor_and_resumes_on_it(warmup, decay, floor, tmp_path):
    config = LearnerConfig(lr=0.2, warmup_steps=warmup, decay_steps=decay, min_lr_fraction=floor)
    learner = Learner(VECTOR, SMALL, config)
    batches = _batches(VECTOR, decay + 3)
    lrs = [learner.train_step(*b)["lr"] for b in batches[:5]]
    save_checkpoint(tmp_path / "ckpt.pt", {"learner": learner.state_dict()})
    resumed = Learner(VECTOR, SMALL, config, seed=3)
    resumed.load_state_dict(load_checkpoint(tmp_path / "ckpt.pt")["learner"])
    lrs += [resumed.train_step(*b)["lr"] for b in batches[5:]]
    want = [_reference_lr(s, 0.2, warmup, decay, floor) for s in range(decay + 3)]
    np.testing.assert_allclose(lrs, want, rtol=1e-12, atol=1e-15)
    assert lrs[-1] == pytest.approx(0.2 * floor)


def test_a_resumed_run_may_start_decaying():
    learner = Learner(VECTOR, SMALL, LearnerConfig(lr=0.1, warmup_steps=2))
    for batch in _batches(VECTOR, 6):
        learner.train_step(*batch)
    decaying = LearnerConfig(lr=0.1, warmup_steps=2, decay_steps=8, min_lr_fraction=0.0)
    resumed = Learner(VECTOR, SMALL, decaying)
    resumed.load_state_dict(learner.state_dict())
    lrs = [resumed.train_step(*b)["lr"] for b in _batches(VECTOR, 3)]
    np.testing.assert_allclose(lrs, [_reference_lr(s, 0.1, 2, 8, 0.0) for s in (6, 7, 8)])
    assert lrs[-1] == 0.0 and lrs[0] > lrs[1] > 0


def test_initial_weights_depend_on_the_seed_only():
    state = torch.random.get_rng_state()
    a, b = Learner(BOARD, SMALL, FAST, seed=7), Learner(BOARD, SMALL, FAST, seed=7)
    c = Learner(BOARD, SMALL, FAST, seed=8)
    assert torch.equal(torch.random.get_rng_state(), state)  # the global generator untouched
    assert _same_weights(a.weights(), b.weights())
    assert not _same_weights(a.weights(), c.weights())


def test_weights_are_a_cpu_copy_a_worker_loads():
    learner = Learner(BOARD, SMALL, FAST)
    weights = learner.weights()
    assert all(t.device.type == "cpu" for t in weights.values())
    assert "tower.0.bn1.running_mean" in weights  # BatchNorm statistics travel too
    frozen = {k: v.clone() for k, v in weights.items()}
    learner.train_step(*_batches(BOARD, 1)[0])
    assert _same_weights(weights, frozen)  # a copy: training does not reach it
    newer = learner.weights()
    assert not _same_weights(newer, frozen)
    worker = PolicyValueNet(BOARD, SMALL)  # what a self-play worker does with them
    worker.load_state_dict(newer)
    obs = _dataset(BOARD, size=8)[0]
    got = make_evaluator(worker, "cpu")(obs)
    want = make_evaluator(learner.model, "cpu")(obs)
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])


@pytest.mark.parametrize("spec", [BOARD, VECTOR], ids=["board", "vector"])
def test_resuming_from_a_checkpoint_continues_exactly(spec, tmp_path):
    batches = _batches(spec, 10)
    config = LearnerConfig(lr=3e-3, warmup_steps=8, weight_decay=1e-2)
    straight = Learner(spec, SMALL, config, seed=0)
    for batch in batches[:5]:
        straight.train_step(*batch)
    save_checkpoint(tmp_path / "ckpt.pt", {"learner": straight.state_dict()})

    resumed = Learner(spec, SMALL, config, seed=99)  # other initial weights, overwritten
    resumed.load_state_dict(load_checkpoint(tmp_path / "ckpt.pt")["learner"])
    assert resumed.step == 5
    model_only = Learner(spec, SMALL, config, seed=0)  # without the optimiser's moments
    model_only.model.load_state_dict(straight.weights())

    for batch in batches[5:]:
        want = straight.train_step(*batch)
        assert resumed.train_step(*batch) == want  # losses and learning rate, exactly
        model_only.train_step(*batch)
    assert _same_weights(straight.weights(), resumed.weights())
    assert straight.step == resumed.step == 10
    assert not _same_weights(straight.weights(), model_only.weights())  # the moments matter


def test_state_dict_is_a_copy():
    learner = Learner(VECTOR, SMALL, FAST)
    batches = _batches(VECTOR, 3)
    learner.train_step(*batches[0])
    state = learner.state_dict()
    moments = {k: v.clone() for k, v in state["optimizer"]["state"][0].items()}
    learner.train_step(*batches[1])
    for key, value in state["optimizer"]["state"][0].items():
        assert torch.equal(value, moments[key]), key
    assert state["step"] == 1


def test_loading_another_architecture_is_refused():
    small = Learner(BOARD, SMALL, FAST).state_dict()
    bigger = Learner(BOARD, ModelConfig(blocks=2, channels=16, value_hidden=16), FAST)
    with pytest.raises(ValueError, match="ModelConfig"):
        bigger.load_state_dict(small)


def test_a_changed_learner_config_applies_after_resuming():
    old = Learner(VECTOR, SMALL, LearnerConfig(lr=0.1, warmup_steps=4))
    for batch in _batches(VECTOR, 2):
        old.train_step(*batch)
    new = Learner(VECTOR, SMALL, LearnerConfig(lr=0.01, warmup_steps=4, weight_decay=0.5))
    new.load_state_dict(old.state_dict())
    lrs = [new.train_step(*b)["lr"] for b in _batches(VECTOR, 3, seed=2)]
    np.testing.assert_allclose(lrs, [0.0075, 0.01, 0.01], rtol=1e-12)
    assert new.optimizer.param_groups[0]["weight_decay"] == 0.5


def test_bad_shapes_are_refused():
    learner = Learner(BOARD, SMALL, FAST)
    obs, policies, values = _dataset(BOARD, size=4)
    with pytest.raises(ValueError, match="policies"):
        learner.train_step(obs, policies[:, :5], values)
    with pytest.raises(ValueError, match="values"):
        learner.train_step(obs, policies, values[:, None])
    with pytest.raises(ValueError, match="observations"):
        learner.train_step(obs[:, :1], policies, values)
    assert learner.step == 0


def test_a_non_finite_loss_raises_and_changes_nothing():
    learner = Learner(BOARD, SMALL, FAST)
    obs, policies, values = _dataset(BOARD, size=4)
    before = learner.state_dict()
    values[1] = np.nan
    with pytest.raises(FloatingPointError, match="non-finite"):
        learner.train_step(obs, policies, values)
    assert learner.step == 0
    after = learner.state_dict()
    # Only BatchNorm's running statistics saw the batch (in the forward pass).
    params = [k for k, _ in learner.model.named_parameters()]
    assert all(torch.equal(before["model"][k], after["model"][k]) for k in params)
    assert after["optimizer"]["state"] == {}


def test_no_autocast_on_the_cpu():
    assert Learner(VECTOR, SMALL, LearnerConfig(amp=True)).amp_dtype is None


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_training_on_the_gpu_with_bfloat16(tmp_path):
    learner = Learner(BOARD, SMALL, FAST, device="cuda", seed=0)
    assert learner.amp_dtype == torch.bfloat16
    assert next(learner.model.parameters()).is_cuda
    obs, policies, values = _dataset(BOARD)
    first = learner.train_step(obs, policies, values)
    for _ in range(99):
        last = learner.train_step(obs, policies, values)
    assert last["total_loss"] < 0.5 * first["total_loss"], (first, last)
    assert all(t.device.type == "cpu" for t in learner.weights().values())
    # A GPU checkpoint resumes on the CPU.
    save_checkpoint(tmp_path / "gpu.pt", {"learner": learner.state_dict()})
    cpu = Learner(BOARD, SMALL, FAST, device="cpu", seed=5)
    cpu.load_state_dict(load_checkpoint(tmp_path / "gpu.pt")["learner"])
    assert _same_weights(cpu.weights(), learner.weights())
    cpu.train_step(obs, policies, values)
    assert cpu.step == 101
    # And a CPU checkpoint resumes on the GPU (the fused optimiser wants its counters there).
    gpu = Learner(BOARD, SMALL, FAST, device="cuda", seed=6)
    gpu.load_state_dict(cpu.state_dict())
    assert _same_weights(gpu.weights(), cpu.weights())
    assert gpu.optimizer.param_groups[0]["fused"]
    gpu.train_step(obs, policies, values)
    assert gpu.step == 102


def test_the_weight_average_follows_its_definition():
    config = dataclasses.replace(FAST, ema=0.9)
    learner = Learner(BOARD, SMALL, config)
    average = {k: v.clone() for k, v in learner.model.state_dict().items()}
    for t, batch in enumerate(_batches(BOARD, 30), start=1):
        learner.train_step(*batch)
        decay = min(0.9, t / (t + EMA_WARMUP - 1))
        for key, value in learner.model.state_dict().items():
            if key.endswith(("running_mean", "running_var", "num_batches_tracked")):
                average[key] = value.clone()  # BatchNorm statistics are copied
            else:
                average[key] = decay * average[key] + (1 - decay) * value
    published = learner.weights()
    assert published.keys() == average.keys()
    for key, value in published.items():
        torch.testing.assert_close(value, average[key], rtol=1e-5, atol=1e-6, msg=key)
    assert not _same_weights(published, learner.model.state_dict())  # not the raw weights
    assert learner.candidate is learner.average


def test_the_average_is_saved_and_resumed(tmp_path):
    config = dataclasses.replace(FAST, ema=0.95)
    batches = _batches(VECTOR, 8)
    straight = Learner(VECTOR, SMALL, config)
    for batch in batches[:4]:
        straight.train_step(*batch)
    save_checkpoint(tmp_path / "ckpt.pt", {"learner": straight.state_dict()})
    state = load_checkpoint(tmp_path / "ckpt.pt")["learner"]
    assert _same_weights(published_weights(state), straight.weights())
    resumed = Learner(VECTOR, SMALL, config, seed=5)
    resumed.load_state_dict(state)
    for batch in batches[4:]:
        straight.train_step(*batch)
        resumed.train_step(*batch)
    assert _same_weights(straight.weights(), resumed.weights())
    # A run that turns the average on while resuming starts it from the trained weights.
    plain = Learner(VECTOR, SMALL, FAST)
    plain.train_step(*batches[0])
    saved = plain.state_dict()
    assert saved["average"] is None and _same_weights(published_weights(saved), saved["model"])
    averaging = Learner(VECTOR, SMALL, config)
    averaging.load_state_dict(saved)
    assert _same_weights(averaging.weights(), saved["model"])


def test_without_ema_the_candidate_is_the_trained_network():
    learner = Learner(VECTOR, SMALL, FAST)
    learner.train_step(*_batches(VECTOR, 1)[0])
    assert learner.average is None and learner.candidate is learner.model
    assert _same_weights(learner.weights(), learner.model.state_dict())
