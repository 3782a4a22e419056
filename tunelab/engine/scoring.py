"""Likelihood scoring of candidate continuations, shared by the engines (`engine.score`).

`score_options(forward, prompt_ids, options, device)` -> per option, the natural-log probability of
each of its tokens given the prompt and the option's earlier tokens. One prefill of the prompt (KV
cache), then the options right-padded in batched forward passes over copies of that cache.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch

Forward = Callable[..., Any]  # forward(input_ids=..., cache=..., use_cache=..., logits_to_keep=...)

# Elements (logits + KV cache) one option batch may hold: about 512 MB in fp32. Scoring thousands of
# options (every leaf of a taxonomy) then runs in several passes instead of running out of memory.
MAX_BATCH_ELEMENTS = 1 << 27


def check_score_request(prompt_ids: Sequence[int], options: Sequence[Sequence[int]], context: int) -> None:
    """Raise ValueError, saying which option, for what `score_options` cannot score within `context`."""
    if not prompt_ids:
        raise ValueError("The prompt to score options after is empty.")
    if not options:
        raise ValueError("There are no options to score.")
    for i, opt in enumerate(options):
        if not opt:
            raise ValueError(f"Option {i} has no tokens: every option to score needs at least one.")
        if len(prompt_ids) + len(opt) > context:
            raise ValueError(f"Option {i}: the prompt ({len(prompt_ids)} tokens) and the option ({len(opt)} tokens) "
                             f"do not fit the model's context of {context} tokens.")


def score_options(forward: Forward, prompt_ids: Sequence[int], options: Sequence[Sequence[int]],
                  device: torch.device | str, *, max_batch_elements: int = MAX_BATCH_ELEMENTS) -> list[list[float]]:
    """Per option, log p(token_j | prompt, option[:j]) for each of its tokens (fp32 log_softmax).

    `forward` is a causal LM (or a wrapper that picks its adapter) called with keyword arguments as
    above; it must return `.logits` and fill the `DynamicCache` it is given. Call `check_score_request`
    first: this function assumes non-empty inputs that fit the context."""
    from transformers import DynamicCache  # lazy: transformers is slow to import

    n_prompt = len(prompt_ids)
    with torch.inference_mode():
        cache = DynamicCache()  # plain full-attention layers, as the engines' prefill uses
        out = forward(input_ids=torch.tensor([list(prompt_ids)], device=device), cache=cache,
                      use_cache=True, logits_to_keep=1)
        first = torch.log_softmax(out.logits[0, -1].float(), dim=-1)  # (V,): each option's first token
        scores = [[float(first[opt[0]])] for opt in options]
        rest = [i for i, opt in enumerate(options) if len(opt) > 1]
        if not rest:
            return scores
        vocab = out.logits.shape[-1]
        layers = [(layer.keys, layer.values) for layer in cache.layers]  # (1, H, P, D) each
        kv_per_token = sum(k.shape[1] * k.shape[3] * 2 for k, _ in layers)
        width = max(len(options[i]) - 1 for i in rest)  # option tokens fed to the model, right-padded
        per_row = width * vocab + (n_prompt + width) * kv_per_token
        rows = max(1, max_batch_elements // per_row)
        for start in range(0, len(rest), rows):
            chunk = rest[start:start + rows]
            _score_rest(forward, layers, [options[i] for i in chunk], [scores[i] for i in chunk], device)
    return scores


def _score_rest(forward: Forward, layers, options: list[Sequence[int]], scores: list[list[float]], device) -> None:
    """Append to each of `scores` the log-probabilities of its option's tokens after the first: one
    forward pass of option[:-1] for every option at once over `len(options)` copies of the prompt cache.
    Right padding needs no attention mask: it comes after every real token, so causal attention
    already keeps it out of their view, and position ids are the same for every row."""
    from transformers import DynamicCache  # lazy: transformers is slow to import

    n = len(options)
    width = max(len(o) - 1 for o in options)
    feed = torch.zeros((n, width), dtype=torch.long, device=device)  # (N, W); pad id 0 is never read back
    for r, opt in enumerate(options):
        feed[r, :len(opt) - 1] = torch.tensor(list(opt[:-1]), device=device)
    cache = DynamicCache(ddp_cache_data=[(k.expand(n, -1, -1, -1), v.expand(n, -1, -1, -1)) for k, v in layers])
    logits = forward(input_ids=feed, cache=cache, use_cache=True, logits_to_keep=0).logits  # (N, W, V)
    for r, opt in enumerate(options):
        m = len(opt) - 1
        # One row at a time in fp32: the (N, W, V) fp32 copy would double the peak memory.
        logp = torch.log_softmax(logits[r, :m].float(), dim=-1)  # (m, V)
        target = torch.tensor(list(opt[1:]), device=device)
        scores[r].extend(logp.gather(1, target[:, None])[:, 0].tolist())
