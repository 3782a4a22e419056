"""One transformer block: x + attention(norm(x)), then x + mlp(norm(x)).

Teaches: the residual stream. Each sub-layer reads a normalised copy of the stream and adds its
result back, so information (and gradient) flows straight through the stack; a 30-layer model is
30 such edits to one vector per position.
"""

from __future__ import annotations

import torch
from torch import nn

from tunelab.scratch.attention import Attention
from tunelab.scratch.config import LlamaConfig
from tunelab.scratch.kv_cache import KVCache
from tunelab.scratch.mlp import SwiGLU
from tunelab.scratch.rmsnorm import RMSNorm


class Block(nn.Module):
    def __init__(self, cfg: LlamaConfig, layer: int) -> None:
        super().__init__()
        # names as in the checkpoint (model.layers.N.self_attn.q_proj.weight, ...), so tensors load by name
        self.input_layernorm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)
        self.self_attn = Attention(cfg.hidden_size, cfg.num_heads, cfg.num_kv_heads, cfg.head_dim, layer)
        self.post_attention_layernorm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)
        self.mlp = SwiGLU(cfg.hidden_size, cfg.intermediate_size)

    def forward(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor,
                cache: KVCache | None = None) -> torch.Tensor:
        """x: (batch, new, dim) -> (batch, new, dim)."""
        x = x + self.self_attn(self.input_layernorm(x), cos, sin, cache)  # (batch, new, dim)
        return x + self.mlp(self.post_attention_layernorm(x))  # (batch, new, dim)
