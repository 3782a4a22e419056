"""Single-sequence streaming generation with a KV cache, for the CLI and as the reference the engines
are tested against.

`stream_text(loaded, prompt_ids, params)` yields text pieces as soon as they decode to whole
characters; it stops at an EOS token, a stop string, `max_tokens` or the context length. Each step
goes through the same decode core as the serving engines (`decode.Decoding`). Sampling is seeded
through one `torch.Generator`, so the same seed gives the same text.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import torch

from tunelab.engine.decode import Decoding
from tunelab.engine.sampling import SamplingParams
from tunelab.engine.types import GenRequest


@dataclass
class GenerationResult:
    text: str = ""
    token_ids: list[int] = field(default_factory=list)
    finish_reason: str = "length"  # stop | length
    prompt_tokens: int = 0


def stream_text(loaded, prompt_ids: list[int], params: SamplingParams,
                result: GenerationResult | None = None) -> Iterator[str]:
    """Yield generated text pieces; fill `result` (if given) with the totals as it goes."""
    from transformers import DynamicCache  # lazy: transformers takes seconds to import

    result = result if result is not None else GenerationResult()
    result.prompt_tokens = len(prompt_ids)
    req = GenRequest(request_id="generate", prompt_ids=list(prompt_ids), params=params)
    seq = Decoding(req, loaded.tokenizer, loaded.eos_token_ids, context=loaded.context_length,
                   device=loaded.device)
    cache = DynamicCache()
    input_ids = torch.tensor([req.prompt_ids], device=loaded.device)
    with torch.inference_mode():
        while seq.finish is None:
            out = loaded.model(input_ids=input_ids, cache=cache, use_cache=True, logits_to_keep=1)
            for event in seq.step(out.logits[:, -1, :]):
                result.text, result.token_ids = seq.text, seq.token_ids
                if event.finish_reason is not None:
                    result.finish_reason = event.finish_reason
                if event.text:
                    yield event.text
            input_ids = torch.tensor([[seq.last]], device=loaded.device)


def generate_text(loaded, prompt_ids: list[int], params: SamplingParams) -> GenerationResult:
    result = GenerationResult()
    for _ in stream_text(loaded, prompt_ids, params, result):
        pass
    return result
