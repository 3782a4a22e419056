"""The settings an admin manages over HTTP (the dashboard's Settings page): API keys
(GET/POST /v1/keys, POST /v1/keys/{name}/revoke; a new key's secret is in the answer once) and
upstreams (GET/POST /v1/upstreams, DELETE /v1/upstreams/{name}). Admin only: the local caller of
a server without keys, or an admin key; anyone else gets a 403."""

from __future__ import annotations

from fastapi import APIRouter, Request

from tunelab.serve.auth import KeyInfo
from tunelab.serve.errors import ForbiddenError
from tunelab.serve.routes.jobs import call, caller
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


def _admin(request: Request) -> None:
    if not caller(request).admin:
        raise ForbiddenError("Only an admin key manages keys and upstreams (tunelab keys create NAME --admin).",
                             code="admin_required")


def _key(k: KeyInfo) -> ApiKeyOut:
    return ApiKeyOut(name=k.name, prefix=k.prefix, admin=k.admin, active=k.active, created_at=k.created_at,
                     revoked_at=k.revoked_at, last_used_at=k.last_used_at)


def _upstream(u: UpstreamInfo) -> UpstreamOut:
    return UpstreamOut(name=u.name, base_url=u.base_url, kind=u.kind, models=list(u.models),
                       api_key=u.masked_key, created_at=u.created_at)


@router.get("/v1/keys", response_model=ApiKeyList)
async def list_keys(request: Request) -> ApiKeyList:
    _admin(request)
    return ApiKeyList(data=[_key(k) for k in await call(request.app.state.keys.list)])


@router.post("/v1/keys", response_model=ApiKeyCreated, status_code=201)
async def create_key(body: KeyCreateRequest, request: Request) -> ApiKeyCreated:
    """A new key. Its secret is in this answer only; the server keeps a salted hash."""
    _admin(request)
    keys = request.app.state.keys
    secret = await call(keys.create, body.name, admin=body.admin)
    info = next(k for k in await call(keys.list) if k.name == body.name and k.active)
    return ApiKeyCreated(**_key(info).model_dump(), secret=secret)


@router.post("/v1/keys/{name}/revoke", response_model=ApiKeyOut)
async def revoke_key(name: str, request: Request) -> ApiKeyOut:
    """Revoke a key: its requests and its dashboard sessions stop working at once."""
    _admin(request)
    return _key(await call(request.app.state.keys.revoke, name))


def _registry(request: Request) -> UpstreamRegistry:
    return UpstreamRegistry(request.app.state.keys.store)


@router.get("/v1/upstreams", response_model=UpstreamList)
async def list_upstreams(request: Request) -> UpstreamList:
    _admin(request)
    return UpstreamList(data=[_upstream(u) for u in await call(_registry(request).list)])


@router.post("/v1/upstreams", response_model=UpstreamOut, status_code=201)
async def add_upstream(body: UpstreamCreateRequest, request: Request) -> UpstreamOut:
    _admin(request)
    return _upstream(await call(_registry(request).add, body.name, body.base_url, api_key=body.api_key,
                                models=body.models, kind=body.kind))


@router.delete("/v1/upstreams/{name}", response_model=UpstreamOut)
async def remove_upstream(name: str, request: Request) -> UpstreamOut:
    _admin(request)
    return _upstream(await call(_registry(request).remove, name))
