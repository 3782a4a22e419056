"""Generation: prefill the prompt once, then one token at a time with the KV cache.

Teaches: the prompt goes through the model in one forward pass (prefill) that fills the cache; each
later step feeds only the token just chosen (decode), so it costs one position, not the whole
sequence. Generation stops at an end-of-sequence token or after max_tokens. Text is decoded from
the ids as they come, holding back a piece that ends inside a multi-byte character.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import torch

from tunelab.scratch.model import ScratchLlama
from tunelab.scratch.sampling import make_generator, sample


@dataclass
class GenerationStats:
    prompt_tokens: int = 0
    new_tokens: int = 0
    seconds: float = 0.0  # wall time from the start of the prefill to the last token
    finish_reason: str = "length"  # "stop" (an end-of-sequence token) or "length"
    token_ids: list[int] = field(default_factory=list)  # the generated ids, the end-of-sequence token left out

    @property
    def tokens_per_s(self) -> float:
        return self.new_tokens / self.seconds if self.seconds > 0 else 0.0


def token_budget(prompt_tokens: int, max_tokens: int, context: int) -> int:
    """How many tokens may follow the prompt: max_tokens, or less where the context ends first."""
    if prompt_tokens == 0:
        raise ValueError("The prompt is empty.")
    if prompt_tokens >= context:
        raise ValueError(f"The prompt has {prompt_tokens} tokens; the model's context is {context}.")
    return min(max_tokens, context - prompt_tokens)


def generate_ids(model: ScratchLlama, prompt_ids: list[int], *, max_tokens: int = 128, temperature: float = 0.0,
                 top_p: float = 1.0, seed: int | None = None, eos_ids: Iterable[int] = (),
                 stats: GenerationStats | None = None) -> Iterator[int]:
    """Yield new token ids one by one (an end-of-sequence token ends the loop and is not yielded)."""
    stats = stats if stats is not None else GenerationStats()
    stats.prompt_tokens, eos = len(prompt_ids), set(eos_ids)
    budget = token_budget(len(prompt_ids), max_tokens, model.cfg.max_position_embeddings)
    device = model.embed_tokens.weight.device
    generator = make_generator(seed, device)
    cache = model.new_cache()
    ids = torch.tensor([prompt_ids], device=device)  # (1, prompt): the whole prompt, once
    start = time.perf_counter()
    with torch.inference_mode():
        for _ in range(budget):
            logits = model(ids, cache, last_only=True)[:, -1]  # (1, vocab): scores for the next position
            token = int(sample(logits, temperature, top_p, generator)[0])
            if token in eos:
                stats.finish_reason = "stop"
                break
            stats.new_tokens += 1
            stats.token_ids.append(token)
            stats.seconds = time.perf_counter() - start
            yield token
            ids = torch.tensor([[token]], device=device)  # (1, 1): only the new token; the cache holds the rest
    stats.seconds = time.perf_counter() - start


def stream_text(model: ScratchLlama, tokenizer, prompt_ids: list[int], *, stats: GenerationStats | None = None,
                **sampling) -> Iterator[str]:
    """Yield the generated text in pieces as the ids come (arguments of `generate_ids` as keywords).
    Decoding the whole answer each step is simple and quadratic; the engine decodes a short window."""
    ids: list[int] = []
    sent = 0
    for token in generate_ids(model, prompt_ids, stats=stats, **sampling):
        ids.append(token)
        text = tokenizer.decode(ids, skip_special_tokens=True)
        # a byte-level token can end inside a character (U+FFFD so far): wait for the rest of it
        if len(text) > sent and not text.endswith("\ufffd"):
            yield text[sent:]
            sent = len(text)


def generate_text(model: ScratchLlama, tokenizer, prompt: str, **sampling) -> str:
    """The completion of `prompt` (plain text, tokenized with the tokenizer's own special tokens)."""
    return "".join(stream_text(model, tokenizer, tokenizer(prompt)["input_ids"], **sampling))
