"""`tunelab serve`: the OpenAI-compatible server (uvicorn) for a base model, its adapters, the
embedding model and the configured upstreams."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from tunelab.cli.common import console, settings, store
from tunelab.cli.errors import user_errors
from tunelab.models.catalogue import Catalogue


class Quantize(StrEnum):
    none = "none"
    int8 = "int8"


class EngineKind(StrEnum):
    auto = "auto"
    sequential = "sequential"
    batching = "batching"


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on; 0.0.0.0 exposes the server to your network.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8000,
    model: Annotated[str | None, typer.Option("--model", "-m", help="Catalogue name of the base model (default: the default model).")] = None,
    max_loaded_adapters: Annotated[int | None, typer.Option(min=1, help="Adapters kept on the base model at once (least recently used goes first); default: TUNELAB_MAX_LOADED_ADAPTERS.")] = None,
    max_queue: Annotated[int | None, typer.Option(min=1, help="Requests that may wait for the engine before new ones get 429; default: TUNELAB_MAX_QUEUE.")] = None,
    prefix_cache_mb: Annotated[int | None, typer.Option(min=0, help="Memory for cached prompt prefixes (shared templates, system prompts, RAG context); 0: off; default: TUNELAB_PREFIX_CACHE_MB.")] = None,
    engine: Annotated[EngineKind, typer.Option(help="auto: the batching engine when installed, else sequential.")] = EngineKind.auto,
    quantize: Annotated[Quantize | None, typer.Option(help="int8: the base model's Linear layers in int8 on the CPU (faster decoding, less memory; adapters stay fp32); default: TUNELAB_QUANTIZE.")] = None,
    fast_decode: Annotated[bool | None, typer.Option("--fast-decode/--no-fast-decode", help="A request running alone decodes with the lean Llama step on a static KV cache (Llama models); default: TUNELAB_FAST_DECODE (on).")] = None,
    embeddings: Annotated[bool, typer.Option(help="Load the embedding model for /v1/embeddings.")] = True,
    log_level: Annotated[str, typer.Option(help="uvicorn log level: debug, info, warning, error.")] = "info",
    workers: Annotated[int, typer.Option("--workers", min=0, help="Job workers run inside the server (tunelab jobs ...).")] = 1,
    no_worker: Annotated[bool, typer.Option("--no-worker", help="Run no job worker here (e.g. `tunelab worker` runs them).")] = False,
) -> None:
    """Serve the base model and its adapters over an OpenAI-compatible API (/v1/chat/completions,
    /v1/completions, /v1/embeddings, /v1/models), with /health and /metrics."""
    import uvicorn  # lazy: uvicorn is slow to import

    from tunelab.serve.app import create_app  # lazy: fastapi is slow to import
    from tunelab.web import add_dashboard  # lazy: fastapi is slow to import

    cfg = settings()
    updates = {k: v for k, v in (("max_loaded_adapters", max_loaded_adapters), ("max_queue", max_queue),
                                 ("prefix_cache_mb", prefix_cache_mb), ("fast_decode", fast_decode)) if v is not None}
    if quantize is not None:
        updates["quantize"] = quantize.value
    if updates:
        cfg = cfg.model_copy(update=updates)
    name = model or cfg.default_model
    with user_errors():
        Catalogue(store()).get(name)  # an unknown model fails here, in one line, before anything loads
        if cfg.quantize == "int8":
            from tunelab.models.int8 import check_int8_device  # lazy: torch is slow to import
            from tunelab.models.loader import resolve_device  # lazy: torch is slow to import

            check_int8_device(resolve_device(cfg.device))
    n_workers = 0 if no_worker else workers
    app = add_dashboard(create_app(cfg, model=name, engine=engine.value, embeddings=embeddings, workers=n_workers))
    int8 = ", int8 weights" if cfg.quantize == "int8" else ""
    console.print(f"Serving [bold]{name}[/] at http://{host}:{port}/v1 (engine: {engine.value}{int8}, "
                  f"{n_workers} job worker{'s' if n_workers != 1 else ''}); dashboard at http://{host}:{port}/")
    uvicorn.run(app, host=host, port=port, log_level=log_level)
