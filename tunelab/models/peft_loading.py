"""Attach PEFT adapters to a loaded base model: several at once, each under its own key (PEFT's
multi-adapter layers), the first one active. The base model is modified in place (LoRA layers
are injected into `loaded.model`); load a fresh base for a plain model again. On an int8 base
(`tunelab.models.int8`) the LoRA layers wrap the int8 layers and stay in fp32.
"""

from __future__ import annotations

import contextlib
import json
import warnings
from pathlib import Path

from tunelab.models.errors import ModelSourceError
from tunelab.models.int8 import is_int8
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


def load_adapter(peft_model, base, path: str | Path, key: str, device: str):
    """Load the adapter at `path` under `key`: onto `base` (a plain model) when `peft_model` is None,
    making the PeftModel, else into `peft_model`. Returns the PeftModel. An int8 base gets LoRA
    layers of its own kind (PEFT only wraps layer types it knows)."""
    from peft import PeftModel  # lazy: peft is slow to import

    model = base if peft_model is None else peft_model.base_model.model
    config = None
    if is_int8(model):
        from tunelab.models.int8_lora import lora_config_for_int8  # lazy: imports peft

        config = lora_config_for_int8(path)
    with contextlib.ExitStack() as stack:
        if config is not None:  # PEFT warns of every layer type it does not know, Int8Linear too
            stack.enter_context(warnings.catch_warnings())
            warnings.filterwarnings("ignore", message="Unsupported layer type", category=UserWarning)
        if peft_model is None:
            return PeftModel.from_pretrained(base, str(path), adapter_name=key, is_trainable=False, config=config,
                                             torch_device=device)
        if config is not None:  # load_adapter reads the config from the folder unless the key is known already
            config.inference_mode = True
            peft_model.add_adapter(key, config)
        peft_model.load_adapter(str(path), adapter_name=key, is_trainable=False, torch_device=device)
    return peft_model


def attach_adapters(loaded: LoadedModel, adapters: dict[str, str | Path]):
    """Wrap `loaded.model` in a `peft.PeftModel` holding every adapter in `adapters` (key -> PEFT
    folder) under its key, in eval mode, the first adapter active. Keys are PEFT adapter names:
    no '.' (torch module names cannot hold one). Raises ModelSourceError when a folder is not an
    adapter or does not fit this base model."""
    if not adapters:
        raise ValueError("attach_adapters needs at least one adapter.")
    for key, path in adapters.items():
        if not key or "." in key:
            raise ValueError(f"Adapter key '{key}' cannot be empty or hold a '.': PEFT uses it as a module name.")
        check_adapter_folder(path)
    peft_model = None
    for key, path in adapters.items():
        try:
            peft_model = load_adapter(peft_model, loaded.model, path, key, str(loaded.device))
        except (RuntimeError, ValueError, KeyError) as exc:  # shape mismatch, missing target modules
            raise ModelSourceError(
                f"Adapter {path} does not fit model '{loaded.name}' ({loaded.path}); was it trained on another "
                f"base model? {type(exc).__name__}: {str(exc)[:500]}"
            ) from exc
    peft_model.set_adapter(next(iter(adapters)))
    peft_model.eval()
    return peft_model
