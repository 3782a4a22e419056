"""The KV cache: feeding a sequence token by token through the cache gives the logits of one full
forward pass, and the cache holds (batch, kv_heads, seen, head_dim) per layer."""

import torch


def test_incremental_decoding_equals_a_full_pass(tiny_scratch, ids):
    with torch.no_grad():
        full = tiny_scratch(ids)  # (2, seq, vocab)
        cache = tiny_scratch.new_cache()
        steps = [tiny_scratch(ids[:, :3], cache)]  # a prefill of 3, then one token at a time
        for t in range(3, ids.shape[1]):
            assert len(cache) == t
            steps.append(tiny_scratch(ids[:, t:t + 1], cache))
    torch.testing.assert_close(torch.cat(steps, dim=1), full, atol=1e-5, rtol=0)
    cfg = tiny_scratch.cfg
    assert len(cache.keys) == cfg.num_layers
    assert cache.keys[1].shape == cache.values[1].shape == (2, cfg.num_kv_heads, ids.shape[1], cfg.head_dim)


def test_the_cache_matches_transformers_keys_and_values(tiny_scratch, tiny_hf, ids):
    from transformers import DynamicCache

    theirs = DynamicCache()
    with torch.no_grad():
        tiny_hf(ids, cache=theirs, use_cache=True)
        ours = tiny_scratch.new_cache()
        tiny_scratch(ids, ours)
    for layer in range(tiny_scratch.cfg.num_layers):
        torch.testing.assert_close(ours.keys[layer], theirs.layers[layer].keys, atol=1e-5, rtol=0)
        torch.testing.assert_close(ours.values[layer], theirs.layers[layer].values, atol=1e-5, rtol=0)
