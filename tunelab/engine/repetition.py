"""Keeping generation out of loops: OpenAI's frequency and presence penalties on the logits, and a
guard that ends a sequence which started repeating itself.

Small models under greedy decoding fall into loops (one sentence again and again until
`max_tokens`). `LoopGuard` watches the generated tokens: when the last `period` tokens (between
`min_period` and `max_period`) are the same block `repeats` times in a row, the sequence is looping;
the decode core then ends it with finish_reason "stop" (constrained output is completed by the
constraint's closing plan first: a JSON string looping inside its object). Legitimate text seldom
repeats a block of eight or more tokens three times back to back.
"""

from __future__ import annotations

from collections import Counter

import torch


def apply_penalties(logits: torch.Tensor, counts: Counter, frequency: float, presence: float) -> torch.Tensor:
    """logits (1, V) -> logits - frequency * count(t) - presence * [count(t) > 0] over the tokens
    generated so far (OpenAI's definition); unchanged when both are 0 or nothing was generated."""
    if not counts or (frequency == 0 and presence == 0):
        return logits
    ids = torch.tensor(list(counts), device=logits.device)
    n = torch.tensor(list(counts.values()), dtype=logits.dtype, device=logits.device)
    out = logits.clone()
    out[0, ids] -= frequency * n + presence
    return out


class LoopGuard:
    def __init__(self, min_period: int = 8, max_period: int = 64, repeats: int = 3) -> None:
        self.min_period, self.max_period, self.repeats = min_period, max_period, repeats

    def looping(self, tokens: list[int]) -> bool:
        """Whether `tokens` ends with one block of `min_period`..`max_period` tokens repeated
        `repeats` times in a row."""
        n, last = len(tokens), tokens[-1] if tokens else None
        for period in range(self.min_period, min(self.max_period, n // self.repeats) + 1):
            if tokens[n - 1 - period] != last:  # cheap test first: the period must map the last token onto itself
                continue
            block = tokens[n - period:]
            if all(tokens[n - (k + 1) * period:n - k * period] == block for k in range(1, self.repeats)):
                return True
        return False
