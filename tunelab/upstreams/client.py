"""Talking to upstreams over HTTP (httpx): their model lists, and sending requests to them.

`UpstreamClient.send` posts to an upstream with retries: 429, 5xx and failed connections are retried
with exponential backoff (Retry-After honoured); a read timeout is not retried, since the upstream
may still be generating. What goes wrong raises `UpstreamError` (an HTTP-like status, a message and a
code). The client returns library values (httpx responses, parsed JSON, model ids): shaping them into
an HTTP answer of our own is the server's job (`tunelab.serve.upstream_proxy`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time

import httpx

from tunelab.upstreams.registry import UpstreamInfo, UpstreamRegistry

log = logging.getLogger("tunelab.upstreams")

MODELS_TTL_S = 30.0  # how long an upstream's model list is trusted
MODELS_TIMEOUT_S = 5.0


class UpstreamError(Exception):
    """An upstream failed: `status` is what our server answers for it (502 unreachable, 504 timeout,
    or the upstream's own status), `code` an OpenAI-style error code."""

    def __init__(self, status: int, message: str, code: str) -> None:
        super().__init__(message)
        self.status, self.message, self.code = status, message, code


def _retry_after(resp: httpx.Response) -> float | None:
    value = resp.headers.get("retry-after")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def error_message(u: UpstreamInfo, status: int, raw: bytes) -> tuple[dict | None, str]:
    """An upstream's error body: (its OpenAI `error` object, if it sent one, message prefixed with the
    upstream's name; a plain message naming the upstream and its status otherwise)."""
    try:
        data = json.loads(raw)
    except ValueError:
        data = None
    if isinstance(data, dict) and isinstance(data.get("error"), dict):
        err = dict(data["error"])
        err["message"] = f"Upstream '{u.name}': {err.get('message', '')}"
        for key in ("type", "param", "code"):
            err.setdefault(key, None)
        return err, err["message"]
    text = raw.decode("utf-8", "replace").strip()[:500] or f"HTTP {status}"
    return None, f"Upstream '{u.name}' answered {status}: {text}"


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

    async def all_model_ids(self) -> list[tuple[UpstreamInfo, list[str]]]:
        """Every upstream with its model ids (asked of all of them at once)."""
        ups = self.list()
        return list(zip(ups, await asyncio.gather(*(self.model_ids(u) for u in ups))))

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

    async def post_json(self, u: UpstreamInfo, path: str, body: dict) -> dict:
        """POST `body` and return the upstream's JSON answer; UpstreamError for an error status or an
        answer that is not JSON."""
        resp = await self.send(u, "POST", path, json_body=body)
        raw = await resp.aread()
        await resp.aclose()
        if resp.status_code >= 400:
            raise UpstreamError(resp.status_code, error_message(u, resp.status_code, raw)[1], "upstream_error")
        try:
            data = json.loads(raw)
        except ValueError:
            raise UpstreamError(502, f"Upstream '{u.name}' sent an answer that is not JSON: "
                                f"{raw[:200].decode(errors='replace')}", "upstream_error") from None
        if not isinstance(data, dict):
            raise UpstreamError(502, f"Upstream '{u.name}' sent JSON that is not an object.", "upstream_error")
        return data
