"""The SwiGLU MLP against transformers' LlamaMLP."""

import torch
from transformers import LlamaConfig
from transformers.models.llama.modeling_llama import LlamaMLP

from tunelab.scratch.mlp import SwiGLU


def test_matches_transformers_mlp():
    torch.manual_seed(0)
    theirs = LlamaMLP(LlamaConfig(hidden_size=64, intermediate_size=160))
    ours = SwiGLU(64, 160)
    ours.load_state_dict(theirs.state_dict())
    x = torch.randn(2, 5, 64)
    assert ours(x).shape == (2, 5, 64)
    torch.testing.assert_close(ours(x), theirs(x), atol=1e-6, rtol=0)
