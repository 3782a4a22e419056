"""Attention for packed rows that costs what the samples cost, not what the row costs.

A packed micro-batch (`batching.pack`) is one row of several samples with position ids restarting
at 0 for each. transformers turns that into a (L, L) block-diagonal causal mask for SDPA, and the
kernel then works through all L x L scores of the row, most of them masked: for 4 samples of ~220
tokens that is 4x the attention the samples need. `use_packed_attention(model)` registers an
attention function (named ATTENTION) that finds the samples from the position ids and runs SDPA's
causal kernel on each one alone (no mask), so the numbers are those of each sample on its own.
Anything that is not a packed row (padding, a KV cache, batches of several rows) goes to
transformers' own SDPA function with the mask transformers built, unchanged.
"""

from __future__ import annotations

import torch

ATTENTION = "tunelab_packed_sdpa"
_registered = False


def sample_lengths(position_ids: torch.Tensor | None) -> list[int] | None:
    """Lengths of the samples of one packed row (position ids (1, L) restarting at 0), or None when
    `position_ids` is not that (several rows, or a single sample)."""
    if position_ids is None or position_ids.dim() != 2 or position_ids.shape[0] != 1:
        return None
    starts = (position_ids[0] == 0).nonzero().flatten().tolist()
    if len(starts) < 2 or starts[0] != 0:
        return None
    ends = starts[1:] + [position_ids.shape[1]]
    return [e - s for s, e in zip(starts, ends)]


class _LengthsMemo:
    """The last row's sample lengths: every layer of one forward pass gets the same position ids
    tensor, so the lengths (a device-to-host copy on CUDA) are read once per forward pass. The memo
    holds the tensor itself, so a later tensor cannot be taken for it (an id or address can be reused
    once a tensor is freed); an in-place change shows in its version counter."""

    def __init__(self) -> None:
        self.tensor: torch.Tensor | None = None
        self.version = -1
        self.lengths: list[int] | None = None

    def get(self, position_ids: torch.Tensor | None) -> list[int] | None:
        if position_ids is None:
            return None
        if position_ids is not self.tensor or position_ids._version != self.version:
            self.tensor, self.version = position_ids, position_ids._version
            self.lengths = sample_lengths(position_ids)
        return self.lengths


_memo = _LengthsMemo()


def packed_sdpa_forward(module, query, key, value, attention_mask, dropout: float = 0.0,
                        scaling: float | None = None, position_ids: torch.Tensor | None = None, **kwargs):
    """transformers' attention-function signature: query (1, H, L, D), key/value (1, KV, L, D) ->
    (output (1, L, H, D), None)."""
    from transformers.integrations.sdpa_attention import repeat_kv, sdpa_attention_forward  # lazy: slow import

    lengths = _memo.get(position_ids) if query.shape[0] == 1 and query.shape[2] == key.shape[2] else None
    if lengths is None:
        return sdpa_attention_forward(module, query, key, value, attention_mask, dropout=dropout,
                                      scaling=scaling, position_ids=position_ids, **kwargs)
    groups = getattr(module, "num_key_value_groups", 1)
    if groups > 1:
        key, value = repeat_kv(key, groups), repeat_kv(value, groups)
    parts = [torch.nn.functional.scaled_dot_product_attention(q, k, v, dropout_p=dropout, scale=scaling, is_causal=True)
             for q, k, v in zip(query.split(lengths, dim=2), key.split(lengths, dim=2), value.split(lengths, dim=2))]
    return torch.cat(parts, dim=2).transpose(1, 2).contiguous(), None


def use_packed_attention(model) -> bool:
    """Switch a transformers model (PEFT-wrapped or not) from SDPA to the per-sample packed attention;
    False (nothing changed) when the model does not use SDPA."""
    global _registered
    from transformers import AttentionInterface  # lazy: transformers takes seconds to import
    from transformers.masking_utils import ALL_MASK_ATTENTION_FUNCTIONS, sdpa_mask  # lazy: as above

    config = _config(model)
    if getattr(config, "_attn_implementation", None) != "sdpa":
        return False
    if not _registered:
        AttentionInterface.register(ATTENTION, packed_sdpa_forward)
        ALL_MASK_ATTENTION_FUNCTIONS.register(ATTENTION, sdpa_mask)  # masks as for SDPA, for the fallback
        _registered = True
    config._attn_implementation = ATTENTION
    return True


def restore_sdpa(model) -> None:
    """Back to transformers' SDPA (before the model is saved or used for generation)."""
    config = _config(model)
    if getattr(config, "_attn_implementation", None) == ATTENTION:
        config._attn_implementation = "sdpa"


def _config(model):
    """The transformers config of `model`, PEFT-wrapped or not."""
    return (model.get_base_model() if hasattr(model, "get_base_model") else model).config
