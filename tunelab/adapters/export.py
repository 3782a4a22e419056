"""Export an adapter: as a plain Hugging Face model folder with the adapter merged into the base
weights (loads with `AutoModelForCausalLM.from_pretrained`, no PEFT), or as its PEFT folder
(adapter_config.json + adapter_model.safetensors, which PEFT and vLLM load unchanged).

Both refuse a non-empty destination and write into a temporary sibling folder that is renamed
into place when complete, so a failed export leaves nothing behind. The loading and merging here,
and `staged_file` (the same for one file), serve the GGUF export too (gguf_export.py).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tunelab.adapters.errors import AdapterError
from tunelab.adapters.registry import AdapterInfo, AdapterRegistry
from tunelab.models.catalogue import Catalogue, ModelSpec
from tunelab.models.progress import hf_bars_off
from tunelab.settings import Settings
from tunelab.store import Store

if TYPE_CHECKING:  # annotations only
    from tunelab.models.loader import LoadedModel

MARKER = "tunelab-export.json"


@contextmanager
def staged_folder(out_dir: str | Path) -> Iterator[Path]:
    """Yield an empty temporary folder next to `out_dir`; rename it to `out_dir` when the block
    succeeds, delete it when it fails. Refuses an `out_dir` that is a file or a non-empty folder."""
    out = Path(out_dir).expanduser().resolve()
    if out.is_file() or (out.is_dir() and any(out.iterdir())):
        raise AdapterError(f"{out} already exists and is not empty; choose a new folder or empty it first.")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".partial", dir=out.parent))
    try:
        yield tmp
        tmp.chmod(0o755)  # mkdtemp makes 0700; an export is meant to be shared
        if out.is_dir():
            out.rmdir()  # empty (checked above); fails, rightly, if something appeared meanwhile
        os.replace(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@contextmanager
def staged_file(dest: Path) -> Iterator[Path]:
    """Yield a temporary file path next to `dest`; link it into place as `dest` when the block
    succeeds (never over a file that appeared meanwhile), delete it either way."""
    fd, name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".partial", dir=dest.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        tmp.chmod(0o644)  # mkstemp makes 0600; an export is meant to be shared
        try:
            os.link(tmp, dest)  # atomic, and refuses an existing dest
        except FileExistsError:
            raise AdapterError(f"{dest} appeared while exporting; nothing was replaced.") from None
        except OSError:  # a file system without hard links
            if dest.exists():
                raise AdapterError(f"{dest} appeared while exporting; nothing was replaced.") from None
            os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


def _marker(info: AdapterInfo, how: str) -> dict:
    return {"adapter": info.name, "export": how, "base_model": info.base_model,
            "base_model_hash": info.base_model_hash, "lineage": info.lineage}


def _base_dtype(path: str):
    """The dtype the base model's config.json declares (None: unknown, let the loader choose)."""
    import torch  # lazy: torch is slow to import

    try:
        cfg = json.loads((Path(path) / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    name = cfg.get("dtype") or cfg.get("torch_dtype")
    return {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}.get(name)


def load_base(spec: ModelSpec, settings: Settings, store: Store) -> LoadedModel:
    """Catalogue model `spec` loaded in the dtype its config.json declares (what an export keeps)."""
    from tunelab.models.loader import load_model, local_path  # lazy: torch is slow to import

    return load_model(spec, settings, store=store, dtype=_base_dtype(local_path(spec, settings)))


def lora_info(registry: AdapterRegistry, name: str) -> AdapterInfo:
    """Adapter `name`, refused unless it is a LoRA adapter (the only kind that merges into a base)."""
    info = registry.get(name)
    if info.kind != "lora":
        raise AdapterError(f"Adapter '{name}' is a {info.kind} adapter; only LoRA adapters merge into a base model.")
    return info


def merge_into_base(info: AdapterInfo, base: ModelSpec, settings: Settings, store: Store) -> tuple[LoadedModel, Any]:
    """Load `base` (LoRA adapter `info`'s base model) in its own dtype and merge the adapter into
    it: (the loaded base, with its tokenizer and spec; the merged plain transformers model)."""
    from tunelab.models.peft_loading import attach_adapters  # lazy: torch is slow to import

    loaded = load_base(base, settings, store)
    return loaded, attach_adapters(loaded, {"export": info.path}).merge_and_unload()


def export_merged(registry: AdapterRegistry, settings: Settings, store: Store, name: str, out_dir: str | Path) -> Path:
    """Merge LoRA adapter `name` into its base model and save model + tokenizer to `out_dir`
    (in the base's own dtype); returns the folder."""
    info = lora_info(registry, name)
    spec = Catalogue(store).get(info.base_model)
    with staged_folder(out_dir) as tmp:
        loaded, merged = merge_into_base(info, spec, settings, store)
        with hf_bars_off():
            merged.save_pretrained(str(tmp))
        loaded.tokenizer.save_pretrained(str(tmp))
        (tmp / MARKER).write_text(json.dumps(_marker(info, "merged"), indent=2), encoding="utf-8")
    return Path(out_dir).expanduser().resolve()


def export_adapter(registry: AdapterRegistry, name: str, out_dir: str | Path) -> Path:
    """Copy adapter `name`'s PEFT folder to `out_dir` (weights as safetensors); returns the folder."""
    from tunelab.models.peft_loading import check_adapter_folder  # lazy: torch is slow to import

    info = registry.get(name)
    if info.kind != "lora":
        raise AdapterError(f"Adapter '{name}' is a {info.kind} adapter, not a PEFT adapter folder.")
    src = check_adapter_folder(info.path)
    with staged_folder(out_dir) as tmp:
        for item in src.iterdir():
            if item.is_dir():
                shutil.copytree(item, tmp / item.name)
            else:
                shutil.copy2(item, tmp / item.name)
        if not (tmp / "adapter_model.safetensors").is_file():
            _bin_to_safetensors(tmp)
        (tmp / MARKER).write_text(json.dumps(_marker(info, "adapter"), indent=2), encoding="utf-8")
    return Path(out_dir).expanduser().resolve()


def _bin_to_safetensors(folder: Path) -> None:
    """Older PEFT wrote adapter_model.bin; vLLM and current PEFT prefer safetensors."""
    import torch  # lazy: torch is slow to import
    from safetensors.torch import save_file  # lazy: torch is slow to import

    state = torch.load(folder / "adapter_model.bin", map_location="cpu", weights_only=True)
    save_file({k: v.contiguous() for k, v in state.items()}, str(folder / "adapter_model.safetensors"))
    (folder / "adapter_model.bin").unlink()
