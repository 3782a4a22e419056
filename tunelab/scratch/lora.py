"""LoRA: train a low-rank update B @ A next to a frozen weight W, instead of W itself.

Teaches: a LoRA layer computes W x + (alpha / r) * B (A x). A (r, in) starts random and B (out, r)
starts at zero, so training begins exactly at the base model; only r * (in + out) numbers per layer
are trained (under 2% of SmolLM2 with every linear layer at r = 8). `merge` folds the update into W
(no extra cost at inference), `unmerge` takes it out again. Adapters load from and save to PEFT's folder format
(adapter_config.json + adapter_model.safetensors), the format TuneLab's trainer writes.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from tunelab.models.errors import ModelSourceError
from tunelab.scratch.model import checkpoint_name

PEFT_PREFIX = "base_model.model."  # PEFT's names: the base model sits under a PeftModel's base_model.model


class LoRALinear(nn.Module):
    def __init__(self, base: nn.Linear, r: int, alpha: float, dropout: float = 0.0, rslora: bool = False) -> None:
        super().__init__()
        if r < 1:
            raise ValueError(f"LoRA rank r must be at least 1, not {r}.")
        self.base = base.requires_grad_(False)  # W: (out, in), frozen
        w = base.weight
        self.A = nn.Parameter(torch.empty(r, base.in_features, dtype=w.dtype, device=w.device))  # (r, in)
        self.B = nn.Parameter(torch.zeros(base.out_features, r, dtype=w.dtype, device=w.device))  # (out, r)
        nn.init.kaiming_uniform_(self.A, a=math.sqrt(5))  # nn.Linear's default init, as PEFT does
        # rsLoRA divides by sqrt(r) instead, so the update's size does not shrink as the rank grows
        self.r, self.alpha, self.rslora = r, alpha, rslora
        self.scaling = alpha / math.sqrt(r) if rslora else alpha / r
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()  # on the LoRA input only
        self.merged = False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (..., in) -> (..., out)."""
        y = self.base(x)  # (..., out): W x
        if self.merged:
            return y  # W already holds W + scaling * B A
        h = self.dropout(x) @ self.A.T  # (..., r): down to the rank
        return y + (h @ self.B.T) * self.scaling  # (..., out): back up, scaled

    def delta_weight(self) -> torch.Tensor:
        """(out, in): what LoRA adds to W, scaling * B @ A (rank r at most)."""
        return (self.B @ self.A) * self.scaling  # (out, r) @ (r, in)

    @torch.no_grad()
    def merge(self) -> None:
        if not self.merged:
            self.base.weight += self.delta_weight()
            self.merged = True

    @torch.no_grad()
    def unmerge(self) -> None:
        if self.merged:
            self.base.weight -= self.delta_weight()
            self.merged = False


def _targeted(name: str, targets: str | list[str]) -> bool:
    """PEFT's rule: a string is a regular expression for the whole module name (the checkpoint's
    name, e.g. model.layers.0.self_attn.q_proj); a list names modules by their last parts."""
    full = checkpoint_name(name)
    if isinstance(targets, str):
        return targets.lower() == "all-linear" or re.fullmatch(targets, full) is not None
    return any(full == t or full.endswith(f".{t}") for t in targets)


def lora_layers(model: nn.Module) -> dict[str, LoRALinear]:
    return {name: m for name, m in model.named_modules() if isinstance(m, LoRALinear)}


def wrap_lora(model: nn.Module, targets: str | list[str] = "all-linear", *, r: int = 8, alpha: float = 16,
              dropout: float = 0.0, rslora: bool = False) -> list[str]:
    """Replace each targeted nn.Linear of `model` with a LoRALinear around it; freeze everything else.
    targets: 'all-linear' (every linear layer but the output projection), a list of names (q_proj,
    v_proj, ...) or a regular expression. Returns the names of the wrapped layers."""
    if lora_layers(model):
        raise ValueError("The model has LoRA layers already; load a fresh model for another adapter.")
    names = [name for name, m in model.named_modules()
             if isinstance(m, nn.Linear) and name != "lm_head" and _targeted(name, targets)]
    if not names:
        raise ValueError(f"No linear layer of the model matches target_modules {targets!r}.")
    model.requires_grad_(False)  # only A and B train
    for name in names:
        parent, _, child = name.rpartition(".")
        holder = model.get_submodule(parent) if parent else model
        setattr(holder, child, LoRALinear(getattr(holder, child), r, alpha, dropout, rslora))
    return names


def merge_lora(model: nn.Module) -> None:
    for layer in lora_layers(model).values():
        layer.merge()


def unmerge_lora(model: nn.Module) -> None:
    for layer in lora_layers(model).values():
        layer.unmerge()


def _check_config(cfg: dict, where: Path) -> None:
    """Refuse the PEFT options this file does not implement, naming the field."""
    if str(cfg.get("peft_type", "")).upper() != "LORA":
        raise ModelSourceError(f"{where}: peft_type is {cfg.get('peft_type')!r}, not LORA.")
    unsupported = {"use_dora": False, "fan_in_fan_out": False, "bias": "none", "modules_to_save": None,
                   "rank_pattern": {}, "alpha_pattern": {}, "layers_to_transform": None, "exclude_modules": None,
                   "target_parameters": None}
    for key, plain in unsupported.items():
        if cfg.get(key) and cfg[key] != plain:
            raise ModelSourceError(f"{where}: {key} = {cfg[key]!r}; the scratch LoRA implements plain LoRA only.")


def load_peft_adapter(model: nn.Module, folder: str | Path) -> dict:
    """Wrap `model`'s layers as the adapter in `folder` (PEFT format) says and load its A and B.
    Returns the adapter's config. Every tensor in the file must land in a layer, and every layer
    must get its tensors."""
    folder = Path(folder)
    config_path = folder / "adapter_config.json"
    if not config_path.is_file():
        raise ModelSourceError(f"{folder} has no adapter_config.json: not a PEFT adapter folder.")
    cfg = json.loads(config_path.read_text(encoding="utf-8"))
    _check_config(cfg, config_path)
    if (folder / "adapter_model.safetensors").is_file():
        tensors = load_file(str(folder / "adapter_model.safetensors"))
    elif (folder / "adapter_model.bin").is_file():
        tensors = torch.load(folder / "adapter_model.bin", map_location="cpu", weights_only=True)
    else:
        raise ModelSourceError(f"{folder} has no adapter_model.safetensors (or .bin).")
    targets = cfg.get("target_modules") or []
    targets = targets if isinstance(targets, str) else list(targets)
    names = wrap_lora(model, targets, r=int(cfg["r"]), alpha=float(cfg.get("lora_alpha", 8)),
                      dropout=float(cfg.get("lora_dropout") or 0.0), rslora=bool(cfg.get("use_rslora")))
    layers, left = lora_layers(model), dict(tensors)
    for name in names:
        key = PEFT_PREFIX + checkpoint_name(name)
        for ours, theirs in (("A", f"{key}.lora_A.weight"), ("B", f"{key}.lora_B.weight")):
            if theirs not in left:
                raise ModelSourceError(f"{folder}: the adapter has no {theirs} for target {name}.")
            param, value = getattr(layers[name], ours), left.pop(theirs)
            if param.shape != value.shape:
                raise ModelSourceError(f"{folder}: {theirs} has shape {tuple(value.shape)}; the model's layer "
                                       f"needs {tuple(param.shape)} (another base model?).")
            with torch.no_grad():
                param.copy_(value.to(param.dtype))
    if left:
        raise ModelSourceError(f"{folder}: tensors for no targeted layer, e.g. {sorted(left)[:3]}.")
    return cfg


def save_peft_adapter(model: nn.Module, folder: str | Path, *, base_model: str = "") -> Path:
    """Write the model's LoRA layers in PEFT's format, so PEFT and TuneLab's engine can load them."""
    layers = lora_layers(model)
    if not layers:
        raise ValueError("The model has no LoRA layers to save.")
    first = next(iter(layers.values()))
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tensors = {}
    for name, layer in layers.items():
        key = PEFT_PREFIX + checkpoint_name(name)
        tensors[f"{key}.lora_A.weight"] = layer.A.detach().contiguous().cpu()
        tensors[f"{key}.lora_B.weight"] = layer.B.detach().contiguous().cpu()
    save_file(tensors, str(folder / "adapter_model.safetensors"))
    config = {"peft_type": "LORA", "task_type": "CAUSAL_LM", "base_model_name_or_path": base_model,
              "r": first.r, "lora_alpha": first.alpha, "lora_dropout": getattr(first.dropout, "p", 0.0),
              "use_rslora": first.rslora, "bias": "none", "fan_in_fan_out": False,
              "target_modules": sorted({n.rpartition(".")[2] for n in layers})}
    (folder / "adapter_config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
    return folder
