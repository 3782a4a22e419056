"""What every recipe does around the loop: plan the number of optimizer steps, and write the trained
result into its registry folder atomically (a PEFT adapter, or a full model with its tokenizer)."""

from __future__ import annotations

import math
import os
import shutil
import tempfile
from pathlib import Path

from tunelab.models.progress import hf_bars_off
from tunelab.train import distributed


def plan_steps(n_batches: int, cfg) -> int:
    """Optimizer steps of a run: `max_steps` when set, else ceil(micro-batches x epochs / global
    micro-batches per step), where a step takes grad_accum micro-batches on each process."""
    if cfg.max_steps:
        return cfg.max_steps
    return max(1, math.ceil(n_batches * cfg.epochs / (cfg.grad_accum * distributed.current().size)))


def is_peft_model(model) -> bool:
    return hasattr(model, "peft_config") and hasattr(model, "disable_adapter")


def save_result(model, tokenizer, cfg, folder: Path, state_dict: dict | None = None) -> Path:
    """Write the result into `folder`, atomically (a temporary folder renamed when complete).

    A PEFT model writes its adapter only (PEFT format: adapter_config.json + weights); any other
    model (SFT `method: full`, a classifier) is a complete model and gets its tokenizer too, so the
    folder loads on its own. `cfg` is the recipe config the result was trained with; `state_dict`:
    the weights to write when the model itself holds only a shard of them (FSDP)."""

    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        with hf_bars_off():  # transformers' "Writing model shards" bar would break rich's output
            model.save_pretrained(tmp, **({"state_dict": state_dict} if state_dict is not None else {}))
        if not is_peft_model(model):
            tokenizer.save_pretrained(tmp)
        os.replace(tmp, folder)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return folder
