"""A bounded cache of prompt-prefix KV states, keyed by token blocks (automatic prefix caching).

Requests that share the start of their prompt (the chat template and system prompt, a task's
instructions, the same RAG context) share its keys and values: they depend only on the tokens up to
each position and on the weights. A prompt is cut into blocks of `block_size` tokens; block j is
named by a hash chain over the adapter key and every token up to the end of block j, so a block is
found only under the very prefix (and the very adapter: a prefix computed under one adapter is
never reused for another or for the base) it was computed under. Each block stores its own slice
of every layer's keys and values; a hit concatenates the longest run of cached blocks from the
start, and the caller computes only the rest of the prompt.

Eviction is least recently used within `budget_bytes`. A lookup touches a chain's blocks from the
last to the first, so a block is always more recent than the blocks after it: the ends of chains
go first, and a cached block's whole prefix stays reachable. Counters (`stats()`): lookups that hit
and missed, prompt tokens reused and computed, bytes held, blocks evicted. Not thread-safe: the
engine's model thread alone uses it.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch

Forward = Callable[..., Any]  # forward(input_ids=..., cache=..., use_cache=..., logits_to_keep=...)
Layers = list[tuple[torch.Tensor, torch.Tensor]]  # per layer (keys, values), each (1, H, L, D)


@dataclass
class PrefixCacheStats:
    hits: int = 0  # lookups that reused at least one block
    misses: int = 0
    hit_tokens: int = 0  # prompt tokens whose KV came from the cache
    miss_tokens: int = 0  # prompt tokens computed
    bytes: int = 0
    blocks: int = 0
    evicted_blocks: int = 0
    budget_bytes: int = 0


def _block_key(parent: bytes, tokens: Sequence[int]) -> bytes:
    h = hashlib.blake2b(parent, digest_size=16)
    h.update(b"".join(int(t).to_bytes(4, "little", signed=False) for t in tokens))
    return h.digest()


class PrefixCache:
    def __init__(self, budget_bytes: int, block_size: int = 16) -> None:
        if block_size < 1:
            raise ValueError("block_size must be at least 1.")
        self.budget_bytes, self.block_size = max(0, int(budget_bytes)), block_size
        self._blocks: OrderedDict[bytes, tuple[str, Layers, int]] = OrderedDict()  # key -> (owner, layers, bytes)
        self._bytes = 0
        self._stats = PrefixCacheStats(budget_bytes=self.budget_bytes)

    @property
    def enabled(self) -> bool:
        return self.budget_bytes > 0

    def _chain(self, owner: str, ids: Sequence[int], n_blocks: int) -> list[bytes]:
        keys, parent, b = [], hashlib.blake2b(owner.encode(), digest_size=16).digest(), self.block_size
        for j in range(n_blocks):
            parent = _block_key(parent, ids[j * b:(j + 1) * b])
            keys.append(parent)
        return keys

    def lookup(self, owner: str, ids: Sequence[int]) -> tuple[int, Layers | None]:
        """The longest cached prefix of `ids` that leaves at least one token to compute (the caller
        needs the logits of the last position): (its length in tokens, per layer (keys, values) of
        shape (1, H, length, D)), or (0, None). `owner` names the weights (the adapter, or "" for the
        base). Counts a hit or a miss."""
        if not self.enabled:
            return 0, None
        usable = (len(ids) - 1) // self.block_size
        found = []
        for key in self._chain(owner, ids, usable):
            entry = self._blocks.get(key)
            if entry is None:
                break
            found.append((key, entry[1]))
        for key, _ in reversed(found):  # the chain's start ends up most recent: evicted last
            self._blocks.move_to_end(key)
        n = len(found) * self.block_size
        s = self._stats
        if not found:
            s.misses += 1
            s.miss_tokens += len(ids)
            return 0, None
        s.hits += 1
        s.hit_tokens += n
        s.miss_tokens += len(ids) - n
        if len(found) == 1:
            return n, found[0][1]
        layers = [(torch.cat([blk[li][0] for _, blk in found], dim=2), torch.cat([blk[li][1] for _, blk in found], dim=2))
                  for li in range(len(found[0][1]))]
        return n, layers

    def insert(self, owner: str, ids: Sequence[int], layers: Layers, start: int = 0) -> None:
        """Store the full blocks of `ids` that `layers` (per layer (keys, values) of shape
        (1, H, >= len(ids) rounded down to blocks, D), position 0 first) holds and the cache lacks.
        `start`: tokens before it are known to be cached already (from `lookup`)."""
        if not self.enabled:
            return
        n_blocks = min(len(ids), layers[0][0].shape[2]) // self.block_size
        b = self.block_size
        chain = self._chain(owner, ids, n_blocks)
        for j, key in enumerate(chain):
            if j * b < start or key in self._blocks:
                continue
            part = [(k[:, :, j * b:(j + 1) * b].clone(), v[:, :, j * b:(j + 1) * b].clone()) for k, v in layers]
            size = sum(k.numel() * k.element_size() + v.numel() * v.element_size() for k, v in part)
            if size > self.budget_bytes:
                return
            self._blocks[key] = (owner, part, size)
            self._bytes += size
        for key in reversed(chain):  # as in lookup: the start of the chain is the most recent
            self._blocks.move_to_end(key)
        self._evict()

    def drop(self, owner: str) -> None:
        """Forget every block computed under `owner` (an adapter unloaded or replaced)."""
        for key in [k for k, (o, _, _) in self._blocks.items() if o == owner]:
            self._bytes -= self._blocks.pop(key)[2]

    def clear(self) -> None:
        self._blocks.clear()
        self._bytes = 0

    def _evict(self) -> None:
        while self._bytes > self.budget_bytes and self._blocks:
            _, (_, _, size) = self._blocks.popitem(last=False)
            self._bytes -= size
            self._stats.evicted_blocks += 1

    def stats(self) -> PrefixCacheStats:
        s = self._stats
        return PrefixCacheStats(s.hits, s.misses, s.hit_tokens, s.miss_tokens, self._bytes, len(self._blocks),
                                s.evicted_blocks, self.budget_bytes)


def prefill(forward: Forward, ids: Sequence[int], device, prefix: tuple[PrefixCache, str] | None = None):
    """Run the prompt `ids` -> (the model output of its last position, its DynamicCache). With
    `prefix` (a cache and the owner key of the weights), the longest cached block prefix is reused
    and the prompt's full blocks are stored for the next request."""
    from transformers import DynamicCache  # lazy: transformers is slow to import

    cached, layers = (0, None) if prefix is None else prefix[0].lookup(prefix[1], ids)
    cache = DynamicCache(ddp_cache_data=layers) if layers is not None else DynamicCache()
    out = forward(input_ids=torch.tensor([list(ids[cached:])], device=device), cache=cache, use_cache=True,
                  logits_to_keep=1)
    if prefix is not None:
        prefix[0].insert(prefix[1], ids, [(layer.keys, layer.values) for layer in cache.layers], start=cached)
    return out, cache
