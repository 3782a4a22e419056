"""How the next token is picked: `SamplingParams` (what a request asks for), `sample_next` (greedy or
seeded temperature/top-p sampling over a batch of logits) and `token_logprobs` (what OpenAI reports)."""

from __future__ import annotations

import torch
from pydantic import BaseModel, Field


class SamplingParams(BaseModel):
    """How to pick each next token. temperature 0 is greedy (argmax)."""

    max_tokens: int = Field(default=256, ge=1, description="Maximum number of tokens to generate.")
    temperature: float = Field(default=0.7, ge=0.0, le=2.0, description="0 = greedy; higher = more random.")
    top_p: float = Field(default=1.0, gt=0.0, le=1.0, description="Nucleus sampling: keep the smallest set of tokens whose probability sums to top_p.")
    seed: int | None = Field(default=None, description="Seed for sampling; same seed, same output.")
    stop: list[str] = Field(default_factory=list, description="Stop when any of these strings appears.")
    frequency_penalty: float = Field(default=0.0, ge=-2.0, le=2.0, description="Lower each token's logit by this "
                                     "times the number of times it was generated already (OpenAI's definition).")
    presence_penalty: float = Field(default=0.0, ge=-2.0, le=2.0, description="Lower the logit of every token "
                                    "generated already by this much (OpenAI's definition).")
    loop_guard: bool = Field(default=True, description="End the output (finish_reason stop) once it repeats one "
                             "block of 8 to 64 tokens three times in a row, instead of looping to max_tokens "
                             "(constrained output is closed there, still valid).")


def sample_next(logits: torch.Tensor, params: SamplingParams, generator: torch.Generator | None) -> torch.Tensor:
    """logits: (batch, vocab) float -> next token ids (batch,)."""
    if params.temperature == 0:
        return logits.argmax(dim=-1)
    probs = torch.softmax(logits.float() / params.temperature, dim=-1)
    if params.top_p < 1.0:
        sorted_p, idx = probs.sort(dim=-1, descending=True)
        # drop a token when the mass before it already reaches top_p (the top token always stays)
        drop = (sorted_p.cumsum(dim=-1) - sorted_p) >= params.top_p
        sorted_p = sorted_p.masked_fill(drop, 0.0)
        probs = torch.zeros_like(probs).scatter_(-1, idx, sorted_p)
    return torch.multinomial(probs, 1, generator=generator).squeeze(-1)


def token_logprobs(logits: torch.Tensor, token_id: int, top_k: int = 0) -> tuple[float, list[tuple[int, float]]]:
    """logits: (vocab,) scores of one position -> (log-probability of `token_id`, the `top_k` most likely
    (token id, log-probability) pairs, best first). Of the distribution the logits give, before
    temperature and top_p (what OpenAI reports); pass masked logits for a constrained request."""
    logp = torch.log_softmax(logits.float(), dim=-1)
    top: list[tuple[int, float]] = []
    if top_k > 0:
        values, ids = logp.topk(min(top_k, logp.shape[-1]))
        top = list(zip(ids.tolist(), values.tolist()))
    return float(logp[token_id]), top
