"""vLLM upstreams: load a registered adapter into a running vLLM server at run time.

vLLM serves LoRA adapters by name once loaded with `POST /v1/load_lora_adapter`
{"lora_name", "lora_path"} (the server must run with VLLM_ALLOW_RUNTIME_LORA_UPDATING=True and
--enable-lora); `lora_path` is read by the vLLM server, so it must be a path on that machine.
After loading, requests for `UPSTREAM/ADAPTER` reach it through the proxy.
"""

from __future__ import annotations

from typing import Protocol

import httpx

from tunelab.upstreams.registry import UpstreamInfo


class AdapterLike(Protocol):
    """What is pushed (a registered adapter, `tunelab.adapters.AdapterInfo`): its name, kind and folder."""

    name: str
    kind: str
    path: str


class VLLMError(ValueError):
    pass


def _post(upstream: UpstreamInfo, path: str, payload: dict, timeout_s: float, client: httpx.Client | None) -> None:
    url = upstream.url(path)
    try:
        if client is not None:
            resp = client.post(url, json=payload, headers=upstream.headers(), timeout=timeout_s)
        else:
            resp = httpx.post(url, json=payload, headers=upstream.headers(), timeout=timeout_s)
    except httpx.HTTPError as exc:
        raise VLLMError(f"vLLM upstream '{upstream.name}' ({url}) is unreachable: {exc}") from exc
    if resp.status_code >= 400:
        raise VLLMError(f"vLLM upstream '{upstream.name}' refused {path} ({resp.status_code}): "
                        f"{resp.text.strip()[:500]}")


def load_lora_adapter(upstream: UpstreamInfo, lora_name: str, lora_path: str, *, timeout_s: float = 120.0,
                      client: httpx.Client | None = None) -> None:
    """POST {base_url}/load_lora_adapter {"lora_name", "lora_path"}; VLLMError with vLLM's reason."""
    _post(upstream, "load_lora_adapter", {"lora_name": lora_name, "lora_path": lora_path}, timeout_s, client)


def unload_lora_adapter(upstream: UpstreamInfo, lora_name: str, *, timeout_s: float = 30.0,
                        client: httpx.Client | None = None) -> None:
    _post(upstream, "unload_lora_adapter", {"lora_name": lora_name}, timeout_s, client)


def push_adapter(upstream: UpstreamInfo, adapter: AdapterLike, *, path_on_server: str | None = None,
                 timeout_s: float = 120.0) -> str:
    """Load registered adapter `adapter` into vLLM upstream `upstream` under the adapter's name;
    returns the model id to request through TuneLab (`UPSTREAM/ADAPTER`)."""
    if upstream.kind != "vllm":
        raise VLLMError(f"Upstream '{upstream.name}' is of kind '{upstream.kind}'; only vLLM upstreams load "
                        f"adapters at run time (add it with --kind vllm).")
    if adapter.kind != "lora":
        raise VLLMError(f"Adapter '{adapter.name}' is a {adapter.kind} adapter; vLLM loads LoRA adapters only.")
    load_lora_adapter(upstream, adapter.name, path_on_server or adapter.path, timeout_s=timeout_s)
    return f"{upstream.name}/{adapter.name}"
