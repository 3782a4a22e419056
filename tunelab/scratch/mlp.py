"""The SwiGLU feed-forward network: down(silu(gate(x)) * up(x)).

Teaches: after attention mixes information across positions, the MLP transforms each position on its
own. SwiGLU is a gated MLP: one projection (gate, through SiLU) decides how much of another (up)
passes, which trains better than a plain ReLU MLP of the same size.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class SwiGLU(nn.Module):
    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        # names as in the checkpoint, so its tensors load by name
        self.gate_proj = nn.Linear(dim, hidden, bias=False)
        self.up_proj = nn.Linear(dim, hidden, bias=False)
        self.down_proj = nn.Linear(hidden, dim, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gate = F.silu(self.gate_proj(x))  # (batch, seq, hidden): silu(z) = z * sigmoid(z)
        up = self.up_proj(x)  # (batch, seq, hidden)
        return self.down_proj(gate * up)  # (batch, seq, dim)
