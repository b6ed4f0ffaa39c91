"""Incremental evaluation of a text network: each call runs only the tokens a row added since
the previous call, as a language model decodes with a key-value cache.

Decoding an answer one token per step (the network alone: greedy answers, best-of-N samples,
the gate's validation problems) evaluates every game again with one more token each time. A
full pass per step costs the whole prompt and answer so far through every layer; with the
attention keys and values of the earlier positions kept, a step costs one position. A 6-layer
k=3 countdown network decodes 128 problems 2.2 times as fast, the same answers
(``benchmarks/text_speed.py``, its third table).

The evaluator needs no bookkeeping from its callers: it is an ordinary ``Evaluator`` (numpy
observations in, logits and values out). A row whose tokens begin with a row of the previous
call (its whole observation) reuses that row's keys and values and runs only its new tokens;
any other row runs from its first token. New weights in the model drop every cached row.
"""

from __future__ import annotations

import numpy as np
import torch

from selfplay.mcts import Evaluator
from selfplay.model import PolicyValueNet, evaluation_mode, make_evaluator


def decoding_evaluator(model: PolicyValueNet, device: str | torch.device = "cpu") -> Evaluator:
    """The evaluator to decode with, one token per step and no search: an
    ``IncrementalEvaluator`` for a text network, else the plain ``make_evaluator``. (A search
    evaluates leaves that seldom extend the previous call's, and gains nothing from it.)"""
    if model.text and model.tower.layers:
        return IncrementalEvaluator(model, device)
    return make_evaluator(model, device)


class IncrementalEvaluator:
    """``observations [B, T] -> (logits [B, A], values [B])`` for a text ``model``, equal to
    ``make_evaluator(model, device)`` up to float rounding, reusing the previous call's
    attention keys and values for rows that extend one of its rows."""

    def __init__(self, model: PolicyValueNet, device: str | torch.device = "cpu"):
        if not model.text or not model.tower.layers:
            raise ValueError("IncrementalEvaluator needs a text network with at least one layer")
        self.model, self.device = model, torch.device(device)
        model.to(self.device)
        self._ids = np.zeros((0, model.observation_shape[0]), np.int64)  # the previous call's rows
        self._lengths = np.zeros(0, np.int64)
        self._cache = model.new_cache(0, self.device)
        self._weights = self._weights_version()
        self.reused_tokens = 0  # tokens whose keys and values came from the cache, for reports
        self.computed_tokens = 0

    def _weights_version(self) -> tuple[int, ...]:
        # Every in-place write to a tensor (load_state_dict, an optimizer step) bumps its
        # version counter: the cheapest sure sign that the cached keys and values are stale.
        return tuple(p._version for p in self.model.parameters())

    def __call__(self, observations: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        observations = np.ascontiguousarray(observations, dtype=np.float32)
        if len(observations) == 0:
            return np.zeros((0, self.model.spec.num_actions), np.float32), np.zeros(0, np.float32)
        with evaluation_mode(self.model):
            return self._evaluate(observations)

    def _evaluate(self, observations: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        ids, lengths, _ = self.model.token_ids(torch.from_numpy(observations))
        ids_np, lengths_np = ids.numpy(), lengths.numpy()
        if self._weights_version() != self._weights:
            self._forget()
        source, cached = self._match(ids_np, lengths_np)
        asked = None  # where the rows asked for sit in the batch that runs
        if self._in_place(source):
            # The previous call's rows run again where they are: each row asked for in its
            # source's place, the others on their last token. The cache need not move.
            asked = source
            full_ids, full_lengths = self._ids.copy(), self._lengths.copy()
            full_ids[source], full_lengths[source] = ids_np, lengths_np
            ids_np, lengths_np, cached = full_ids, full_lengths, self._lengths
            ids, cache = torch.from_numpy(ids_np), self._cache
        else:
            cache = self._reuse(source)
        # A row runs from its first uncached token; one with nothing new runs its last again.
        start = np.minimum(cached, lengths_np - 1)
        news = lengths_np - start
        steps = np.arange(int(news.max()))
        positions = np.minimum(start[:, None] + steps, lengths_np[:, None] - 1)
        positions_t = torch.from_numpy(positions).to(self.device)
        new_ids = ids.to(self.device).gather(1, positions_t)
        logits, values = self.model.extend(new_ids, positions_t, cache)
        self._ids, self._lengths, self._cache = ids_np, lengths_np, cache
        self.reused_tokens += int(start.sum())
        self.computed_tokens += int(news.sum())
        logits, values = logits.float().cpu().numpy(), values.float().cpu().numpy()
        return (logits, values) if asked is None else (logits[asked], values[asked])

    def _in_place(self, source: np.ndarray) -> bool:
        """Whether the rows asked for can run in their sources' places in the cache: each
        extends a different row of the previous call, and they are at least half of its rows
        (else the cache is compacted, one copy, rather than carry the rows no longer asked
        for). Decoding asks for the rows still writing, fewer as answers end."""
        return (
            bool((source >= 0).all())
            and 2 * len(source) >= len(self._lengths)
            and len(np.unique(source)) == len(source)
        )

    def _forget(self) -> None:
        self._ids = self._ids[:0]
        self._lengths = self._lengths[:0]
        self._cache = self._cache[:, :0]
        self._weights = self._weights_version()

    def _match(self, ids: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For each row, a row of the previous call whose tokens it begins with (the longest
        such) or -1, and how many tokens that row has (0 for none)."""
        source = np.full(len(ids), -1, np.int64)
        cached = np.zeros(len(ids), np.int64)
        for length in np.unique(self._lengths)[::-1]:  # longest first
            # Equal rows (samples of one problem) each keep a source of their own where the
            # previous call had as many, first to first, so that the cache can stay in place.
            index: dict[bytes, list[int]] = {}
            for j in np.flatnonzero(self._lengths == length)[::-1]:
                index.setdefault(self._ids[j, :length].tobytes(), []).append(int(j))
            for i in np.flatnonzero((lengths >= length) & (cached == 0)):
                sources = index.get(ids[i, :length].tobytes())
                if sources:
                    j = sources.pop() if len(sources) > 1 else sources[0]
                    source[i], cached[i] = j, length
        return source, cached

    def _reuse(self, source: np.ndarray) -> torch.Tensor:
        """The cache for the new rows: row ``source[i]`` of the previous cache, or zeros."""
        if len(source) == len(self._lengths) and (source == np.arange(len(source))).all():
            return self._cache  # the same rows in the same order: nothing to move
        if (source >= 0).all():  # e.g. the rows left when some answers ended: one gather
            return self._cache.index_select(1, torch.from_numpy(source).to(self.device))
        cache = self.model.new_cache(len(source), self.device)
        found = np.flatnonzero(source >= 0)
        if len(found):
            where = torch.from_numpy(found).to(self.device)
            cache[:, where] = self._cache[:, torch.from_numpy(source[found]).to(self.device)]
        return cache
