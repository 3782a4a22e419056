"""API keys (only a salted hash is stored; revoke; names reused after revoking), the upstream
registry, admin keys, and the upstream client's retries against a simulated remote API
(httpx.MockTransport)."""

import asyncio

import httpx
import pytest
from pg_support import settings_on_each_backend, store_on_each_backend  # noqa: F401 - fixtures: SQLite, then PostgreSQL
from sqlalchemy import select
from typer.testing import CliRunner

from tunelab.cli import keys as keys_cli
from tunelab.jobs.service import Caller
from tunelab.serve.auth import ApiKeys
from tunelab.serve.upstream_proxy import forward
from tunelab.store import ApiKey
from tunelab.upstreams import UnknownUpstreamError, UpstreamRegistry
from tunelab.upstreams.client import UpstreamClient


def test_keys_are_stored_hashed_and_can_be_revoked(store):
    keys = ApiKeys(store)
    assert not keys.required()
    secret = keys.create("ci")
    assert keys.required() and keys.verify(secret) == "ci"
    assert keys.verify(secret + "x") is None and keys.verify("not-a-key") is None
    with store.session() as s:
        row = s.scalar(select(ApiKey))
        assert secret not in row.secret_hash and row.secret_hash.startswith("sha256$")
        assert row.prefix == secret[:11] and row.last_used_at is not None
    with pytest.raises(ValueError, match="already exists"):
        keys.create("ci")
    with pytest.raises(ValueError, match="must be"):
        keys.create("bad name")
    keys.revoke("ci")
    assert keys.verify(secret) is None and not keys.required()
    with pytest.raises(ValueError, match="No active key named 'ci'"):
        keys.revoke("ci")
    again = keys.create("ci")  # a revoked key's name can be used again
    assert again != secret and keys.verify(again) == "ci"
    assert [(k.name, k.active) for k in keys.list()] == [("ci", True)]


def test_upstream_registry(store):
    reg = UpstreamRegistry(store)
    info = reg.add("vllm-1", "http://gpu:8000/v1/", api_key="k" * 20, models=["a", " b ", ""], kind="vllm")
    assert (info.base_url, info.models, info.kind, info.masked_key) == ("http://gpu:8000/v1", ("a", "b"), "vllm",
                                                                       "kkkk...")
    assert info.url("chat/completions") == "http://gpu:8000/v1/chat/completions"
    assert info.headers() == {"Authorization": "Bearer " + "k" * 20}
    for name, url, kind, message in [("vllm-1", "http://x/v1", "openai", "already exists"),
                                     ("a/b", "http://x/v1", "openai", "no '/'"),
                                     ("ok", "ftp://x", "openai", "http"),
                                     ("ok", "http://x/v1", "tgi", "kind")]:
        with pytest.raises(ValueError, match=message):
            reg.add(name, url, kind=kind)
    assert reg.names() == ["vllm-1"]
    reg.remove("vllm-1")
    with pytest.raises(UnknownUpstreamError, match="Known upstreams: \\(none\\)"):
        reg.get("vllm-1")


def run_client(store, handler, **kw):
    reg = UpstreamRegistry(store)
    up = reg.add("remote", "http://remote.invalid/v1", models=["m"])

    async def go():
        client = UpstreamClient(reg, transport=httpx.MockTransport(handler), backoff_s=0.01, **kw)
        try:
            resp = await forward(client, up, "chat/completions", {"model": "remote/m", "messages": []},
                                        remote_model="m", model_id="remote/m", stream=False)
            return resp.status_code, resp.body
        finally:
            await client.aclose()

    return asyncio.run(go())


def test_retries_then_success_and_model_ids_rewritten(store):
    calls = []

    def handler(request):
        calls.append(request)
        if len(calls) < 3:
            return httpx.Response(503 if len(calls) == 1 else 429, json={"error": {"message": "busy"}})
        return httpx.Response(200, json={"model": "m", "choices": []})

    status, body = run_client(store, handler, retries=3)
    assert status == 200 and b'"model":"remote/m"' in body and len(calls) == 3
    assert all(b'"model":"m"' in c.content for c in calls)


def test_errors_after_the_last_retry_are_openai_errors(store):
    def handler(request):
        return httpx.Response(503, text="upstream melted")

    status, body = run_client(store, handler, retries=1)
    assert status == 503 and b"Upstream 'remote' answered 503: upstream melted" in body and b'"error"' in body


def test_client_errors_are_not_retried(store):
    calls = []

    def handler(request):
        calls.append(request)
        return httpx.Response(400, json={"error": {"message": "bad thing", "type": "invalid_request_error"}})

    status, body = run_client(store, handler, retries=3)
    assert status == 400 and len(calls) == 1 and b"Upstream 'remote': bad thing" in body


def test_unreachable_upstream_is_502(store):
    def handler(request):
        raise httpx.ConnectError("connection refused")

    status, body = run_client(store, handler, retries=2)
    assert status == 502 and b"upstream_unreachable" in body


def test_serve_refuses_an_unknown_model_in_one_line(home):
    import typer
    from typer.testing import CliRunner

    from tunelab.cli.serve import serve

    app = typer.Typer()
    app.command()(serve)
    result = CliRunner().invoke(app, ["--model", "nope", "--port", "1"])
    assert result.exit_code == 2
    assert "Unknown model 'nope'" in result.output and "Traceback" not in result.output


def test_admin_keys_and_who_a_secret_is(store):
    """An admin key is marked in the store and in `tunelab keys list`; `identify` says who a secret is."""
    keys = ApiKeys(store)
    plain, admin = keys.create("dev"), keys.create("ops", admin=True)
    assert keys.identify(plain) == Caller(owner="dev", admin=False)
    assert keys.identify(admin) == Caller(owner="ops", admin=True)
    assert keys.identify("tl-nope-nope-nope") is None and keys.verify(admin) == "ops"
    assert {k.name: k.admin for k in keys.list()} == {"dev": False, "ops": True}

    runner = CliRunner()  # the `home` fixture (under `store`) points the CLI at the same store
    made = runner.invoke(keys_cli.app, ["create", "boss", "--admin"], catch_exceptions=False)
    assert made.exit_code == 0 and "admin key" in made.output
    listing = runner.invoke(keys_cli.app, ["list"], catch_exceptions=False).output
    row = next(line for line in listing.splitlines() if "boss" in line)
    assert "admin" in row and "admin" not in next(line for line in listing.splitlines() if "dev" in line)
