"""Merge LoRA adapters of one base model into a new LoRA adapter with PEFT's `add_weighted_adapter`.

linear / ties / dare_linear / dare_ties combine the A and B matrices separately (all parents need
the same rank r; ties and dare prune to `density`, dare at random, seeded); cat stacks them (rank =
sum of ranks; exact: its delta is the weighted sum of the parents' deltas). The result is saved in
PEFT format under the registry dir and registered with its parents in the lineage.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

from tunelab.adapters.errors import AdapterError
from tunelab.adapters.lineage import base_model_hash, library_versions
from tunelab.adapters.registry import AdapterInfo, AdapterRegistry
from tunelab.settings import Settings
from tunelab.store import Store

MERGE_METHODS = ("linear", "ties", "dare_linear", "dare_ties", "cat")
PRUNING = ("ties", "dare_linear", "dare_ties")


def check_merge(names: list[str], weights: list[float], method: str, density: float | None) -> None:
    """Refuse argument combinations before any model is loaded."""
    if method not in MERGE_METHODS:
        raise AdapterError(f"Merge method '{method}' is not one of: {', '.join(MERGE_METHODS)}.")
    if not names:
        raise AdapterError("Name at least one adapter to merge.")
    if len(set(names)) != len(names):
        raise AdapterError(f"An adapter is named twice in {', '.join(names)}; give each once, with its weight.")
    if len(weights) != len(names):
        raise AdapterError(f"{len(names)} adapters but {len(weights)} weights: give one weight per adapter.")
    if method in PRUNING:
        if density is None or not 0.0 < density <= 1.0:
            raise AdapterError(f"Method '{method}' needs a density in (0, 1]: the fraction of weights each "
                               "adapter keeps (e.g. --density 0.5).")
    elif density is not None:
        raise AdapterError(f"Density applies to {', '.join(PRUNING)} only, not to '{method}'.")


def _parents(registry: AdapterRegistry, names: list[str], method: str) -> list[AdapterInfo]:
    from tunelab.models.peft_loading import adapter_config  # lazy: torch is slow to import

    parents = [registry.get(n) for n in names]
    bases = {p.base_model for p in parents}
    hashes = {p.base_model_hash for p in parents if p.base_model_hash}
    if len(bases) > 1 or len(hashes) > 1:
        listing = ", ".join(
            f"{p.name} -> {p.base_model}" + (f" ({p.base_model_hash[:12]})" if p.base_model_hash else "") for p in parents
        )
        raise AdapterError(f"Adapters can be merged only when they share one base model; these do not: {listing}.")
    configs = {}
    for p in parents:
        if p.kind != "lora":
            raise AdapterError(f"Adapter '{p.name}' is a {p.kind} adapter; only LoRA adapters can be merged.")
        cfg = adapter_config(p.path)
        if cfg.get("peft_type") != "LORA" or cfg.get("use_dora"):
            raise AdapterError(f"Adapter '{p.name}' is not a plain LoRA adapter (peft_type {cfg.get('peft_type')}"
                               f"{', DoRA' if cfg.get('use_dora') else ''}); it cannot be merged.")
        configs[p.name] = cfg
    ranks = {n: c.get("r") for n, c in configs.items()}
    if method != "cat" and len(names) > 1 and len(set(ranks.values())) > 1:
        listing = ", ".join(f"{n}: r={r}" for n, r in ranks.items())
        raise AdapterError(f"Method '{method}' needs adapters of one rank ({listing}); use --method cat instead.")
    return parents


def merge_adapters(
    registry: AdapterRegistry,
    settings: Settings,
    store: Store,
    names: list[str],
    weights: list[float],
    *,
    method: str = "linear",
    density: float | None = None,
    new_name: str,
    seed: int = 0,
) -> AdapterInfo:
    """Merge the named LoRA adapters with `weights` into a new adapter `new_name` and register it
    (kind "lora", lineage: parents, method, weights, density, seed, versions)."""
    import torch  # lazy: torch is slow to import

    from tunelab.models.loader import load_model  # lazy: torch is slow to import
    from tunelab.models.peft_loading import attach_adapters  # lazy: torch is slow to import

    weights = [float(w) for w in weights]
    check_merge(names, weights, method, density)
    registry.check_new_name(new_name)
    final = registry.path_for(new_name)
    if final.exists():
        raise AdapterError(f"{final} exists but no adapter '{new_name}' is registered (left by an interrupted run?); "
                           "remove that folder or pick another name.")
    parents = _parents(registry, names, method)
    start = time.monotonic()
    loaded = load_model(parents[0].base_model, settings, store=store)
    # PEFT keys cannot hold '.', registry names can: use positional keys inside the model.
    keys = {f"p{i}": p.path for i, p in enumerate(parents)}
    model = attach_adapters(loaded, keys)
    with torch.random.fork_rng(devices=[]):  # dare prunes at random: seeded, without touching the global RNG
        torch.manual_seed(seed)
        model.add_weighted_adapter(list(keys), weights, "merged", combination_type=method, density=density)
    # The merged A/B already carry each parent's scaling; PEFT sets lora_alpha = r for scaling 1,
    # which rsLoRA (alpha / sqrt(r)) would turn into sqrt(r).
    model.peft_config["merged"].use_rslora = False
    final.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{new_name}.", suffix=".partial", dir=final.parent))
    try:
        model.save_pretrained(str(staging), selected_adapters=["merged"])
        saved = staging / "merged"  # PEFT saves a non-default adapter in a subfolder of its name
        (staging if (staging / "adapter_config.json").is_file() else saved).rename(final)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    lineage = {
        "parents": list(names), "method": method, "weights": weights, "density": density,
        "seed": seed if method.startswith("dare") else None,
        "base_model_path": loaded.path, "versions": library_versions(),
    }
    try:
        return registry.register(
            new_name, kind="lora", path=final, base_model=parents[0].base_model,
            base_model_hash=parents[0].base_model_hash or base_model_hash(loaded.path),
            lineage=lineage, metrics={}, wall_time_s=round(time.monotonic() - start, 3),
        )
    except BaseException:
        shutil.rmtree(final, ignore_errors=True)
        raise
