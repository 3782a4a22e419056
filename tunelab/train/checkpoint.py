"""Atomic checkpoints: trainable weights, optimizer, RNG states and the position in the data.

A checkpoint is written to a temporary folder and renamed to `step-NNNNNN` only when complete, so
a run killed mid-write leaves the previous checkpoint as the latest readable one. The last
`keep` checkpoints are kept.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import tempfile
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

STATE = "state.json"


def trainable_state(model) -> dict[str, torch.Tensor]:
    return {n: p.detach().cpu().contiguous() for n, p in model.named_parameters() if p.requires_grad}


def save_checkpoint(ckpt_dir: Path, step: int, weights: dict[str, torch.Tensor], optimizer_state: dict, extra: dict,
                    keep: int = 2) -> Path:
    """Write `weights` (trainable tensors by parameter name), the optimizer state, this process's RNG
    states and `{"step": step, **extra}` as `step-NNNNNN`; keep the last `keep` checkpoints."""
    ckpt_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=ckpt_dir))
    save_file(weights, str(tmp / "trainable.safetensors"))
    torch.save({"optimizer": optimizer_state, "torch_rng": torch.get_rng_state(),
                "python_rng": random.getstate()}, tmp / "optimizer.pt")
    (tmp / STATE).write_text(json.dumps({"step": step, **extra}))
    final = ckpt_dir / f"step-{step:06d}"
    if final.exists():
        shutil.rmtree(final)
    os.replace(tmp, final)
    for old in sorted(ckpt_dir.glob("step-*"))[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    return final


def latest_checkpoint(ckpt_dir: Path) -> Path | None:
    done = [p for p in sorted(ckpt_dir.glob("step-*")) if (p / STATE).is_file()]
    return done[-1] if done else None


def read_checkpoint(path: Path) -> tuple[dict[str, torch.Tensor], dict]:
    """(trainable weights, {"optimizer", "torch_rng", "python_rng", "state"}) of a checkpoint."""
    extra = torch.load(path / "optimizer.pt", weights_only=False)
    extra["state"] = json.loads((path / STATE).read_text())
    return load_file(str(path / "trainable.safetensors")), extra


def restore_rng(extra: dict) -> None:
    torch.set_rng_state(extra["torch_rng"])
    random.setstate(extra["python_rng"])


def load_checkpoint(path: Path, model, optimizer) -> dict:
    """Load a one-process checkpoint into `model` and `optimizer`; returns its state (step, tokens...)."""
    weights, extra = read_checkpoint(path)
    copy_into(model, weights, f"Checkpoint {path}")
    optimizer.load_state_dict(extra["optimizer"])
    restore_rng(extra)
    return extra["state"]


def copy_into(model, weights: dict, source: str) -> None:
    """Copy a checkpoint's trainable `weights` into `model`'s parameters of the same names; a name the
    model lacks is a ValueError naming `source` (the run's base model or LoRA settings changed)."""
    params = dict(model.named_parameters())
    missing = [n for n in weights if n not in params]
    if missing:
        raise ValueError(f"{source} does not match the model: unknown parameters {missing[:3]}")
    with torch.no_grad():
        for n, t in weights.items():
            params[n].copy_(t)
