"""Helpers for the engine tests: LoRA adapters made with PEFT directly (random A and B, so each one
changes the output), reference generations with `generate_text` on a separate copy of the model,
and a runner that drains an engine stream."""

from __future__ import annotations

from pathlib import Path

import torch

from tunelab.engine.generation import SamplingParams, generate_text
from tunelab.engine.types import GenRequest
from tunelab.models.loader import LoadedModel

PROMPTS = ["The quick brown fox", "Wireless earbuds with noise cancelling", "Hello!",
           "Stainless steel water bottle, 750 ml, keeps drinks cold"]


def make_lora(base_dir: Path, out: Path, *, seed: int, r: int = 4) -> Path:
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(seed)
    base = AutoModelForCausalLM.from_pretrained(base_dir)
    cfg = LoraConfig(r=r, lora_alpha=2 * r, target_modules=["q_proj", "v_proj", "down_proj"],
                     init_lora_weights=False)
    get_peft_model(base, cfg).save_pretrained(out)
    return out


def make_foreign_lora(out: Path) -> Path:
    """A LoRA adapter for a Llama with other dimensions: it cannot load onto the tiny model."""
    from peft import LoraConfig, get_peft_model
    from transformers import LlamaConfig, LlamaForCausalLM

    cfg = LlamaConfig(vocab_size=400, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                      num_attention_heads=2, num_key_value_heads=2)
    get_peft_model(LlamaForCausalLM(cfg), LoraConfig(r=2, target_modules=["q_proj", "v_proj"])).save_pretrained(out)
    return out


def with_adapter(loaded: LoadedModel, path: str | None) -> LoadedModel:
    """`loaded` with one adapter attached and active (the reference for a request naming it)."""
    if path is None:
        return loaded
    from tunelab.models.peft_loading import attach_adapters

    return LoadedModel(spec=loaded.spec, model=attach_adapters(loaded, {"ref": path}), tokenizer=loaded.tokenizer,
                       path=loaded.path, device=loaded.device)


def reference(loaded: LoadedModel, prompt: str, params: SamplingParams):
    return generate_text(loaded, loaded.tokenizer(prompt)["input_ids"], params)


async def collect(stream) -> dict:
    """Drain a stream: token ids, joined text, the events and the finish reason."""
    events = [ev async for ev in stream]
    return {"ids": [e.token_id for e in events if e.token_id is not None], "text": "".join(e.text for e in events),
            "events": events, "finish": events[-1].finish_reason if events else None}


def request(tokenizer, rid: str, prompt: str, params: SamplingParams, **kw) -> GenRequest:
    return GenRequest(request_id=rid, prompt_ids=tokenizer(prompt)["input_ids"], params=params, **kw)
