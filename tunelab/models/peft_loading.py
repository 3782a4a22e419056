"""Attach PEFT adapters to a loaded base model: several at once, each under its own key (PEFT's
multi-adapter layers), the first one active. The base model is modified in place (LoRA layers
are injected into `loaded.model`); load a fresh base for a plain model again.
"""

from __future__ import annotations

import json
from pathlib import Path

from tunelab.models.errors import ModelSourceError
from tunelab.models.loader import LoadedModel


def check_adapter_folder(path: str | Path) -> Path:
    """A folder PEFT can load: adapter_config.json plus adapter weights."""
    folder = Path(path)
    if not (folder / "adapter_config.json").is_file():
        what = "does not exist" if not folder.exists() else "has no adapter_config.json"
        raise ModelSourceError(f"Adapter folder {folder} {what}: not a PEFT adapter.")
    if not any((folder / f).is_file() for f in ("adapter_model.safetensors", "adapter_model.bin")):
        raise ModelSourceError(f"Adapter folder {folder} has no adapter_model.safetensors (or .bin).")
    return folder


def adapter_config(path: str | Path) -> dict:
    """The adapter's adapter_config.json as a dict."""
    return json.loads((check_adapter_folder(path) / "adapter_config.json").read_text(encoding="utf-8"))


def attach_adapters(loaded: LoadedModel, adapters: dict[str, str | Path]):
    """Wrap `loaded.model` in a `peft.PeftModel` holding every adapter in `adapters` (key -> PEFT
    folder) under its key, in eval mode, the first adapter active. Keys are PEFT adapter names:
    no '.' (torch module names cannot hold one). Raises ModelSourceError when a folder is not an
    adapter or does not fit this base model."""
    from peft import PeftModel  # lazy: peft is slow to import

    if not adapters:
        raise ValueError("attach_adapters needs at least one adapter.")
    for key, path in adapters.items():
        if not key or "." in key:
            raise ValueError(f"Adapter key '{key}' cannot be empty or hold a '.': PEFT uses it as a module name.")
        check_adapter_folder(path)
    peft_model = None
    for key, path in adapters.items():
        try:
            if peft_model is None:
                peft_model = PeftModel.from_pretrained(loaded.model, str(path), adapter_name=key, is_trainable=False,
                                                       torch_device=str(loaded.device))
            else:
                peft_model.load_adapter(str(path), adapter_name=key, is_trainable=False,
                                        torch_device=str(loaded.device))
        except (RuntimeError, ValueError, KeyError) as exc:  # shape mismatch, missing target modules
            raise ModelSourceError(
                f"Adapter {path} does not fit model '{loaded.name}' ({loaded.path}); was it trained on another "
                f"base model? {type(exc).__name__}: {str(exc)[:500]}"
            ) from exc
    peft_model.set_adapter(next(iter(adapters)))
    peft_model.eval()
    return peft_model
