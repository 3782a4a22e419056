"""Prometheus metrics of one server (its own registry, so two apps in one process do not mix), and
the ASGI middleware that counts every HTTP request by route template and status and times it.

Exported: tunelab_requests_total{route,status}, tunelab_request_latency_seconds{route},
tunelab_prompt_tokens_total{model}, tunelab_completion_tokens_total{model},
tunelab_time_to_first_token_seconds{model}, tunelab_queue_depth, tunelab_running_requests,
tunelab_loaded_adapters, tunelab_requests_cancelled_total, tunelab_upstream_retries_total{upstream},
and the batching engine's prefix cache: tunelab_prefix_cache_{hits,misses,hit_tokens,miss_tokens}
(counts since the start; gauges read from the engine), tunelab_prefix_cache_bytes and _budget_bytes;
tunelab_alerts_firing (quality alerts of scheduled evaluations, read from the store at each scrape).
"""

from __future__ import annotations

import time

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tunelab.engine.types import EngineStats

LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)
TTFT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)


class ServeMetrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        r = self.registry = CollectorRegistry()
        self.requests = Counter("tunelab_requests", "HTTP requests, by route and status code.",
                                ["route", "status"], registry=r)
        self.latency = Histogram("tunelab_request_latency_seconds", "Time from request to the last byte of "
                                 "the answer.", ["route"], buckets=LATENCY_BUCKETS, registry=r)
        self.prompt_tokens = Counter("tunelab_prompt_tokens", "Prompt tokens of generation requests.",
                                     ["model"], registry=r)
        self.completion_tokens = Counter("tunelab_completion_tokens", "Generated tokens.", ["model"], registry=r)
        self.ttft = Histogram("tunelab_time_to_first_token_seconds", "Time from a generation request to its "
                              "first token.", ["model"], buckets=TTFT_BUCKETS, registry=r)
        self.queue_depth = Gauge("tunelab_queue_depth", "Generation requests waiting for the engine.", registry=r)
        self.running = Gauge("tunelab_running_requests", "Generation requests the engine is running.", registry=r)
        self.loaded_adapters = Gauge("tunelab_loaded_adapters", "Adapters loaded on the base model.", registry=r)
        self.cancelled = Counter("tunelab_requests_cancelled", "Generation requests whose client went away "
                                 "before the end.", registry=r)
        self.alerts_firing = Gauge("tunelab_alerts_firing", "Quality alerts of scheduled evaluations now firing "
                                   "(tunelab alerts list).", registry=r)
        self.upstream_retries = Counter("tunelab_upstream_retries", "Requests to upstreams retried after a "
                                        "429, a 5xx or a connection error.", ["upstream"], registry=r)

        self.prefix_cache = {name: Gauge(f"tunelab_prefix_cache_{name}", text, registry=r) for name, text in (
            ("hits", "Prefills that reused cached prompt-prefix blocks, since the start."),
            ("misses", "Prefills that found no cached prefix, since the start."),
            ("hit_tokens", "Prompt tokens whose keys and values came from the prefix cache, since the start."),
            ("miss_tokens", "Prompt tokens computed, since the start."),
            ("bytes", "Memory the prefix cache holds."),
            ("budget_bytes", "Memory the prefix cache may hold (TUNELAB_PREFIX_CACHE_MB)."))}

    def render(self, stats: EngineStats | None) -> bytes:
        if stats is not None:
            self.queue_depth.set(stats.queue_depth)
            self.running.set(stats.running)
            self.loaded_adapters.set(len(stats.loaded_adapters))
            if stats.prefix_cache is not None:
                for name, gauge in self.prefix_cache.items():
                    gauge.set(getattr(stats.prefix_cache, name))
        return generate_latest(self.registry)


class MetricsMiddleware:
    """Counts and times every HTTP request. Routes are labelled by their template (/v1/models/{id}),
    never by the raw path, so a scan of random URLs cannot blow up the label set."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        metrics: ServeMetrics | None = getattr(scope["app"].state, "metrics", None) if "app" in scope else None
        if scope["type"] != "http" or metrics is None:
            await self.app(scope, receive, send)
            return
        start, status = time.perf_counter(), [500]

        async def send_status(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = scope.get("route")
            label = getattr(route, "path", None) or _known_path(scope)
            metrics.requests.labels(label, str(status[0])).inc()
            metrics.latency.labels(label).observe(time.perf_counter() - start)


def _known_path(scope: Scope) -> str:
    """A path no route matched (refused by a middleware, or 404): its own name when the app has a
    route for it, else 'other'."""
    path = scope.get("path", "")
    app = scope.get("app")
    for route in getattr(app, "routes", ()):
        if getattr(route, "path", None) == path:
            return path
    return "other"
