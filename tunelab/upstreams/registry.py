"""Upstreams by name in the store (`upstreams` table): base URL as an OpenAI client takes it
(`http://host:8000/v1`), an optional API key, the kind (openai | vllm), and an optional fixed model
list (empty: ask the upstream's /models). Their models are served as `NAME/model`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlparse

from tunelab.store import UPSTREAMS, Store, UnknownNameError, Upstream

KINDS = ("openai", "vllm")
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")  # no '/': it separates NAME/model


class UnknownUpstreamError(UnknownNameError):
    kind = "upstream"


@dataclass(frozen=True)
class UpstreamInfo:
    name: str
    base_url: str
    api_key: str | None = None
    kind: str = "openai"
    models: tuple[str, ...] = ()
    created_at: datetime | None = None

    def url(self, path: str) -> str:
        return self.base_url.rstrip("/") + "/" + path.lstrip("/")

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}

    @property
    def masked_key(self) -> str:
        if not self.api_key:
            return ""
        return self.api_key[:4] + "..." if len(self.api_key) > 8 else "***"


def _info(row: Upstream) -> UpstreamInfo:
    return UpstreamInfo(row.name, row.base_url, row.api_key, row.kind, tuple(row.models or ()), row.created_at)


def check_base_url(url: str) -> str:
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ValueError(f"Base URL '{url}' must be an http:// or https:// URL, like http://host:8000/v1.")
    return url.rstrip("/")


class UpstreamRegistry:
    def __init__(self, store: Store) -> None:
        self.store = store

    def list(self) -> list[UpstreamInfo]:
        return [_info(r) for r in UPSTREAMS.all(self.store)]

    def names(self) -> list[str]:
        return UPSTREAMS.names(self.store)

    def get(self, name: str) -> UpstreamInfo:
        info = self.find(name)
        if info is None:
            raise UnknownUpstreamError(name, self.names())
        return info

    def find(self, name: str) -> UpstreamInfo | None:
        row = UPSTREAMS.find(self.store, name)
        return None if row is None else _info(row)

    def add(self, name: str, base_url: str, *, api_key: str | None = None, models: list[str] | tuple = (),
            kind: str = "openai") -> UpstreamInfo:
        if not NAME_RE.match(name):
            raise ValueError(f"Upstream name '{name}' must be 1-64 letters, digits, '.', '_' or '-' (no '/').")
        if kind not in KINDS:
            raise ValueError(f"Upstream kind '{kind}' is not one of: {', '.join(KINDS)}.")
        models = [m.strip() for m in models if m and m.strip()]
        if UPSTREAMS.exists(self.store, name):
            raise ValueError(f"An upstream named '{name}' already exists; remove it first with: "
                             f"tunelab upstreams rm {name}")
        # A name another process adds since the check fails here too, as a NameTakenError (a ValueError).
        UPSTREAMS.add(self.store, name=name, base_url=check_base_url(base_url), api_key=api_key or None, kind=kind,
                      models=models)
        return self.get(name)

    def remove(self, name: str) -> UpstreamInfo:
        row = UPSTREAMS.remove(self.store, name)
        if row is None:
            raise UnknownUpstreamError(name, self.names())
        return _info(row)
