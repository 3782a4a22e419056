"""Turn a loaded base model into the thing a recipe trains: LoRA / QLoRA adapters or all weights."""

from __future__ import annotations

import torch

from tunelab.train.config import LoraSettings


def lora_config(lora: LoraSettings, task_type: str = "CAUSAL_LM"):
    from peft import LoraConfig

    return LoraConfig(r=lora.r, lora_alpha=lora.alpha, lora_dropout=lora.dropout,
                      target_modules=lora.target_modules, task_type=task_type)


def prepare_for_training(model, *, method: str, lora: LoraSettings | None, gradient_checkpointing: bool, seed: int):
    """Returns the trainable model. LoRA weights are initialised from `seed`, so reruns match."""
    from peft import get_peft_model, prepare_model_for_kbit_training

    torch.manual_seed(seed)
    model.config.use_cache = False
    if method == "qlora":
        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=gradient_checkpointing)
    elif gradient_checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        if method == "lora":
            model.enable_input_require_grads()
    if method == "full":
        for p in model.parameters():
            p.requires_grad_(True)
        return model
    return get_peft_model(model, lora_config(lora))


def count_parameters(model) -> tuple[int, int]:
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return trainable, sum(p.numel() for p in model.parameters())
