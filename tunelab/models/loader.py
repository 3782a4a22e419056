"""The one place that turns a catalogue entry into a model and tokenizer.

`load_model(name_or_spec, settings)` resolves the entry (built-in package, local folder, GGUF file
or hub id), converts GGUF once to a safetensors folder under the home dir, and returns a
`LoadedModel` in eval mode on the configured device; `quantization` loads the weights in 4-bit NF4
(QLoRA, bitsandbytes) or int8 (inference on the CPU, `tunelab.models.int8`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from tunelab.models.catalogue import Catalogue, ModelSpec
from tunelab.models.chat_templates import render_chat
from tunelab.models.convert import ensure_converted
from tunelab.models.errors import HubUnreachableError, ModelError, ModelSourceError
from tunelab.models.int8 import check_int8_device, quantize_int8
from tunelab.models.packaged import smollm2_gguf
from tunelab.models.progress import hf_bars_off
from tunelab.settings import Settings
from tunelab.store import Store


@dataclass
class LoadedModel:
    spec: ModelSpec
    model: Any  # a transformers PreTrainedModel
    tokenizer: Any  # a transformers PreTrainedTokenizerBase
    path: str  # folder or hub id it was loaded from
    device: torch.device
    quantization: str = "none"  # none | nf4 | int8: how the base weights are held

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def context_length(self) -> int:
        cfg = self.model.config
        return int(getattr(cfg, "max_position_embeddings", None) or self.tokenizer.model_max_length or 2048)

    @property
    def eos_token_ids(self) -> set[int]:
        ids: set[int] = set()
        gen_eos = getattr(self.model.generation_config, "eos_token_id", None)
        for value in (gen_eos, self.tokenizer.eos_token_id):
            if isinstance(value, int):
                ids.add(value)
            elif value:
                ids.update(int(v) for v in value)
        return ids

    def chat_prompt(self, messages: list[dict], template: str | None = None, *,
                    add_generation_prompt: bool = True) -> str:
        return render_chat(self.tokenizer, messages, template or self.spec.chat_template, model_name=self.name,
                           add_generation_prompt=add_generation_prompt)


def use_bf16(precision: str, device: torch.device) -> bool:
    """Whether `precision` (auto | fp32 | bf16) means bf16 on `device`: auto picks it where the
    hardware runs it fast (CUDA with bf16, CPUs with AMX tiles)."""
    if precision != "auto":
        return precision == "bf16"
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    # bf16 matmuls are fast on CPUs with AMX tiles; elsewhere they are emulated and slower than fp32
    return device.type == "cpu" and bool(getattr(torch.cpu, "_is_amx_tile_supported", lambda: False)())


def resolve_device(setting: str) -> torch.device:
    if setting == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(setting)


def local_path(spec: ModelSpec, settings: Settings) -> str:
    """Where to load `spec` from: a ready folder (converting a GGUF first) or a hub id."""
    if spec.kind == "packaged":
        return str(ensure_converted(smollm2_gguf(), settings.models_dir / spec.name,
                                    progress_interval_s=settings.progress_interval_s))
    if spec.kind == "gguf":
        return str(ensure_converted(Path(spec.source), settings.models_dir / spec.name,
                                    progress_interval_s=settings.progress_interval_s))
    if spec.kind == "folder":
        folder = Path(spec.source)
        if not (folder / "config.json").is_file():
            what = "does not exist" if not folder.exists() else "has no config.json"
            raise ModelSourceError(f"Model folder {folder} (model '{spec.name}') {what}.")
        return str(folder)
    if spec.kind == "hub":
        return resolve_hub(spec, settings)
    raise ModelSourceError(f"Model '{spec.name}' has an unknown kind '{spec.kind}'.")


def resolve_hub(spec: ModelSpec, settings: Settings) -> str:
    """Use the local HF cache if it holds the model; otherwise check the hub answers, quickly."""
    from huggingface_hub import HfApi, try_to_load_from_cache  # lazy: huggingface_hub is slow to import
    from huggingface_hub.errors import RepositoryNotFoundError  # lazy: huggingface_hub is slow to import

    if isinstance(try_to_load_from_cache(spec.source, "config.json"), str):
        return spec.source
    advice = (f"Download it where a hub is reachable and register the folder instead: "
              f"tunelab models add {spec.name}-local /path/to/folder")
    if settings.hub_offline:
        raise HubUnreachableError(f"'{spec.source}' is not in the local cache and hub access is off "
                                  f"(TUNELAB_HUB_OFFLINE). {advice}")
    try:
        HfApi().model_info(spec.source, timeout=settings.hub_timeout_s)
    except RepositoryNotFoundError as exc:
        raise ModelSourceError(f"The Hugging Face Hub has no model '{spec.source}' (model '{spec.name}').") from exc
    except Exception as exc:
        raise HubUnreachableError(
            f"The Hugging Face Hub is unreachable for '{spec.source}' ({type(exc).__name__}: {exc}). {advice}"
        ) from exc
    return spec.source


def nf4_config(compute_dtype: torch.dtype):
    """4-bit NF4 with double quantization (QLoRA's recipe), or a clear error if bitsandbytes is absent."""
    try:
        import bitsandbytes  # noqa: F401  # lazy: bitsandbytes is slow to import (and optional)
    except ImportError:
        raise ModelError("4-bit loading needs bitsandbytes: pip install 'tunelab[qlora]'") from None
    from transformers import BitsAndBytesConfig  # lazy: transformers is slow to import

    return BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
                              bnb_4bit_compute_dtype=compute_dtype)


def load_model(model: str | ModelSpec, settings: Settings, *, store: Store | None = None,
               dtype: torch.dtype | None = None, quantization: str = "none") -> LoadedModel:
    """Load a catalogue model. `quantization="nf4"` loads the weights in 4-bit (for QLoRA);
    `"int8"` loads them in fp32 and turns every Linear layer and embedding into int8 (CPU inference)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer  # lazy: transformers is slow to import

    spec = model if isinstance(model, ModelSpec) else Catalogue(store or Store(settings)).get(model)
    path = local_path(spec, settings)
    device = resolve_device(settings.device)
    if settings.torch_threads:
        torch.set_num_threads(settings.torch_threads)
    if quantization not in ("none", "nf4", "int8"):
        raise ModelError(f"Unknown quantization '{quantization}' for model '{spec.name}': none, nf4 or int8.")
    if quantization == "int8":
        check_int8_device(device)
        if dtype not in (None, torch.float32):
            raise ModelError(f"int8 quantization runs with fp32 activations, not {dtype}: load model '{spec.name}' "
                             f"with precision fp32.")
        dtype = torch.float32
    if dtype is None:
        dtype = torch.bfloat16 if device.type == "cuda" and torch.cuda.is_bf16_supported() else torch.float32
    try:
        with hf_bars_off():
            tokenizer = AutoTokenizer.from_pretrained(path)
            kwargs = {}
            if quantization == "nf4":
                kwargs = {"quantization_config": nf4_config(dtype), "device_map": {"": str(device)}}
            net = AutoModelForCausalLM.from_pretrained(path, dtype=dtype, **kwargs)
    except OSError as exc:
        raise ModelSourceError(f"Could not load model '{spec.name}' from {path}: {exc}") from exc
    if quantization != "nf4":
        net.to(device)
    net.eval()
    if quantization == "int8":
        quantize_int8(net)
    return LoadedModel(spec=spec, model=net, tokenizer=tokenizer, path=path, device=device,
                       quantization=quantization)
