"""Picking the next token from the logits: greedy, temperature, top-p (nucleus), and a seed.

Teaches: the model gives scores, not text; decoding is a choice. Temperature divides the scores
before the softmax (below 1 sharpens, above 1 flattens), top-p keeps the smallest set of likeliest
tokens whose probabilities add up to p, and a seeded generator makes a random choice repeatable.
This is the same rule as TuneLab's engine, so with the same seed both pick the same tokens.
"""

from __future__ import annotations

import torch


def make_generator(seed: int | None, device: torch.device | str = "cpu") -> torch.Generator | None:
    """A generator seeded with `seed`, or None (torch's global one) when there is no seed."""
    return None if seed is None else torch.Generator(device=device).manual_seed(seed)


def top_p_filter(probs: torch.Tensor, top_p: float) -> torch.Tensor:
    """probs: (batch, vocab) -> the same with every token outside the nucleus set to 0 (not renormalised;
    torch.multinomial does not need it)."""
    sorted_p, order = probs.sort(dim=-1, descending=True)  # (batch, vocab) each, likeliest first
    before = sorted_p.cumsum(dim=-1) - sorted_p  # (batch, vocab): mass of the tokens ahead of each one
    sorted_p = sorted_p.masked_fill(before >= top_p, 0.0)  # the top token always stays (nothing is ahead)
    return torch.zeros_like(probs).scatter_(-1, order, sorted_p)  # (batch, vocab), back in vocab order


def sample(logits: torch.Tensor, temperature: float = 1.0, top_p: float = 1.0,
           generator: torch.Generator | None = None) -> torch.Tensor:
    """logits: (batch, vocab) -> next token ids (batch,). temperature 0 is greedy (argmax)."""
    if temperature < 0 or not 0 < top_p <= 1:
        raise ValueError(f"temperature must be >= 0 and top_p in (0, 1]; got {temperature} and {top_p}.")
    if temperature == 0:
        return logits.argmax(dim=-1)  # (batch,)
    probs = torch.softmax(logits.float() / temperature, dim=-1)  # (batch, vocab)
    if top_p < 1.0:
        probs = top_p_filter(probs, top_p)
    return torch.multinomial(probs, 1, generator=generator).squeeze(-1)  # (batch,)
