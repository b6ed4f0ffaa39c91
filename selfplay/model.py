"""Policy-value networks: one network class for every game, shaped by its ``GameSpec``.

    net = PolicyValueNet(spec, ModelConfig())
    logits, value = net(observations)  # [B, *spec.observation_shape] -> [B, A], [B]
    evaluate = make_evaluator(net, "cpu")  # numpy in, numpy out: what the search calls

Board games (observations ``[C, H, W]``) get AlphaZero's residual tower; every other
observation (a vector, as the one-player puzzles and text tasks have) is flattened and goes
through a residual MLP of the same shape. Values are in [-1, 1] from the view of the player to
move; logits cover every action, legal or not (the search masks them).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from games.base import GameSpec
from selfplay.config import ModelConfig

__all__ = ["PolicyValueNet", "count_parameters", "make_evaluator", "pick_device"]

POLICY_PLANES = 2  # 1x1-conv planes feeding the policy head (AlphaZero: 2)
VALUE_PLANES = 1  # 1x1-conv planes feeding the value head (AlphaZero: 1)


class _ConvBlock(nn.Module):
    """Two 3x3 convolutions with BatchNorm and a skip: relu(x + bn(conv(relu(bn(conv(x))))))."""

    def __init__(self, channels: int):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.relu(self.bn1(self.conv1(x)))
        return F.relu(x + self.bn2(self.conv2(h)))


class _DenseBlock(nn.Module):
    """The MLP's residual block: two linear layers with LayerNorm and a skip.

    LayerNorm rather than BatchNorm: it behaves the same in training and evaluation and at
    batch size 1, which the small batches of one-player and text tasks run into.
    """

    def __init__(self, width: int):
        super().__init__()
        self.fc1 = nn.Linear(width, width)
        self.norm1 = nn.LayerNorm(width)
        self.fc2 = nn.Linear(width, width)
        self.norm2 = nn.LayerNorm(width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.relu(self.norm1(self.fc1(x)))
        return F.relu(x + self.norm2(self.fc2(h)))


class PolicyValueNet(nn.Module):
    """AlphaZero's policy-value network for ``spec``'s observations.

    ``[C, H, W]`` observations: a 3x3 conv stem, ``config.blocks`` residual blocks
    ``config.channels`` wide, a policy head (1x1 conv to 2 planes, linear to A logits) and a
    value head (1x1 conv to 1 plane, linear to ``config.value_hidden``, ReLU, linear, tanh).
    Any other observation shape is flattened and the convolutions become linear layers.
    """

    def __init__(self, spec: GameSpec, config: ModelConfig):
        super().__init__()
        if config.blocks < 0 or config.channels < 1 or config.value_hidden < 1:
            raise ValueError(
                f"ModelConfig needs blocks >= 0, channels >= 1 and value_hidden >= 1, got {config}"
            )
        self.spec, self.config = spec, config
        self.observation_shape = tuple(spec.observation_shape)
        width, actions = config.channels, spec.num_actions
        self.convolutional = len(self.observation_shape) == 3
        if self.convolutional:
            planes, height, breadth = self.observation_shape
            area = height * breadth
            self.stem = nn.Sequential(
                nn.Conv2d(planes, width, 3, padding=1, bias=False),
                nn.BatchNorm2d(width),
                nn.ReLU(),
            )
            self.tower = nn.Sequential(*(_ConvBlock(width) for _ in range(config.blocks)))
            self.policy_head = nn.Sequential(
                nn.Conv2d(width, POLICY_PLANES, 1, bias=False),
                nn.BatchNorm2d(POLICY_PLANES),
                nn.ReLU(),
                nn.Flatten(),
                nn.Linear(POLICY_PLANES * area, actions),
            )
            self.value_head = nn.Sequential(
                nn.Conv2d(width, VALUE_PLANES, 1, bias=False),
                nn.BatchNorm2d(VALUE_PLANES),
                nn.ReLU(),
                nn.Flatten(),
                nn.Linear(VALUE_PLANES * area, config.value_hidden),
                nn.ReLU(),
                nn.Linear(config.value_hidden, 1),
            )
        else:
            features = math.prod(self.observation_shape)
            self.stem = nn.Sequential(
                nn.Flatten(), nn.Linear(features, width), nn.LayerNorm(width), nn.ReLU()
            )
            self.tower = nn.Sequential(*(_DenseBlock(width) for _ in range(config.blocks)))
            self.policy_head = nn.Linear(width, actions)
            self.value_head = nn.Sequential(
                nn.Linear(width, config.value_hidden), nn.ReLU(), nn.Linear(config.value_hidden, 1)
            )

    def forward(self, observations: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``[B, *observation_shape]`` -> (logits ``[B, A]``, values ``[B]`` in [-1, 1])."""
        if observations.shape[1:] != self.observation_shape:
            raise ValueError(
                f"{self.spec.name}: observations must have shape [B, "
                f"{', '.join(map(str, self.observation_shape))}], got {list(observations.shape)}"
            )
        trunk = self.tower(self.stem(observations))
        return self.policy_head(trunk), torch.tanh(self.value_head(trunk)).squeeze(-1)


def count_parameters(model: nn.Module) -> int:
    """Trainable parameters of ``model``."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def pick_device(name: str = "auto") -> torch.device:
    """The torch device called ``name``; "auto" is the GPU when torch sees one, else the CPU.
    Asking for CUDA where there is none raises rather than quietly running on the CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(f"device {name!r} was asked for but torch sees no CUDA GPU")
    return device


def make_evaluator(
    model: PolicyValueNet, device: str | torch.device
) -> Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """The search's evaluator: observations ``[B, *obs]`` (numpy) -> (float32 logits ``[B, A]``,
    float32 values ``[B]``), computed on ``device`` in evaluation mode without autograd.

    The model is moved to ``device`` (in place). The evaluator reads the
    model's current weights at every call, so loading new weights into ``model`` updates it. If
    the model is in training mode (a learner's), each call switches it to evaluation mode and
    back, so BatchNorm uses its running statistics and the training statistics are untouched
    (so do not call it from another thread while that model trains).
    """
    device = torch.device(device)
    model.to(device)
    num_actions = model.spec.num_actions
    to_device = device.type != "cpu"

    def evaluate(observations: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        observations = np.ascontiguousarray(observations, dtype=np.float32)
        if len(observations) == 0:
            return np.zeros((0, num_actions), np.float32), np.zeros(0, np.float32)
        x = torch.from_numpy(observations)
        if to_device:
            x = x.to(device, non_blocking=True)
        was_training = model.training
        if was_training:
            model.eval()
        try:
            with torch.inference_mode():
                logits, values = model(x)
                logits, values = logits.float().cpu(), values.float().cpu()
        finally:
            if was_training:
                model.train()
        return logits.numpy(), values.numpy()

    return evaluate
