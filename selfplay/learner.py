"""The learner: trains the policy-value network on replayed positions and publishes weights.

    learner = Learner(spec, ModelConfig(), LearnerConfig(), device="cuda")
    metrics = learner.train_step(observations, policies, values)
    weights = learner.weights()  # for the self-play workers' load_state_dict

Loss (AlphaZero): cross-entropy between the target policy ``pi`` and the network's
``log_softmax(logits)``, plus ``value_loss_weight`` times the mean squared error between the
value and the final outcome ``z``. Targets are zero on illegal actions, so no mask is needed.
Optimiser: AdamW with decoupled weight decay; learning rate warmed up linearly over
``warmup_steps`` steps, then constant or (``decay_steps``) decayed along a cosine. With
``ema``, an exponential moving average of the weights is kept beside them and is what the
learner publishes (``candidate``).
"""

from __future__ import annotations

import copy
import dataclasses
import math
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from games.base import GameSpec
from selfplay.config import LearnerConfig, ModelConfig
from selfplay.model import PolicyValueNet

__all__ = ["Learner", "lr_factor", "published_weights"]

EMA_WARMUP = 10
"""The average's decay starts low and rises to ``ema``: the t-th step (counted from 1) moves
it with decay min(ema, t / (t + EMA_WARMUP - 1)), so that the random initial weights are soon
forgotten."""


def lr_factor(step: int, config: LearnerConfig) -> float:
    """Share of the peak learning rate used by gradient step ``step`` (counted from 0): rises
    linearly to 1 at step ``warmup_steps - 1`` (step 0 already learns), then stays at 1, or
    with ``decay_steps`` falls along a cosine to ``min_lr_fraction`` at that step and stays."""
    if step < config.warmup_steps:
        return (step + 1) / config.warmup_steps
    if not config.decay_steps:
        return 1.0
    progress = min(1.0, (step - config.warmup_steps) / (config.decay_steps - config.warmup_steps))
    floor = config.min_lr_fraction
    return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress))


def _cpu_copy(value: Any) -> Any:
    """``value`` with every tensor replaced by a detached CPU copy (never a view of it)."""
    if isinstance(value, torch.Tensor):
        return value.detach().to("cpu", copy=True)
    if isinstance(value, dict):
        return {key: _cpu_copy(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_cpu_copy(item) for item in value)
    return value


class Learner:
    """The network, its optimiser and schedule, and the counters a resumed run needs.

    ``step`` counts gradient steps taken. The initial weights depend only on ``seed``,
    whatever the device: they are drawn on the CPU from a forked random state, and the global
    one is left alone.
    """

    def __init__(
        self,
        spec: GameSpec,
        model_config: ModelConfig,
        learner_config: LearnerConfig,
        device: str | torch.device = "cpu",
        seed: int = 0,
    ):
        self.spec, self.model_config, self.config = spec, model_config, learner_config
        self.device = torch.device(device)
        if self.device.type == "cuda" and not torch.cuda.is_available():
            raise RuntimeError(f"Learner: device {device!r} was asked for but torch sees no GPU")
        self.seed = seed
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            model = PolicyValueNet(spec, model_config)
        self.model = model.to(self.device).train()
        self.amp_dtype = (
            torch.bfloat16 if self.device.type == "cuda" and learner_config.amp else None
        )
        """bfloat16 autocast on a GPU with ``amp``; None (full float32) otherwise."""
        self.optimizer = torch.optim.AdamW(
            self.model.parameters(),
            lr=learner_config.lr,
            weight_decay=learner_config.weight_decay,
            fused=self.device.type == "cuda",  # one kernel for all parameters
        )
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, lambda step: lr_factor(step, self.config)
        )
        self.step = 0
        self.average = None if not learner_config.ema else copy.deepcopy(self.model).eval()
        """The weights' moving average (``LearnerConfig.ema``), a network that never trains."""
        if self.average is not None:
            self.average.requires_grad_(False)

    @property
    def candidate(self) -> PolicyValueNet:
        """The network this learner offers the gate and publishes: the moving average of the
        weights when ``ema`` is on, else the trained network itself."""
        return self.model if self.average is None else self.average

    # -- training -------------------------------------------------------------------------

    def _as_tensor(self, name: str, array: Any, shape: tuple[int, ...]) -> torch.Tensor:
        tensor = torch.as_tensor(array, dtype=torch.float32)
        if tuple(tensor.shape) != shape:
            raise ValueError(
                f"train_step: {name} must have shape {list(shape)}, got {list(tensor.shape)}"
            )
        return tensor.to(self.device, non_blocking=True)

    def train_step(
        self,
        observations: np.ndarray | torch.Tensor,
        policies: np.ndarray | torch.Tensor,
        values: np.ndarray | torch.Tensor,
    ) -> dict[str, float]:
        """One gradient step on a batch: observations ``[B, *obs]``, target policies ``[B, A]``
        (distributions, zero on illegal actions), target values ``[B]`` in [-1, 1] from the
        view of the player to move.

        Returns the batch's ``total_loss``, ``policy_loss`` (cross-entropy, nats), ``value_loss``
        (mean squared error), ``policy_entropy`` (of the network's policy, nats), ``grad_norm``
        (before the step) and ``lr`` (used by this step). A non-finite loss or gradient raises
        FloatingPointError and leaves the weights and optimiser untouched.
        """
        batch = len(observations)
        obs = self._as_tensor("observations", observations, (batch, *self.spec.observation_shape))
        pi = self._as_tensor("policies", policies, (batch, self.spec.num_actions))
        z = self._as_tensor("values", values, (batch,))

        self.model.train()
        if self.amp_dtype is None:
            logits, value = self.model(obs)
        else:
            with torch.autocast(device_type=self.device.type, dtype=self.amp_dtype):
                logits, value = self.model(obs)
        log_probs = F.log_softmax(logits.float(), dim=-1)
        policy_loss = -(pi * log_probs).sum(dim=-1).mean()
        value_loss = F.mse_loss(value.float(), z)
        loss = policy_loss + self.config.value_loss_weight * value_loss

        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        grad_norm = torch.nn.utils.get_total_norm(
            [p.grad for p in self.model.parameters() if p.grad is not None]
        )
        with torch.no_grad():
            entropy = -(log_probs.exp() * log_probs).sum(dim=-1).mean()
            numbers = torch.stack([loss, policy_loss, value_loss, entropy, grad_norm]).tolist()
        lr = self.optimizer.param_groups[0]["lr"]
        if not all(np.isfinite(numbers)):
            self.optimizer.zero_grad(set_to_none=True)
            raise FloatingPointError(
                f"train_step {self.step}: non-finite loss or gradient (loss {numbers[0]}, "
                f"grad norm {numbers[4]}); the step was not taken"
            )
        self.optimizer.step()
        self.scheduler.step()
        self.step += 1
        if self.average is not None:
            self._update_average()
        names = ("total_loss", "policy_loss", "value_loss", "policy_entropy", "grad_norm")
        return {**dict(zip(names, numbers, strict=True)), "lr": lr}

    def _update_average(self) -> None:
        """Moves the average towards the weights just trained; buffers (BatchNorm statistics)
        are copied, not averaged."""
        decay = min(self.config.ema, self.step / (self.step + EMA_WARMUP - 1))
        with torch.no_grad():
            pairs = zip(self.average.parameters(), self.model.parameters(), strict=True)
            for average, param in pairs:
                average.lerp_(param, 1 - decay)
            for average, buffer in zip(self.average.buffers(), self.model.buffers(), strict=True):
                average.copy_(buffer)

    # -- publishing -----------------------------------------------------------------------

    def weights(self) -> dict[str, torch.Tensor]:
        """A CPU copy of the candidate's state_dict (parameters and BatchNorm statistics), for
        ``PolicyValueNet.load_state_dict`` in a self-play worker. Later steps do not change it."""
        return _cpu_copy(self.candidate.state_dict())

    # -- resuming -------------------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """Everything a resumed run needs, as CPU copies of plain data (checkpoint-ready):
        model, its average (None when off), optimiser, scheduler, ``step`` and the model
        configuration."""
        return {
            "model": _cpu_copy(self.model.state_dict()),
            "average": None if self.average is None else self.weights(),
            "optimizer": _cpu_copy(self.optimizer.state_dict()),
            "scheduler": _cpu_copy(self.scheduler.state_dict()),
            "step": self.step,
            "model_config": dataclasses.asdict(self.model_config),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restores ``state_dict()``'s output; the run then continues exactly where it left off.

        The network must have this learner's ``ModelConfig`` (ValueError otherwise). The current
        ``LearnerConfig`` keeps deciding the peak learning rate, warm-up and weight decay; with
        the configuration the checkpoint was made with, nothing changes.
        """
        saved = state.get("model_config")
        ours = dataclasses.asdict(self.model_config)
        if saved is not None:  # fields added since the checkpoint was saved take their defaults
            saved = {**dataclasses.asdict(ModelConfig()), **saved}
        if saved is not None and saved != ours:
            raise ValueError(
                f"the saved network was built with ModelConfig {saved}, this learner's is {ours}"
            )
        self.model.load_state_dict(state["model"])
        if self.average is not None:  # a run that turns ema on starts averaging from here
            self.average.load_state_dict(state.get("average") or state["model"])
        # The saved groups say whether the saving run used the fused (GPU) kernel, and torch
        # places each "step" counter by that flag while loading: set ours first.
        fused = self.device.type == "cuda"
        optimizer_state = dict(state["optimizer"])
        optimizer_state["param_groups"] = [
            {**group, "fused": fused, "foreach": None} for group in optimizer_state["param_groups"]
        ]
        self.optimizer.load_state_dict(optimizer_state)
        self.scheduler.load_state_dict(state["scheduler"])
        self.step = int(state["step"])
        # The saved groups carry the old run's settings; re-apply ours (a no-op when unchanged).
        self.scheduler.base_lrs = [self.config.lr for _ in self.optimizer.param_groups]
        factor = lr_factor(self.scheduler.last_epoch, self.config)
        for group in self.optimizer.param_groups:
            group["initial_lr"] = self.config.lr
            group["lr"] = self.config.lr * factor
            group["weight_decay"] = self.config.weight_decay


def published_weights(learner_state: dict[str, Any]) -> dict[str, Any]:
    """The candidate's weights in a saved ``Learner.state_dict()``: the average when the run
    kept one, else the trained weights."""
    return learner_state.get("average") or learner_state["model"]
