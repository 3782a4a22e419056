"""The KV cache: keep each layer's keys and values so a new token attends to the past without
recomputing it.

Teaches: generating token n+1 needs the keys and values of tokens 1..n in every layer; they do not
change (a causal model never looks ahead), so computing them once and appending makes each step
cost one token instead of the whole sequence. The price is memory:
2 * layers * kv_heads * head_dim * tokens numbers per sequence, which is why GQA shares K/V heads.
"""

from __future__ import annotations

import torch


class KVCache:
    def __init__(self, num_layers: int) -> None:
        self.keys: list[torch.Tensor | None] = [None] * num_layers  # each (batch, kv_heads, seen, head_dim)
        self.values: list[torch.Tensor | None] = [None] * num_layers

    def __len__(self) -> int:
        """Positions cached so far (the position of the next token)."""
        return 0 if self.keys[0] is None else self.keys[0].shape[2]

    def update(self, layer: int, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Append this step's k, v (batch, kv_heads, new, head_dim) to layer `layer`; return all of them,
        (batch, kv_heads, seen + new, head_dim). Concatenation copies the past each step: simple, and
        what transformers' DynamicCache does too; a serving engine preallocates or pages instead."""
        if self.keys[layer] is not None:
            k = torch.cat((self.keys[layer], k), dim=2)  # (batch, kv_heads, seen + new, head_dim)
            v = torch.cat((self.values[layer], v), dim=2)
        self.keys[layer], self.values[layer] = k, v
        return k, v
