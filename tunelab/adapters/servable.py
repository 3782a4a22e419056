"""Which registered adapters a generation engine can put on a base model: LoRA adapters trained on
that base. `check_servable` raises `AdapterNotServableError` (the server answers 400, the CLI prints
it); `servable_adapter_paths` is the name -> folder resolver an engine is built with."""

from __future__ import annotations

from collections.abc import Callable

from tunelab.adapters.errors import AdapterError
from tunelab.adapters.registry import AdapterInfo, AdapterRegistry

SERVED_KINDS = ("lora",)  # adapter kinds the generation engine can put on the base model


class AdapterNotServableError(AdapterError):
    """A registered adapter that this base model cannot run (another kind, another base model)."""

    def __init__(self, message: str, name: str) -> None:
        super().__init__(message)
        self.name = name


def check_servable(info: AdapterInfo, base_name: str) -> None:
    if info.kind not in SERVED_KINDS:
        raise AdapterNotServableError(
            f"Adapter '{info.name}' is a {info.kind} adapter; the server runs LoRA adapters on the base model "
            f"(export a merged model and serve it as a base model instead).", info.name)
    if info.base_model != base_name:
        raise AdapterNotServableError(
            f"Adapter '{info.name}' was trained on base model '{info.base_model}', but this server runs "
            f"'{base_name}'. Start a server for it: tunelab serve --model {info.base_model}", info.name)


def servable_adapter_paths(registry: AdapterRegistry, base_name: str) -> Callable[[str], str]:
    """name -> adapter folder, for an engine; UnknownAdapterError for a name that is not registered,
    AdapterNotServableError for one that does not belong to `base_name`."""

    def resolve(name: str) -> str:
        info = registry.get(name)
        check_servable(info, base_name)
        return info.path

    return resolve
