"""The settings an admin manages over HTTP (the dashboard's Settings page): API keys
(GET/POST /v1/keys, POST /v1/keys/{name}/revoke; a new key's secret is in the answer once) and
upstreams (GET/POST /v1/upstreams, DELETE /v1/upstreams/{name}). Admin only: the local caller of
a server without keys, or a key with the scope admin; anyone else gets a 403 (scopes.py's table,
enforced by access.py before these run)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from tunelab.serve.auth import KeyInfo
from tunelab.serve.routes.jobs import call
from tunelab.serve.settings_protocol import (
    ApiKeyCreated,
    ApiKeyList,
    ApiKeyOut,
    KeyCreateRequest,
    UpstreamCreateRequest,
    UpstreamList,
    UpstreamOut,
)
from tunelab.upstreams.registry import UpstreamInfo, UpstreamRegistry

router = APIRouter(tags=["settings"])


def _key(k: KeyInfo) -> ApiKeyOut:
    return ApiKeyOut(name=k.name, prefix=k.prefix, admin=k.admin, scopes=list(k.scopes), rpm=k.rpm, tpm=k.tpm,
                     active=k.active, created_at=k.created_at, revoked_at=k.revoked_at, last_used_at=k.last_used_at)


def _upstream(u: UpstreamInfo) -> UpstreamOut:
    return UpstreamOut(name=u.name, base_url=u.base_url, kind=u.kind, models=list(u.models),
                       api_key=u.masked_key, created_at=u.created_at)


@router.get("/v1/keys", response_model=ApiKeyList)
async def list_keys(request: Request) -> ApiKeyList:
    return ApiKeyList(data=[_key(k) for k in await call(request.app.state.keys.list)])


@router.post("/v1/keys", response_model=ApiKeyCreated, status_code=201)
async def create_key(body: KeyCreateRequest, request: Request) -> ApiKeyCreated:
    """A new key. Its secret is in this answer only; the server keeps a salted hash."""
    keys = request.app.state.keys
    secret = await call(keys.create, body.name, admin=body.admin, scopes=body.scopes, rpm=body.rpm, tpm=body.tpm)
    info = next(k for k in await call(keys.list) if k.name == body.name and k.active)
    return ApiKeyCreated(**_key(info).model_dump(), secret=secret)


@router.post("/v1/keys/{name}/revoke", response_model=ApiKeyOut)
async def revoke_key(name: str, request: Request) -> ApiKeyOut:
    """Revoke a key: its requests and its dashboard sessions stop working at once."""
    return _key(await call(request.app.state.keys.revoke, name))


def _registry(request: Request) -> UpstreamRegistry:
    return UpstreamRegistry(request.app.state.keys.store)


@router.get("/v1/upstreams", response_model=UpstreamList)
async def list_upstreams(request: Request) -> UpstreamList:
    return UpstreamList(data=[_upstream(u) for u in await call(_registry(request).list)])


@router.post("/v1/upstreams", response_model=UpstreamOut, status_code=201)
async def add_upstream(body: UpstreamCreateRequest, request: Request) -> UpstreamOut:
    return _upstream(await call(_registry(request).add, body.name, body.base_url, api_key=body.api_key,
                                models=body.models, kind=body.kind))


@router.delete("/v1/upstreams/{name}", response_model=UpstreamOut)
async def remove_upstream(name: str, request: Request) -> UpstreamOut:
    return _upstream(await call(_registry(request).remove, name))
