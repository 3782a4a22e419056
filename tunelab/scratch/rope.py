"""Rotary position embeddings (RoPE): position enters attention by rotating queries and keys.

Teaches: each pair of channels (i, i + head_dim/2) of a query or key at position p is rotated by the
angle p * theta^(-2i/head_dim). The dot product of a rotated query and key then depends only on their
distance, so attention sees relative positions, and nothing is added to the embeddings.
"""

from __future__ import annotations

import torch
from torch import nn


class RotaryEmbedding(nn.Module):
    def __init__(self, head_dim: int, theta: float = 10000.0) -> None:
        super().__init__()
        # one frequency per channel pair, from 1 (fast) down to about 1/theta (slow)
        inv_freq = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.float) / head_dim))  # (head_dim/2,)
        self.register_buffer("inv_freq", inv_freq, persistent=False)

    def forward(self, positions: torch.Tensor, dtype: torch.dtype = torch.float32) -> tuple[torch.Tensor, torch.Tensor]:
        """positions: (batch, seq) integer positions -> cos, sin: (batch, seq, head_dim) each."""
        angles = positions[..., None].float() * self.inv_freq  # (batch, seq, head_dim/2)
        angles = torch.cat((angles, angles), dim=-1)  # (batch, seq, head_dim): both halves of each pair
        return angles.cos().to(dtype), angles.sin().to(dtype)


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    """(x1, x2) -> (-x2, x1) on the two halves of the last dimension: a 90 degree turn of every pair."""
    half = x.shape[-1] // 2
    x1, x2 = x[..., :half], x[..., half:]  # (..., head_dim/2) each
    return torch.cat((-x2, x1), dim=-1)  # (..., head_dim)


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """x: (batch, heads, seq, head_dim); cos, sin: (batch, seq, head_dim) -> x rotated, same shape.
    (x1, x2) turned by angle a is (x1 cos a - x2 sin a, x2 cos a + x1 sin a)."""
    cos, sin = cos[:, None], sin[:, None]  # (batch, 1, seq, head_dim): the same angles for every head
    return x * cos + rotate_half(x) * sin  # (batch, heads, seq, head_dim)
