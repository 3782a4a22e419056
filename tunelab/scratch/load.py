"""Load a catalogue model (the packaged SmolLM2 by default) into the scratch model, with its tokenizer,
end-of-sequence ids and chat template, and find a registered adapter's PEFT folder.

Teaches where the pieces of a model come from: `tunelab.models` converts the packaged GGUF once to a
safetensors folder; the scratch model reads that folder's config.json and weights itself.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch

from tunelab.adapters import AdapterRegistry
from tunelab.adapters.errors import AdapterError
from tunelab.models.catalogue import Catalogue
from tunelab.models.chat_templates import render_chat
from tunelab.models.loader import local_path, resolve_device
from tunelab.models.tokenizer import load_tokenizer
from tunelab.scratch.model import ScratchLlama
from tunelab.settings import Settings


@dataclass
class ScratchLoaded:
    name: str
    folder: Path
    model: ScratchLlama
    tokenizer: object  # the model's transformers tokenizer, from tunelab.models
    eos_ids: set[int]
    chat_template: str | None = None  # the catalogue's template override; None: the model's own

    def chat_prompt(self, messages: list[dict]) -> str:
        """The chat template applied to `messages`, ending where the assistant's answer starts."""
        return render_chat(self.tokenizer, messages, self.chat_template, model_name=self.name)


def eos_ids(folder: Path, tokenizer) -> set[int]:
    """End-of-sequence ids: generation_config.json's (an int or a list) and the tokenizer's."""
    ids: set[int] = set()
    gen = folder / "generation_config.json"
    values = [json.loads(gen.read_text(encoding="utf-8")).get("eos_token_id") if gen.is_file() else None,
              tokenizer.eos_token_id]
    for value in values:
        if isinstance(value, int):
            ids.add(value)
        elif value:
            ids.update(int(v) for v in value)
    return ids


def load_scratch(name: str, settings: Settings, store) -> ScratchLoaded:
    """Catalogue model `name` (converted first if it is a GGUF) as a ScratchLlama in fp32 on the
    configured device. `store` is the metadata store the catalogue lives in."""
    spec = Catalogue(store).get(name)
    folder = Path(local_path(spec, settings))
    if settings.torch_threads:
        torch.set_num_threads(settings.torch_threads)
    model = ScratchLlama.from_folder(folder, device=resolve_device(settings.device))
    tokenizer = load_tokenizer(name, settings, store=store)
    return ScratchLoaded(name=spec.name, folder=folder, model=model, tokenizer=tokenizer,
                         eos_ids=eos_ids(folder, tokenizer), chat_template=spec.chat_template)


def adapter_folder(registry: AdapterRegistry, name: str) -> tuple[Path, str]:
    """(PEFT folder, base model name) of registered adapter `name`; only LoRA adapters apply here."""
    info = registry.get(name)
    if info.kind != "lora":
        raise AdapterError(f"Adapter '{name}' is a {info.kind} adapter; the scratch model loads LoRA adapters only.")
    return Path(info.path), info.base_model
