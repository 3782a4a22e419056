"""Request and response models of the settings routes: API keys and upstreams."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from tunelab.serve.timestamps import UtcDateTime


class KeyCreateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(description="1-128 letters, digits, '.', '_' or '-'.")
    admin: bool = Field(default=False, description="Adds the scope admin: keys, upstreams, every job; passes every scope.")
    scopes: list[Literal["admin", "train", "infer"]] | None = Field(
        default=None, min_length=1, description="What the key may call; default: infer and train.")
    rpm: int | None = Field(default=None, ge=0, le=10**9, description="Requests a minute; default: the server's; 0: none.")
    tpm: int | None = Field(default=None, ge=0, le=10**12, description="Tokens a minute; default: the server's; 0: none.")


class ApiKeyOut(BaseModel):
    object: Literal["api_key"] = "api_key"
    name: str
    prefix: str = Field(description="The secret's first characters, to recognise it.")
    admin: bool
    scopes: list[str] = Field(description="admin, train, infer: what the key may call.")
    rpm: int | None = Field(description="Its own requests a minute (None: the server's default).")
    tpm: int | None = Field(description="Its own tokens a minute (None: the server's default).")
    active: bool
    created_at: UtcDateTime | None
    revoked_at: UtcDateTime | None
    last_used_at: UtcDateTime | None


class ApiKeyCreated(ApiKeyOut):
    secret: str = Field(description="The key itself: shown this once, never again.")


class ApiKeyList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ApiKeyOut]


class UpstreamCreateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    base_url: str = Field(description="Its OpenAI-compatible base URL, like http://host:8000/v1.")
    api_key: str | None = Field(default=None, description="Sent as a Bearer token; stored, shown masked.")
    models: list[str] = Field(default_factory=list, description="Model ids it serves (optional).")
    kind: Literal["openai", "vllm"] = "openai"


class UpstreamOut(BaseModel):
    object: Literal["upstream"] = "upstream"
    name: str
    base_url: str
    kind: str
    models: list[str]
    api_key: str = Field(description="Masked: its first characters only.")
    created_at: UtcDateTime | None


class UpstreamList(BaseModel):
    object: Literal["list"] = "list"
    data: list[UpstreamOut]
