"""Fixtures: LoRA adapters on the tiny model, and a registry holding two of them on the base
model registered as 'tiny'."""

from __future__ import annotations

from pathlib import Path

import pytest
from lora_helpers import make_lora


@pytest.fixture(scope="session")
def lora_dirs(tmp_path_factory, tiny_model_dir) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("loras")
    return {
        "a": make_lora(tiny_model_dir, root / "a", seed=1),
        "b": make_lora(tiny_model_dir, root / "b", seed=2),
        "r8": make_lora(tiny_model_dir, root / "r8", seed=3, r=8),
    }


@pytest.fixture
def registry(settings, store, tiny_model_dir):
    """An adapter registry with the tiny model registered as 'tiny' (not loaded)."""
    from tunelab.adapters import AdapterRegistry
    from tunelab.models.catalogue import Catalogue

    Catalogue(store).add("tiny", str(tiny_model_dir))
    return AdapterRegistry(store, settings)


@pytest.fixture
def two_adapters(registry, lora_dirs, tiny_model_dir):
    """Adapters 'a' and 'b' registered on 'tiny' (their folders outside the home)."""
    from tunelab.adapters import model_fingerprint

    digest = model_fingerprint(tiny_model_dir)
    for name in ("a", "b"):
        registry.register(name, kind="lora", path=lora_dirs[name], base_model="tiny", base_model_hash=digest,
                          lineage={"seed": 1}, metrics={"eval_loss": 1.5})
    return registry
