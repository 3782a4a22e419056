"""Single-sequence streaming generation with a KV cache, for the CLI and as the reference the
batched serving engine is tested against.

`stream_text(loaded, prompt_ids, params)` yields text pieces as soon as they decode to whole
characters; it stops at an EOS token, a stop string, `max_tokens` or the context length.
Sampling is seeded through one `torch.Generator`, so the same seed gives the same text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator

import torch
from pydantic import BaseModel, Field


class SamplingParams(BaseModel):
    """How to pick each next token. temperature 0 is greedy (argmax)."""

    max_tokens: int = Field(default=256, ge=1, description="Maximum number of tokens to generate.")
    temperature: float = Field(default=0.7, ge=0.0, le=2.0, description="0 = greedy; higher = more random.")
    top_p: float = Field(default=1.0, gt=0.0, le=1.0, description="Nucleus sampling: keep the smallest set of tokens whose probability sums to top_p.")
    seed: int | None = Field(default=None, description="Seed for sampling; same seed, same output.")
    stop: list[str] = Field(default_factory=list, description="Stop when any of these strings appears.")


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


class IncrementalDecoder:
    """Turns a growing list of token ids into new text pieces without splitting characters.

    Decodes a short window (prefix_offset..end) each step rather than the whole sequence, as
    vLLM's detokenizer does, so the cost per token stays flat.
    """

    def __init__(self, tokenizer) -> None:
        self.tokenizer = tokenizer
        self.ids: list[int] = []
        self.prefix_offset = 0
        self.read_offset = 0

    def push(self, token_id: int) -> str:
        self.ids.append(token_id)
        decode = lambda ids: self.tokenizer.decode(ids, skip_special_tokens=True)  # noqa: E731
        prefix = decode(self.ids[self.prefix_offset:self.read_offset])
        text = decode(self.ids[self.prefix_offset:])
        if len(text) > len(prefix) and not text.endswith("\ufffd"):
            self.prefix_offset, self.read_offset = self.read_offset, len(self.ids)
            return text[len(prefix):]
        return ""


@dataclass
class GenerationResult:
    text: str = ""
    token_ids: list[int] = field(default_factory=list)
    finish_reason: str = "length"  # stop | length
    prompt_tokens: int = 0


def stream_text(loaded, prompt_ids: list[int], params: SamplingParams,
                result: GenerationResult | None = None) -> Iterator[str]:
    """Yield generated text pieces; fill `result` (if given) with the totals as it goes."""
    result = result if result is not None else GenerationResult()
    result.prompt_tokens = len(prompt_ids)
    model, device = loaded.model, loaded.device
    room = loaded.context_length - len(prompt_ids)
    if room <= 0:
        raise ValueError(f"The prompt has {len(prompt_ids)} tokens; the model's context is {loaded.context_length}.")
    budget = min(params.max_tokens, room)
    generator = None
    if params.seed is not None:
        generator = torch.Generator(device=device).manual_seed(params.seed)
    eos = loaded.eos_token_ids
    decoder = IncrementalDecoder(loaded.tokenizer)
    input_ids = torch.tensor([prompt_ids], device=device)
    past = None
    with torch.inference_mode():
        for _ in range(budget):
            out = model(input_ids=input_ids, past_key_values=past, use_cache=True)
            past = out.past_key_values
            token = int(sample_next(out.logits[:, -1, :], params, generator)[0])
            if token in eos:
                result.finish_reason = "stop"
                return
            result.token_ids.append(token)
            piece = decoder.push(token)
            if piece:
                text = result.text + piece
                cut = _first_stop(text, params.stop, len(result.text))
                if cut is not None:
                    piece = text[len(result.text):cut]
                    result.text = text[:cut]
                    result.finish_reason = "stop"
                    if piece:
                        yield piece
                    return
                result.text = text
                yield piece
            input_ids = torch.tensor([[token]], device=device)
    result.finish_reason = "length"


def first_stop(text: str, stops: list[str], new_from: int) -> int | None:
    """Index where the earliest stop string starts, if one ends inside the newly added text."""
    best = None
    for s in stops:
        if not s:
            continue
        i = text.find(s, max(0, new_from - len(s) + 1))
        if i != -1 and (best is None or i < best):
            best = i
    return best


_first_stop = first_stop  # the older private name


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


def generate_text(loaded, prompt_ids: list[int], params: SamplingParams) -> GenerationResult:
    result = GenerationResult()
    for _ in stream_text(loaded, prompt_ids, params, result):
        pass
    return result
