"""Open the models a task run names, the way eval, quickstart and `tunelab ask` need them.

A spec is a catalogue model name (the base model), a registered adapter name (its base model is
loaded once and every adapter on it shares one batching engine, so base-vs-adapter runs batch
together; a trained encoder classifier loads as itself), or `upstream/remote-model` for an OpenAI-compatible server. Unknown specs raise
`UnknownTaskModelError` listing what exists.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

import torch

from tunelab.adapters.registry import AdapterRegistry
from tunelab.adapters.servable import servable_adapter_paths
from tunelab.engine.batching import BatchingEngine
from tunelab.models.catalogue import Catalogue
from tunelab.models.encoders import load_encoder_classifier
from tunelab.models.loader import LoadedModel, load_model, resolve_device, use_bf16
from tunelab.models.torch_threads import run_torch
from tunelab.settings import Settings
from tunelab.store import Store
from tunelab.tasks.encoder import EncoderTaskModel
from tunelab.tasks.model import EngineTaskModel, TaskModel, UpstreamTaskModel
from tunelab.upstreams.client import UpstreamClient
from tunelab.upstreams.registry import UpstreamRegistry


class UnknownTaskModelError(ValueError):
    def __init__(self, spec: str, models: list[str], adapters: list[str], upstreams: list[str]) -> None:
        known = ", ".join(models + adapters + [f"{u}/<model>" for u in upstreams]) or "none"
        super().__init__(f"'{spec}' is not a model, an adapter or an upstream here. Known: {known}.")


def _kind(spec: str, catalogue: Catalogue, adapters: AdapterRegistry, upstreams: UpstreamRegistry):
    """('base', name) | ('adapter', AdapterInfo) | ('encoder', AdapterInfo of a trained classifier) |
    ('upstream', (UpstreamInfo, remote model))."""
    if adapters.exists(spec):
        info = adapters.get(spec)
        return ("encoder" if info.kind == "classifier" else "adapter"), info
    if spec in catalogue.names():
        return "base", spec
    head, sep, rest = spec.partition("/")
    if sep and rest:
        up = upstreams.find(head)
        if up is not None:
            return "upstream", (up, rest)
    raise UnknownTaskModelError(spec, catalogue.names(), adapters.names(), upstreams.names())


def inference_dtype(precision: str, settings: Settings):
    """torch dtype for `precision` (fp32 | bf16 | auto) on the configured device."""
    if precision not in ("fp32", "bf16", "auto"):
        raise ValueError(f"precision '{precision}' is not one of: fp32, bf16, auto.")
    return torch.bfloat16 if use_bf16(precision, resolve_device(settings.device)) else torch.float32


def _engine(loaded: LoadedModel, registry: AdapterRegistry, settings: Settings):
    return BatchingEngine(loaded, adapter_paths=servable_adapter_paths(registry, loaded.name),
                          max_batch_size=settings.max_batch_size, max_queue=max(settings.max_queue, 4096),
                          max_loaded_adapters=settings.max_loaded_adapters,
                          prefix_cache_bytes=settings.prefix_cache_mb << 20, fast_decode=settings.fast_decode)


@asynccontextmanager
async def open_task_models(specs: list[str], settings: Settings, store: Store,
                           *, loaded: dict[str, LoadedModel] | None = None,
                           precision: str = "fp32") -> AsyncIterator[list[TaskModel]]:
    """TaskModels for `specs`, in order; engines stop and upstream clients close on exit.
    `loaded`: base models already in memory, by catalogue name (not loaded again). `precision`:
    fp32, bf16, or auto (bf16 where the device runs it fast: CUDA, or a CPU with AMX tiles). Base models
    load with `settings.quantize` (int8 needs fp32)."""
    dtype = inference_dtype(precision, settings)
    catalogue, adapters, upstreams = Catalogue(store), AdapterRegistry(store, settings), UpstreamRegistry(store)
    kinds = [_kind(s, catalogue, adapters, upstreams) for s in specs]  # every spec checked before loading
    bases = {v if k == "base" else v.base_model for k, v in kinds if k in ("base", "adapter")}
    models: dict[str, LoadedModel] = dict(loaded or {})
    async with AsyncExitStack() as stack:
        engines = {}
        for name in sorted(bases):
            if name not in models:
                models[name] = await run_torch(lambda n=name: load_model(
                    n, settings, store=store, dtype=dtype, quantization=settings.quantize))
            engine = _engine(models[name], adapters, settings)
            await engine.start()
            stack.push_async_callback(engine.stop)
            engines[name] = engine
        client = None
        out: list[TaskModel] = []
        for spec, (kind, value) in zip(specs, kinds):
            if kind == "base":
                out.append(EngineTaskModel(engines[value], models[value], name=spec))
            elif kind == "adapter":
                out.append(EngineTaskModel(engines[value.base_model], models[value.base_model], adapter=value.name,
                                           name=spec))
            elif kind == "encoder":
                classifier = await run_torch(load_encoder_classifier, value.path)
                out.append(EncoderTaskModel(classifier, name=spec))
            else:
                if client is None:

                    client = UpstreamClient(upstreams, timeout_s=settings.upstream_timeout_s,
                                            retries=settings.upstream_retries)
                    stack.push_async_callback(client.aclose)
                up, remote = value
                out.append(UpstreamTaskModel(client, up, remote, name=spec))
        yield out
