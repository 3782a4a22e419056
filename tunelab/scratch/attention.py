"""Grouped-query attention (GQA) with a causal mask.

Teaches: each position asks a question (query), and every earlier position offers a label (key) and
an answer (value); the softmax of query . key / sqrt(head_dim) weighs the answers. The causal mask
keeps a position from seeing later ones, so the model can be trained on all positions at once and
still generate left to right. GQA lets several query heads share one key/value head: SmolLM2 has 9
query heads and 3 K/V heads, a third of the K/V cache of full multi-head attention.
"""

from __future__ import annotations

import torch
from torch import nn

from tunelab.scratch.kv_cache import KVCache
from tunelab.scratch.rope import apply_rope


def causal_mask(new: int, total: int, device: torch.device | None = None) -> torch.Tensor:
    """(new, total) booleans, True where query i may attend to key j. The `new` queries are the last
    positions of `total` (the rest are cached), so query i sits at position total - new + i and sees
    keys 0..total - new + i."""
    return torch.ones(new, total, dtype=torch.bool, device=device).tril(diagonal=total - new)


def repeat_kv(x: torch.Tensor, times: int) -> torch.Tensor:
    """(batch, kv_heads, seq, head_dim) -> (batch, kv_heads * times, seq, head_dim): each K/V head
    repeated for the query heads of its group (heads 0..times-1 use K/V head 0, and so on)."""
    if times == 1:
        return x
    return x.repeat_interleave(times, dim=1)


class Attention(nn.Module):
    def __init__(self, dim: int, num_heads: int, num_kv_heads: int, head_dim: int, layer: int) -> None:
        super().__init__()
        self.num_heads, self.num_kv_heads, self.head_dim, self.layer = num_heads, num_kv_heads, head_dim, layer
        self.q_proj = nn.Linear(dim, num_heads * head_dim, bias=False)
        self.k_proj = nn.Linear(dim, num_kv_heads * head_dim, bias=False)
        self.v_proj = nn.Linear(dim, num_kv_heads * head_dim, bias=False)
        self.o_proj = nn.Linear(num_heads * head_dim, dim, bias=False)

    def forward(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor,
                cache: KVCache | None = None) -> torch.Tensor:
        """x: (batch, new, dim); cos, sin: (batch, new, head_dim) for the new positions -> (batch, new, dim)."""
        b, t, _ = x.shape
        q = self.q_proj(x).view(b, t, self.num_heads, self.head_dim).transpose(1, 2)  # (b, heads, t, hd)
        k = self.k_proj(x).view(b, t, self.num_kv_heads, self.head_dim).transpose(1, 2)  # (b, kv_heads, t, hd)
        v = self.v_proj(x).view(b, t, self.num_kv_heads, self.head_dim).transpose(1, 2)  # (b, kv_heads, t, hd)
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)  # position enters here, and only here
        if cache is not None:
            k, v = cache.update(self.layer, k, v)  # (b, kv_heads, s, hd), s = cached + t
        s = k.shape[2]
        k = repeat_kv(k, self.num_heads // self.num_kv_heads)  # (b, heads, s, hd)
        v = repeat_kv(v, self.num_heads // self.num_kv_heads)  # (b, heads, s, hd)
        scores = (q @ k.transpose(-2, -1)) * self.head_dim ** -0.5  # (b, heads, t, s)
        scores = scores.masked_fill(~causal_mask(t, s, x.device), float("-inf"))  # no looking ahead
        weights = torch.softmax(scores.float(), dim=-1).to(q.dtype)  # (b, heads, t, s); rows sum to 1
        out = weights @ v  # (b, heads, t, hd): a weighted mix of the values
        out = out.transpose(1, 2).reshape(b, t, self.num_heads * self.head_dim)  # (b, t, heads * hd)
        return self.o_proj(out)  # (b, t, dim)
