"""Helpers for the adapter tests: LoRA adapters made with PEFT directly (random A and B, so they
change the output) and logits computed with plain transformers + PEFT, none of our code."""

from __future__ import annotations

from pathlib import Path

import torch

PROMPT = "Wireless earbuds with a charging case"


def make_lora(base_dir: Path, out: Path, *, seed: int, r: int = 4, **config) -> Path:
    """Save a LoRA adapter with non-zero A and B for the model in `base_dir` to `out`."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(seed)
    base = AutoModelForCausalLM.from_pretrained(base_dir)
    cfg = LoraConfig(r=r, lora_alpha=2 * r, target_modules=["q_proj", "v_proj"], init_lora_weights=False, **config)
    get_peft_model(base, cfg).save_pretrained(out)
    return out


def logits_of(model, tokenizer, text: str = PROMPT) -> torch.Tensor:
    ids = tokenizer(text, return_tensors="pt")
    with torch.no_grad():
        return model(**ids).logits[0]


def peft_logits(base_dir: Path, adapter_dir: Path, tokenizer) -> torch.Tensor:
    """Reference: plain transformers + PEFT, none of our code."""
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(base_dir), str(adapter_dir)).eval()
    return logits_of(model, tokenizer)
