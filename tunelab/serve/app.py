"""The OpenAI-compatible server: `create_app(settings, ...)` builds the FastAPI app; its lifespan
loads the base model, starts the engine, loads the embedding model and opens the store and the
upstream client, and puts one service object per concern on `app.state`:

  generation  GenerationService (models served, prompts, limits, choices on the engine)
  tasks       TasksService (/v1/tasks/*: classify, extract, qa on any served model)
  embeddings  EmbeddingService or None
  upstreams   UpstreamClient (remote OpenAI-compatible servers)
  keys        ApiKeys (auth)       metrics  ServeMetrics       engine  the GenerationEngine
  sessions    SessionCodec (the dashboard's login cookies and CSRF tokens)
  jobs        JobService (/v1/jobs: the job queue)
  control     ControlService (/v1/datasets, runs, adapters/{name}, evals, collections)
  feedback    FeedbackService (/v1/feedback: ratings, edits, choices -> preference datasets, DPO jobs)
  collections CollectionsService (/v1/collections/{name}, its search, /v1/rag/uploads)
  dataset_views  DatasetViews (/v1/datasets/{name}/records and /stats)
  recipes     RecipesService (/v1/recipes: the training forms and their validation)
  tracer      Tracer (opt-in request traces, TUNELAB_TRACE; OpenTelemetry spans with TUNELAB_OTEL)

  rate_limits RateLimiter (per-key requests and tokens a minute)

Middlewares, outermost first: metrics (every request counted, 401/413 included), API keys, access
(the key's scope for the route, its requests a minute), body size, the trace caller.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import asynccontextmanager

import anyio
from fastapi import FastAPI

from tunelab import __version__
from tunelab.adapters.registry import AdapterRegistry
from tunelab.adapters.servable import servable_adapter_paths
from tunelab.engine.adapter_pool import AdapterResolver
from tunelab.engine.batching import BatchingEngine
from tunelab.engine.sequential import SequentialEngine
from tunelab.engine.types import GenerationEngine
from tunelab.jobs.service import JobService
from tunelab.jobs.worker import start_embedded
from tunelab.models.embeddings import shared_sentence_embedder
from tunelab.models.errors import ModelError
from tunelab.models.loader import LoadedModel, load_model
from tunelab.models.torch_threads import run_torch
from tunelab.serve.access import AccessMiddleware
from tunelab.serve.auth import ApiKeyMiddleware, ApiKeys
from tunelab.serve.collections_service import CollectionsService
from tunelab.serve.control_service import ControlService
from tunelab.serve.dataset_views import DatasetViews
from tunelab.serve.embedding_service import EmbeddingService
from tunelab.serve.errors import install_error_handlers
from tunelab.serve.feedback_service import FeedbackService
from tunelab.serve.generation_service import GenerationService
from tunelab.serve.limits import BodySizeLimitMiddleware
from tunelab.serve.metrics import MetricsMiddleware, ServeMetrics
from tunelab.serve.openapi_doc import install_openapi
from tunelab.serve.rate_limits import Limits, RateLimiter
from tunelab.serve.recipes_service import RecipesService
from tunelab.serve.routes import ROUTERS
from tunelab.serve.sessions import SessionCodec, load_secret
from tunelab.serve.tasks_service import TasksService
from tunelab.serve.tracing import TraceCallerMiddleware, Tracer
from tunelab.settings import Settings
from tunelab.store import Store
from tunelab.upstreams.client import UpstreamClient
from tunelab.upstreams.registry import UpstreamRegistry

log = logging.getLogger("tunelab.serve")

ENGINES = ("auto", "sequential", "batching")  # auto: the batching engine

# (loaded base model, adapter resolver, settings) -> engine, not yet started
EngineFactory = Callable[[LoadedModel, AdapterResolver, Settings], GenerationEngine]


def engine_factory_for(kind: str = "auto") -> EngineFactory:
    """'sequential', 'batching', or 'auto' (batching). Both engines take the same arguments."""
    if kind not in ENGINES:
        raise ValueError(f"Engine '{kind}' is not one of: {', '.join(ENGINES)}.")

    def factory(loaded: LoadedModel, resolver: AdapterResolver, settings: Settings) -> GenerationEngine:
        common = {"adapter_paths": resolver, "max_batch_size": settings.max_batch_size,
                  "max_queue": settings.max_queue, "max_loaded_adapters": settings.max_loaded_adapters}
        if kind == "sequential":
            return SequentialEngine(loaded, **common)
        return BatchingEngine(loaded, prefix_cache_bytes=settings.prefix_cache_mb << 20,
                              fast_decode=settings.fast_decode, **common)

    return factory


def create_app(settings: Settings, *, model: str | None = None, engine: str = "auto",
               engine_factory: EngineFactory | None = None, loaded: LoadedModel | None = None,
               embeddings: bool = True, upstream_transport=None, workers: int = 0) -> FastAPI:
    """The server app. `model`: catalogue name of the base model (default: settings.default_model);
    `loaded`: an already loaded base model instead; `engine`: auto | sequential | batching, or an
    `engine_factory` of your own; `embeddings`: load the embedding model for /v1/embeddings;
    `workers`: job workers run on threads of the server (`tunelab serve` starts one).
    Nothing is loaded until the app starts (its lifespan)."""
    factory = engine_factory or engine_factory_for(engine)

    @asynccontextmanager
    async def lifespan(app: FastAPI):

        store = await anyio.to_thread.run_sync(Store, settings)
        base = loaded or await run_torch(
            lambda: load_model(model or settings.default_model, settings, store=store, quantization=settings.quantize))
        registry = AdapterRegistry(store, settings)
        gen_engine = factory(base, servable_adapter_paths(registry, base.name), settings)
        await gen_engine.start()
        metrics = ServeMetrics()
        upstreams = UpstreamClient(UpstreamRegistry(store), timeout_s=settings.upstream_timeout_s,
                                   retries=settings.upstream_retries, metrics=metrics, transport=upstream_transport)
        embedding_service = None
        if embeddings:
            embedding_service = await run_torch(_load_embedder)
        app.state.settings = settings
        app.state.engine = gen_engine
        app.state.metrics = metrics
        app.state.keys = ApiKeys(store)
        app.state.rate_limits = RateLimiter(Limits(rpm=settings.rate_limit_rpm, tpm=settings.rate_limit_tpm))
        app.state.sessions = SessionCodec(load_secret(settings.ensure_home()), settings.session_ttl_s)
        app.state.jobs = JobService(store, settings)
        app.state.control = ControlService(store, settings)
        app.state.feedback = FeedbackService(store, settings, app.state.jobs, base.name)
        app.state.collections = CollectionsService(store, settings)
        app.state.dataset_views = DatasetViews(store, settings, base)
        app.state.recipes = RecipesService(store, settings)
        app.state.upstreams = upstreams
        app.state.embeddings = embedding_service
        app.state.tracer = Tracer(store, settings)
        app.state.generation = GenerationService(base, gen_engine, registry, settings, metrics, upstreams,
                                                 tracer=app.state.tracer)
        app.state.tasks = TasksService(app.state.generation, settings, store,
                                       embedder=embedding_service.embedder if embedding_service else None,
                                       collections=app.state.collections)
        log.info("serving %s with the %s engine", base.name, gen_engine.kind)
        job_workers = start_embedded(store, settings, workers) if workers else None
        try:
            yield
        finally:
            if job_workers is not None:  # their jobs stop first (training at a checkpoint)
                await anyio.to_thread.run_sync(job_workers.stop)
            await gen_engine.stop()
            await upstreams.aclose()
            store.dispose()

    app = FastAPI(title="TuneLab", version=__version__, lifespan=lifespan,
                  description="OpenAI-compatible API: a base model, its adapters, embeddings and upstreams; "
                              "and the control API: jobs, datasets, runs, adapters, evals, collections, feedback.")
    install_error_handlers(app)
    install_openapi(app)
    for router in ROUTERS:
        app.include_router(router)
    # add_middleware puts each new one outside the previous: the last added runs first.
    app.add_middleware(TraceCallerMiddleware)  # inside the key middleware: it reads the caller
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_request_bytes)
    app.add_middleware(AccessMiddleware)  # after the key is known: its scopes and request rate
    app.add_middleware(ApiKeyMiddleware)
    app.add_middleware(MetricsMiddleware)
    return app


def _load_embedder() -> EmbeddingService | None:

    try:
        return EmbeddingService(shared_sentence_embedder())
    except (ModelError, ImportError, OSError) as exc:
        log.warning("no embedding model, /v1/embeddings is off: %s", exc)
        return None
