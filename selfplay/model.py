"""Policy-value networks: one network class for every game, shaped by its ``GameSpec``.

    net = PolicyValueNet(spec, ModelConfig())
    logits, value = net(observations)  # [B, *spec.observation_shape] -> [B, A], [B]
    evaluate = make_evaluator(net, "cpu")  # numpy in, numpy out: what the search calls

Board games (observations ``[C, H, W]``) get AlphaZero's residual tower; text games
(``spec.vocabulary_size > 0``: observations are right-padded token ids ``[T]``) get a small
causal transformer read out at the last token; every other observation (a vector, as the
one-player puzzles have) is flattened and goes through a residual MLP of the same shape. Values
are in [-1, 1] from the view of the player to move; logits cover every action, legal or not (the
search masks them).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from games.base import GameSpec
from selfplay.config import ModelConfig

__all__ = [
    "PolicyValueNet",
    "count_parameters",
    "evaluation_mode",
    "make_evaluator",
    "pick_device",
]

POLICY_PLANES = 2  # 1x1-conv planes feeding the policy head (AlphaZero: 2)
VALUE_PLANES = 1  # 1x1-conv planes feeding the value head (AlphaZero: 1)
# A text network's last layer runs at the read-out positions only (``forward_at``) while they
# are under 1/READ_OUT_SHARE of the batch's tokens (single positions: one per row). Past that
# (whole games: every position of each row is read out) the full layer is faster, training
# 1.5x the positions per second on bare countdown answers and 2.7x on written searches
# (benchmarks/whole_games.py): it skips forward_at's copy of a row's keys and values for every
# read-out.
READ_OUT_SHARE = 4


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


class _TokenEmbedding(nn.Module):
    """Token ids ``[B, L]`` (L <= T) -> token embedding + learned position embedding ``[B, L, W]``.

    Both tables start N(0, 1) (torch's embedding default), so a token's identity and position
    dominate the residual stream at initialisation; the pre-LayerNorms keep the scale in check.
    """

    def __init__(self, vocabulary: int, length: int, width: int):
        super().__init__()
        self.token = nn.Embedding(vocabulary, width)
        self.position = nn.Parameter(torch.randn(length, width))

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.token(ids) + self.position[: ids.shape[1]]


class _TransformerLayer(nn.Module):
    """A pre-LayerNorm transformer layer: x + attn(ln(x)), then x + mlp(ln(x)).

    Causal multi-head self-attention (torch's fused ``scaled_dot_product_attention``, faster
    on one CPU thread than a plain matmul-softmax-matmul at these sizes) and a 4x-wide GELU MLP;
    no dropout (self-play data is plentiful and fresh, and evaluation must be deterministic).
    """

    def __init__(self, width: int, heads: int):
        super().__init__()
        self.heads = heads
        self.norm1 = nn.LayerNorm(width)
        self.qkv = nn.Linear(width, 3 * width)
        self.proj = nn.Linear(width, width)
        self.norm2 = nn.LayerNorm(width)
        self.fc1 = nn.Linear(width, 4 * width)
        self.fc2 = nn.Linear(4 * width, width)

    def _mlp(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.fc2(F.gelu(self.fc1(self.norm2(x))))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Every position: ``[B, L, W]`` -> ``[B, L, W]``."""
        b, length, width = x.shape
        qkv = self.qkv(self.norm1(x)).view(b, length, 3, self.heads, width // self.heads)
        q, k, v = qkv.permute(2, 0, 3, 1, 4)  # each [B, heads, L, head width]
        attended = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self._mlp(x + self.proj(attended.transpose(1, 2).reshape(b, length, width)))

    def forward_at(
        self, x: torch.Tensor, last: torch.Tensor, rows: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Only position ``last[r]`` of row ``rows[r]`` (default: of row r) for each read-out r:
        ``[H, L, W]`` -> ``[R, W]``.

        Exactly ``forward(x)[rows, last]``, but the queries, the output projection and the MLP
        run on the read-out positions only (keys and values still cover the prefix).
        """
        hosts, length, width = x.shape
        head = width // self.heads
        if rows is None:
            rows = torch.arange(hosts, device=x.device)
        here = x[rows, last]  # [R, W]
        w, bias = self.qkv.weight, self.qkv.bias
        kv = F.linear(self.norm1(x), w[width:], bias[width:])
        k, v = kv.view(hosts, length, 2, self.heads, head).permute(2, 0, 3, 1, 4)
        if len(rows) != hosts:  # several read-outs share a row's keys and values
            k, v = k[rows], v[rows]  # each [R, heads, L, head width]
        q = F.linear(self.norm1(here), w[:width], bias[:width]).view(len(rows), self.heads, 1, head)
        # The query sits at position last[r]: it may see keys 0..last[r] (is_causal would align
        # a one-row query with key 0 instead).
        visible = torch.arange(length, device=x.device) <= last[:, None]  # [R, L]
        attended = F.scaled_dot_product_attention(q, k, v, attn_mask=visible[:, None, None, :])
        return self._mlp(here + self.proj(attended.reshape(len(rows), width)))

    def forward_cached(
        self, x: torch.Tensor, positions: torch.Tensor, cache: torch.Tensor
    ) -> torch.Tensor:
        """New positions only: ``x`` ``[B, N, W]`` at ``positions`` ``[B, N]`` -> ``[B, N, W]``,
        attending to the keys and values of earlier positions kept in ``cache`` ``[B, T, 2, W]``
        (written here for the new positions). Exactly ``forward`` at those positions when the
        cache holds every position before them."""
        b, n, width = x.shape
        head = width // self.heads
        qkv = self.qkv(self.norm1(x))
        rows = torch.arange(b, device=x.device)[:, None].expand(b, n)
        cache[rows, positions] = qkv[..., width:].view(b, n, 2, width)
        seen = int(positions.max()) + 1  # keys past every query are never visible
        k, v = cache[:, :seen].view(b, seen, 2, self.heads, head).permute(2, 0, 3, 1, 4)
        q = qkv[..., :width].view(b, n, self.heads, head).transpose(1, 2)
        hidden = torch.arange(seen, device=x.device) > positions[..., None]  # [B, N, seen]
        # A plain softmax attention: with a mask and one query per row, torch's fused kernel
        # falls back to a path about twice as slow on the CPU.
        scores = (q @ k.transpose(-1, -2)).mul_(head**-0.5).masked_fill_(hidden[:, None], -math.inf)
        attended = torch.softmax(scores, dim=-1) @ v  # [B, heads, N, head width]
        return self._mlp(x + self.proj(attended.transpose(1, 2).reshape(b, n, width)))


class _CausalTransformer(nn.Module):
    """``layers`` transformer layers and a final LayerNorm, read out at one position per row.

    Where the read-outs are few (``READ_OUT_SHARE``), the last layer computes only the read-out
    positions (``_TransformerLayer.forward_at``): the other positions of its output would be
    thrown away, so this saves most of a layer.
    """

    def __init__(self, width: int, heads: int, layers: int):
        super().__init__()
        self.layers = nn.ModuleList(_TransformerLayer(width, heads) for _ in range(layers))
        self.norm = nn.LayerNorm(width)

    def forward(
        self, x: torch.Tensor, last: torch.Tensor, rows: torch.Tensor | None = None
    ) -> torch.Tensor:
        """``[H, L, W]`` and read-out positions ``[R]`` in rows ``rows`` ``[R]`` (default: one
        read-out per row) -> ``[R, W]``."""
        if not self.layers:
            rows = torch.arange(len(x), device=x.device) if rows is None else rows
            return self.norm(x[rows, last])
        for layer in self.layers[:-1]:
            x = layer(x)
        hosts, length = x.shape[:2]
        if len(last) * READ_OUT_SHARE < hosts * length:
            return self.norm(self.layers[-1].forward_at(x, last, rows))
        rows = torch.arange(hosts, device=x.device) if rows is None else rows
        return self.norm(self.layers[-1](x)[rows, last])

    def forward_cached(
        self, x: torch.Tensor, positions: torch.Tensor, cache: torch.Tensor
    ) -> torch.Tensor:
        """New positions ``[B, N, W]``, with every layer's keys and values of the earlier ones
        in ``cache`` ``[layers, B, T, 2, W]`` (updated) -> the read-out at the last one
        ``[B, W]``."""
        for layer, layer_cache in zip(self.layers, cache, strict=True):
            x = layer.forward_cached(x, positions, layer_cache)
        return self.norm(x[:, -1])


class PolicyValueNet(nn.Module):
    """AlphaZero's policy-value network for ``spec``'s observations.

    ``[C, H, W]`` observations: a 3x3 conv stem, ``config.blocks`` residual blocks
    ``config.channels`` wide, a policy head (1x1 conv to 2 planes, linear to A logits) and a
    value head (1x1 conv to 1 plane, linear to ``config.value_hidden``, ReLU, linear, tanh).
    Any other observation shape is flattened and the convolutions become linear layers.

    Text games (``spec.vocabulary_size > 0``; observations ``[T]`` of float token ids, 0 =
    padding on the right, the first token never 0) get a GPT-style trunk ``config.channels``
    wide:

    - token embedding (vocabulary x width) + learned position embedding (T x width): the
      prompts are short and of bounded length T, so a learned table is the simplest choice;
    - ``config.blocks`` pre-LayerNorm layers of causal self-attention (``config.heads`` heads)
      and a 4x GELU MLP, no dropout: pre-LN trains stably with little or no warm-up;
    - a final LayerNorm, read out at each row's last real token (index = real tokens - 1),
      which has seen the whole prompt and answer so far, as a language model's next-token
      position does;
    - the same policy head (linear to A logits) and value head (linear to
      ``config.value_hidden``, ReLU, linear, tanh) as the vector trunk.

    Attention is causal, so the padding after the last real token never reaches the read-out
    position: no padding mask is needed, and each batch is cut to its longest row first.
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
        self.convolutional = len(self.observation_shape) == 3 and not spec.vocabulary_size
        self.text = spec.vocabulary_size > 0
        if self.text:
            if width % config.heads:
                raise ValueError(
                    f"ModelConfig: channels ({width}) must divide by heads ({config.heads})"
                )
            self.stem = _TokenEmbedding(spec.vocabulary_size, self.observation_shape[0], width)
            self.tower = _CausalTransformer(width, config.heads, config.blocks)
            self.policy_head = nn.Linear(width, actions)
            self.value_head = nn.Sequential(
                nn.Linear(width, config.value_hidden), nn.ReLU(), nn.Linear(config.value_hidden, 1)
            )
        elif self.convolutional:
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
        trunk = self._text_trunk(observations) if self.text else self.tower(self.stem(observations))
        return self.policy_head(trunk), torch.tanh(self.value_head(trunk)).squeeze(-1)

    def _text_trunk(self, observations: torch.Tensor) -> torch.Tensor:
        """Float token ids ``[B, T]`` -> the final hidden state at each row's last token."""
        if len(observations) == 0:
            return observations.new_zeros(0, self.config.channels)
        ids, lengths, longest = self.token_ids(observations)
        ids = ids[:, :longest]
        hosts, host_of = _prefix_hosts(ids, ids != 0)
        return self.tower(self.stem(ids[hosts]), lengths - 1, host_of)

    def token_ids(self, observations: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, int]:
        """A text network's observations ``[B, T]`` (float token ids, right-padded with 0) as
        checked long ids ``[B, T]``, the real tokens of each row ``[B]`` and the most of any
        row; a ValueError names an id outside the vocabulary, a row of padding only, or a token
        after padding."""
        ids = observations.long()
        real = ids != 0
        lengths = real.sum(dim=1)
        # One host sync for every check and the cut: min, max, shortest and longest row, and
        # whether a real token follows padding anywhere.
        low, high, shortest, longest, gap = torch.stack(
            [
                ids.min(),
                ids.max(),
                lengths.min(),
                lengths.max(),
                (real[:, 1:] & ~real[:, :-1]).any().long(),
            ]
        ).tolist()
        vocabulary = self.spec.vocabulary_size
        if low < 0 or high >= vocabulary:
            raise ValueError(
                f"{self.spec.name}: token ids must be in [0, {vocabulary}), got ids from {low} "
                f"to {high}"
            )
        if shortest == 0:
            rows = torch.nonzero(lengths == 0).flatten().tolist()
            raise ValueError(
                f"{self.spec.name}: observation rows {rows[:10]} are all padding (token 0); "
                "every row needs at least its begin token"
            )
        if gap:
            raise ValueError(
                f"{self.spec.name}: a real token follows padding (token 0); padding must only "
                "fill the end of a row"
            )
        return ids, lengths, longest

    def new_cache(self, batch: int, device: torch.device | str = "cpu") -> torch.Tensor:
        """Zeroed attention keys and values for ``extend``: ``[layers, batch, T, 2, W]``."""
        layers, width = len(self.tower.layers), self.config.channels
        return torch.zeros(layers, batch, self.observation_shape[0], 2, width, device=device)

    def extend(
        self, ids: torch.Tensor, positions: torch.Tensor, cache: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """A text network on new tokens only (incremental decoding): token ids ``[B, N]`` at
        ``positions`` ``[B, N]`` (increasing along each row; a row with fewer new tokens repeats
        its last one), with the keys and values of every earlier position in ``cache`` (from
        ``new_cache``; this call writes the new ones). Returns what ``forward`` gives for the
        row read out at its last new position: (logits ``[B, A]``, values ``[B]``)."""
        if not self.text or not self.tower.layers:
            raise ValueError("extend needs a text network with at least one layer")
        x = self.stem.token(ids) + self.stem.position[positions]
        trunk = self.tower.forward_cached(x, positions, cache)
        return self.policy_head(trunk), torch.tanh(self.value_head(trunk)).squeeze(-1)


def _prefix_hosts(ids: torch.Tensor, real: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Rows whose pass serves their neighbours: a row that is a prefix of the next row is read
    out of that row's pass (causal attention: a prefix's states are the same in both). Returns
    the host rows ``[H]`` and each row's index among them ``[B]``.

    Consecutive positions of one text game (the replay's ``whole_games`` batches) are
    prefixes of each other, so a whole game costs one pass over its last position instead of
    one pass per position."""
    b = len(ids)
    is_host = torch.ones(b, dtype=torch.bool, device=ids.device)
    if b > 1:
        # Equal wherever the row has tokens (so the next row has tokens there too: as long).
        same = (ids[:-1] == ids[1:]) | ~real[:-1]
        is_host[:-1] = ~same.all(dim=1)
    hosts = torch.nonzero(is_host).flatten()
    return hosts, torch.searchsorted(hosts, torch.arange(b, device=ids.device))


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
        with evaluation_mode(model):
            logits, values = model(x)
            logits, values = logits.float().cpu(), values.float().cpu()
        return logits.numpy(), values.numpy()

    return evaluate


@contextlib.contextmanager
def evaluation_mode(model: nn.Module) -> Iterator[None]:
    """The block runs ``model`` in evaluation mode without autograd; a model in training mode
    (a learner's) is put back in training mode after, so BatchNorm's training statistics are
    untouched."""
    was_training = model.training
    if was_training:
        model.eval()
    try:
        with torch.inference_mode():
            yield
    finally:
        if was_training:
            model.train()
