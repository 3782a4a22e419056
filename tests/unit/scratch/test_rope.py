"""Rotary embeddings against transformers', and their two properties: a rotation keeps lengths, and
the score of a rotated query and key depends only on the distance between their positions."""

import torch
from transformers import LlamaConfig
from transformers.models.llama.modeling_llama import LlamaRotaryEmbedding, apply_rotary_pos_emb

from tunelab.scratch.rope import RotaryEmbedding, apply_rope


def test_cos_sin_and_rotation_match_transformers():
    cfg = LlamaConfig(hidden_size=64, num_attention_heads=4, head_dim=16,
                      rope_parameters={"rope_type": "default", "rope_theta": 100000.0})
    theirs, ours = LlamaRotaryEmbedding(cfg), RotaryEmbedding(16, 100000.0)
    positions = torch.tensor([[0, 1, 2, 3, 500], [7, 8, 9, 10, 11]])  # (batch, seq)
    q, k = torch.randn(2, 4, 5, 16), torch.randn(2, 2, 5, 16)  # (batch, heads, seq, head_dim)
    cos_t, sin_t = theirs(q, positions)
    cos, sin = ours(positions)
    assert cos.shape == (2, 5, 16)
    assert torch.equal(cos, cos_t) and torch.equal(sin, sin_t)
    q_t, k_t = apply_rotary_pos_emb(q, k, cos_t, sin_t)
    assert torch.equal(apply_rope(q, cos, sin), q_t) and torch.equal(apply_rope(k, cos, sin), k_t)


def test_rotation_keeps_length_and_scores_depend_on_distance_only():
    rope = RotaryEmbedding(16)
    q, k = torch.randn(1, 1, 1, 16), torch.randn(1, 1, 1, 16)

    def at(x, p):
        cos, sin = rope(torch.tensor([[p]]))
        return apply_rope(x, cos, sin)

    torch.testing.assert_close(at(q, 42).norm(), q.norm())
    score = lambda pq, pk: float((at(q, pq) * at(k, pk)).sum())
    assert abs(score(5, 2) - score(103, 100)) < 1e-4  # both three apart
    assert abs(score(5, 2) - score(5, 4)) > 1e-3  # another distance, another score
