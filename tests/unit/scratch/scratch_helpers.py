"""Helpers for the scratch tests: a LoRA adapter made with PEFT directly, none of our code."""

from __future__ import annotations

from pathlib import Path

import torch


def make_peft_adapter(model_dir: Path, out: Path, *, seed: int = 1, **config) -> Path:
    """A LoRA adapter made with PEFT directly (random A and B, so it changes the output)."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(seed)
    base = AutoModelForCausalLM.from_pretrained(model_dir, attn_implementation="eager")
    config = {"r": 4, "lora_alpha": 8, "target_modules": ["q_proj", "v_proj", "down_proj"], **config}
    get_peft_model(base, LoraConfig(init_lora_weights=False, **config)).save_pretrained(out)
    return out
