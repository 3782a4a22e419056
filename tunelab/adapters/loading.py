"""A model name for the terminal commands (`tunelab generate`, `tunelab chat`, ...): a catalogue
model, or a registered LoRA adapter, which loads its base model with the adapter attached and not
merged (the base weights stay as they are, as in the server)."""

from __future__ import annotations

from dataclasses import replace

from tunelab.adapters.registry import AdapterRegistry
from tunelab.adapters.servable import check_servable
from tunelab.models.catalogue import Catalogue
from tunelab.models.errors import UnknownModelError
from tunelab.models.loader import LoadedModel, load_model
from tunelab.settings import Settings
from tunelab.store import Store


def load_model_or_adapter(name: str, settings: Settings, store: Store) -> LoadedModel:
    """The catalogue model `name`, or the base model of adapter `name` with that adapter on it."""
    catalogue = Catalogue(store)
    registry = AdapterRegistry(store, settings)
    if name in catalogue.names() or not registry.exists(name):
        try:
            return load_model(name, settings, store=store)
        except UnknownModelError:
            adapters = registry.names()
            if not adapters:
                raise
            raise UnknownModelError(name, [*catalogue.names(), *(f"{a} (adapter)" for a in adapters)]) from None
    from tunelab.models.peft_loading import attach_adapters  # lazy: peft is slow to import

    info = registry.get(name)
    check_servable(info, info.base_model)  # a LoRA adapter; other kinds say how to run them
    loaded = load_model(info.base_model, settings, store=store)
    model = attach_adapters(loaded, {name.replace(".", "_"): info.path})
    return replace(loaded, model=model)
