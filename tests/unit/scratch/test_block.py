"""One decoder block against transformers' LlamaDecoderLayer (same weights)."""

import torch
from transformers import LlamaConfig
from transformers.models.llama.modeling_llama import LlamaDecoderLayer, LlamaRotaryEmbedding

from tunelab.scratch.block import Block
from tunelab.scratch.config import LlamaConfig as ScratchConfig
from tunelab.scratch.rope import RotaryEmbedding


def test_matches_transformers_decoder_layer():
    hf = LlamaConfig(hidden_size=64, intermediate_size=128, num_attention_heads=4, num_key_value_heads=1,
                     head_dim=16, rms_norm_eps=1e-5, attn_implementation="eager")
    torch.manual_seed(0)
    theirs = LlamaDecoderLayer(hf, layer_idx=0).eval()
    for norm in (theirs.input_layernorm, theirs.post_attention_layernorm):
        torch.nn.init.normal_(norm.weight)  # not all ones, so a swapped norm would show
    ours = Block(ScratchConfig.from_dict({**hf.to_dict(), "model_type": "llama"}), layer=0)
    ours.load_state_dict(theirs.state_dict())
    x = torch.randn(2, 7, 64)
    positions = torch.arange(7).expand(2, 7)
    mask = torch.full((7, 7), float("-inf")).triu(1)[None, None]
    expected = theirs(x, attention_mask=mask, position_embeddings=LlamaRotaryEmbedding(hf)(x, positions))
    cos, sin = RotaryEmbedding(16)(positions)
    torch.testing.assert_close(ours(x, cos, sin), expected, atol=1e-5, rtol=0)
