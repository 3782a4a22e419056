"""Talking to upstreams over HTTP (httpx): their model lists, and forwarding requests to them.

`UpstreamClient` lives on `app.state.upstreams`. A request for `NAME/model` is sent to upstream
NAME with `model` rewritten to the upstream's own id, streamed back as it arrives (SSE relayed
line by line with `model` set back to `NAME/model`). 429, 5xx and failed connections are retried
with exponential backoff (Retry-After honoured); a read timeout is not retried, since the upstream
may still be generating. Upstream errors come back as OpenAI error bodies.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import AsyncIterator

import httpx
from starlette.responses import JSONResponse, Response

from tunelab.serve.errors import error_body, error_response
from tunelab.serve.protocol import Model
from tunelab.serve.providers.registry import UpstreamInfo, UpstreamRegistry
from tunelab.serve.sse import DONE, EventStreamResponse, sse

log = logging.getLogger("tunelab.serve.upstreams")

MODELS_TTL_S = 30.0  # how long an upstream's model list is trusted
MODELS_TIMEOUT_S = 5.0


class UpstreamError(Exception):
    def __init__(self, status: int, message: str, code: str) -> None:
        super().__init__(message)
        self.status, self.message, self.code = status, message, code

    def response(self) -> JSONResponse:
        return error_response(self.status, self.message, type="upstream_error", code=self.code)


def _retry_after(resp: httpx.Response) -> float | None:
    value = resp.headers.get("retry-after")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


class UpstreamClient:
    def __init__(self, registry: UpstreamRegistry, *, timeout_s: float = 120.0, retries: int = 3,
                 backoff_s: float = 0.5, max_backoff_s: float = 8.0, metrics=None,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.registry, self.retries, self.timeout_s = registry, retries, timeout_s
        self.backoff_s, self.max_backoff_s, self.metrics = backoff_s, max_backoff_s, metrics
        self.http = httpx.AsyncClient(timeout=httpx.Timeout(timeout_s, connect=min(timeout_s, 10.0)),
                                      transport=transport)
        self._models: dict[str, tuple[float, list[str]]] = {}

    async def aclose(self) -> None:
        await self.http.aclose()

    def list(self) -> list[UpstreamInfo]:
        return self.registry.list()

    def find(self, name: str) -> UpstreamInfo | None:
        return self.registry.find(name)

    # -- model lists ------------------------------------------------------------------------------

    async def models(self) -> list[Model]:
        ups = self.list()
        lists = await asyncio.gather(*(self.model_ids(u) for u in ups))
        out = []
        for u, ids in zip(ups, lists):
            created = int(u.created_at.timestamp()) if u.created_at else 0
            out += [Model(id=f"{u.name}/{m}", created=created, owned_by=u.name, parent=u.name,
                          tunelab_kind="upstream") for m in ids]
        return out

    async def model_ids(self, u: UpstreamInfo) -> list[str]:
        """The upstream's models: its configured list, else what its /models says (cached)."""
        if u.models:
            return list(u.models)
        cached = self._models.get(u.name)
        if cached is not None and time.monotonic() - cached[0] < MODELS_TTL_S:
            return cached[1]
        ids: list[str] = []
        try:
            resp = await self.http.get(u.url("models"), headers=u.headers(), timeout=MODELS_TIMEOUT_S)
            resp.raise_for_status()
            ids = [str(m["id"]) for m in resp.json().get("data", []) if isinstance(m, dict) and "id" in m]
        except (httpx.HTTPError, ValueError, KeyError, AttributeError) as exc:
            log.warning("upstream %s: could not list its models (%s: %s)", u.name, type(exc).__name__, exc)
        self._models[u.name] = (time.monotonic(), ids)
        return ids

    # -- sending ----------------------------------------------------------------------------------

    async def send(self, u: UpstreamInfo, method: str, path: str, *, json_body: dict | None = None) -> httpx.Response:
        """The upstream's response, headers read and body not yet (close it), after retries."""
        url = u.url(path)
        for attempt in range(self.retries + 1):
            last = attempt == self.retries
            try:
                req = self.http.build_request(method, url, json=json_body, headers=u.headers())
                resp = await self.http.send(req, stream=True)
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                if last:
                    raise UpstreamError(502, f"Upstream '{u.name}' ({url}) is unreachable: {exc or type(exc).__name__}",
                                        "upstream_unreachable") from exc
                delay = None
            except httpx.TimeoutException as exc:
                raise UpstreamError(504, f"Upstream '{u.name}' did not answer within {self.timeout_s:g} s.",
                                    "upstream_timeout") from exc
            except httpx.HTTPError as exc:
                raise UpstreamError(502, f"Upstream '{u.name}' failed: {type(exc).__name__}: {exc}",
                                    "upstream_error") from exc
            else:
                if last or not (resp.status_code == 429 or resp.status_code >= 500):
                    return resp
                delay = _retry_after(resp)
                await resp.aclose()
            if self.metrics is not None:
                self.metrics.upstream_retries.labels(u.name).inc()
            wait = self.backoff_s * (2 ** attempt)
            await asyncio.sleep(min(self.max_backoff_s, delay if delay is not None else wait))
        raise AssertionError("unreachable")

    async def forward(self, u: UpstreamInfo, path: str, body: dict, *, remote_model: str, model_id: str,
                      stream: bool) -> Response:
        """Send an OpenAI request on to upstream `u` and answer with what it says."""
        try:
            resp = await self.send(u, "POST", path, json_body={**body, "model": remote_model})
        except UpstreamError as exc:
            return exc.response()
        if resp.status_code >= 400:
            raw = await resp.aread()
            await resp.aclose()
            return self._error(u, resp.status_code, raw)
        if stream and resp.headers.get("content-type", "").startswith("text/event-stream"):
            return EventStreamResponse(self._relay(u, resp, model_id))
        raw = await resp.aread()
        await resp.aclose()
        try:
            data = json.loads(raw)
        except ValueError:
            return self._error(u, 502, raw)
        if isinstance(data, dict) and "model" in data:
            data["model"] = model_id
        return JSONResponse(data, status_code=resp.status_code)

    async def _relay(self, u: UpstreamInfo, resp: httpx.Response, model_id: str) -> AsyncIterator[str]:
        try:
            async for line in resp.aiter_lines():
                if line.startswith("data:"):
                    payload = line[5:].strip()
                    if payload and payload != "[DONE]":
                        try:
                            obj = json.loads(payload)
                            if isinstance(obj, dict) and "model" in obj:
                                obj["model"] = model_id
                                line = "data: " + json.dumps(obj, ensure_ascii=False)
                        except ValueError:
                            pass
                yield line + "\n"
        except httpx.HTTPError as exc:
            yield sse(error_body(f"Upstream '{u.name}' broke off the stream: {type(exc).__name__}: {exc}",
                                 type="upstream_error", code="upstream_error"))
            yield DONE
        finally:
            await resp.aclose()

    @staticmethod
    def _error(u: UpstreamInfo, status: int, raw: bytes) -> JSONResponse:
        try:
            data = json.loads(raw)
        except ValueError:
            data = None
        if isinstance(data, dict) and isinstance(data.get("error"), dict):
            err = dict(data["error"])
            err["message"] = f"Upstream '{u.name}': {err.get('message', '')}"
            for key in ("type", "param", "code"):
                err.setdefault(key, None)
            return JSONResponse({"error": err}, status_code=status)
        text = raw.decode("utf-8", "replace").strip()[:500] or f"HTTP {status}"
        return error_response(status, f"Upstream '{u.name}' answered {status}: {text}", type="upstream_error",
                              code="upstream_error")
