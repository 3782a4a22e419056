"""Grouped-query attention against transformers' LlamaAttention (same weights, eager attention), and
the causal mask: no position is changed by a later one."""

import torch
from transformers import LlamaConfig
from transformers.models.llama.modeling_llama import LlamaAttention, LlamaRotaryEmbedding
from transformers.models.llama.modeling_llama import repeat_kv as hf_repeat_kv

from tunelab.scratch.attention import Attention, causal_mask, repeat_kv
from tunelab.scratch.rope import RotaryEmbedding

CFG = LlamaConfig(hidden_size=64, num_attention_heads=4, num_key_value_heads=2, head_dim=16,
                  attn_implementation="eager")


def pair():
    torch.manual_seed(0)
    theirs = LlamaAttention(CFG, layer_idx=0).eval()
    ours = Attention(64, 4, 2, 16, layer=0)
    ours.load_state_dict(theirs.state_dict())  # the same names: q_proj, k_proj, v_proj, o_proj
    return ours, theirs


def test_matches_transformers_attention():
    ours, theirs = pair()
    x = torch.randn(2, 6, 64)  # (batch, seq, dim)
    positions = torch.arange(6).expand(2, 6)
    cos, sin = RotaryEmbedding(16)(positions)
    mask = torch.full((6, 6), float("-inf")).triu(1)[None, None]  # transformers' additive causal mask
    expected, _ = theirs(x, position_embeddings=LlamaRotaryEmbedding(CFG)(x, positions), attention_mask=mask)
    got = ours(x, cos, sin)
    assert got.shape == (2, 6, 64)
    torch.testing.assert_close(got, expected, atol=1e-6, rtol=0)


def test_a_later_token_changes_nothing_before_it():
    ours, _ = pair()
    x = torch.randn(1, 6, 64)
    cos, sin = RotaryEmbedding(16)(torch.arange(6)[None])
    y = x.clone()
    y[0, 4] += 5.0  # change position 4 only
    a, b = ours(x, cos, sin), ours(y, cos, sin)
    assert torch.equal(a[0, :4], b[0, :4]) and not torch.allclose(a[0, 4:], b[0, 4:])


def test_mask_shapes_with_a_cache_and_grouped_heads():
    # 2 new queries after 3 cached positions: the first sees 4 keys, the second all 5
    assert causal_mask(2, 5).tolist() == [[True, True, True, True, False], [True] * 5]
    kv = torch.randn(2, 3, 4, 8)  # (batch, kv_heads, seq, head_dim)
    assert torch.equal(repeat_kv(kv, 3), hf_repeat_kv(kv, 3))
    assert torch.equal(repeat_kv(kv, 3)[:, 3], kv[:, 1])  # query heads 3..5 share K/V head 1
