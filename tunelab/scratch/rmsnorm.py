"""RMSNorm: scale each vector to unit root-mean-square, then by a learned weight per channel.

Teaches: Llama normalises before each sub-layer ("pre-norm") with RMSNorm, LayerNorm without the mean
subtraction or bias. The statistics are taken in float32 even for a bf16 model, as transformers does.
"""

from __future__ import annotations

import torch
from torch import nn


class RMSNorm(nn.Module):
    def __init__(self, dim: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))  # (dim,)
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        dtype = x.dtype
        x32 = x.float()  # (batch, seq, dim)
        inv_rms = torch.rsqrt(x32.pow(2).mean(dim=-1, keepdim=True) + self.eps)  # (batch, seq, 1)
        return self.weight * (x32 * inv_rms).to(dtype)  # (batch, seq, dim)
