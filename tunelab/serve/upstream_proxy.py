"""Upstream models as this server's own: their model list in OpenAI's shape, and requests for
`NAME/model` relayed to upstream NAME with `model` rewritten to the upstream's own id, streamed back
as they arrive (SSE relayed line by line with `model` set back to `NAME/model`). Upstream errors
come back as OpenAI error bodies. The HTTP talking itself is `tunelab.upstreams.UpstreamClient`.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
from starlette.responses import JSONResponse, Response

from tunelab.serve.errors import error_body, error_response
from tunelab.serve.protocol import Model
from tunelab.serve.sse import DONE, EventStreamResponse, sse
from tunelab.upstreams.client import UpstreamClient, UpstreamError, error_message
from tunelab.upstreams.registry import UpstreamInfo


async def upstream_models(client: UpstreamClient) -> list[Model]:
    out = []
    for u, ids in await client.all_model_ids():
        created = int(u.created_at.timestamp()) if u.created_at else 0
        out += [Model(id=f"{u.name}/{m}", created=created, owned_by=u.name, parent=u.name,
                      tunelab_kind="upstream") for m in ids]
    return out


def upstream_error_response(exc: UpstreamError) -> JSONResponse:
    return error_response(exc.status, exc.message, type="upstream_error", code=exc.code)


async def forward(client: UpstreamClient, u: UpstreamInfo, path: str, body: dict, *, remote_model: str,
                  model_id: str, stream: bool) -> Response:
    """Send an OpenAI request on to upstream `u` and answer with what it says."""
    try:
        resp = await client.send(u, "POST", path, json_body={**body, "model": remote_model})
    except UpstreamError as exc:
        return upstream_error_response(exc)
    if resp.status_code >= 400:
        raw = await resp.aread()
        await resp.aclose()
        return _error(u, resp.status_code, raw)
    if stream and resp.headers.get("content-type", "").startswith("text/event-stream"):
        return EventStreamResponse(_relay(u, resp, model_id))
    raw = await resp.aread()
    await resp.aclose()
    try:
        data = json.loads(raw)
    except ValueError:
        return _error(u, 502, raw)
    if isinstance(data, dict) and "model" in data:
        data["model"] = model_id
    return JSONResponse(data, status_code=resp.status_code)


async def _relay(u: UpstreamInfo, resp: httpx.Response, model_id: str) -> AsyncIterator[str]:
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


def _error(u: UpstreamInfo, status: int, raw: bytes) -> JSONResponse:
    err, message = error_message(u, status, raw)
    if err is not None:
        return JSONResponse({"error": err}, status_code=status)
    return error_response(status, message, type="upstream_error", code="upstream_error")
