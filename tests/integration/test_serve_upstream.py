"""Upstreams: a second TuneLab server, started with the CLI (`serve`) in its own process behind an
API key, is added as upstream 'up' of the server under test; its models are listed and served
through the proxy as up/MODEL, streaming included. The world outside (a flaky hosted API, a slow
one, a vLLM server) is played by small fake HTTP servers that record what they receive."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import httpx
import openai
import pytest
import typer
from serve_harness import FakeUpstream, ServerThread, free_port, make_lora, metric_value
from typer.testing import CliRunner

from tunelab.adapters import AdapterRegistry
from tunelab.cli import common
from tunelab.cli import upstreams as upstreams_cli
from tunelab.models.catalogue import Catalogue
from tunelab.serve.app import create_app
from tunelab.serve.auth import ApiKeys
from tunelab.settings import Settings
from tunelab.store import Store
from tunelab.upstreams import UpstreamRegistry
from tunelab.upstreams.vllm import VLLMError, push_adapter

HELLO = [{"role": "user", "content": "Hello! How can I help you today?"}]
FAKE_COMPLETION = {
    "id": "chatcmpl-fake", "object": "chat.completion", "created": 1, "model": "fake-model",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "from the fake"}, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 1, "completion_tokens": 3, "total_tokens": 4},
}
SERVE_CLI = "import typer; from tunelab.cli.serve import serve; typer.run(serve)"


@pytest.fixture(scope="module")
def upstream(tmp_path_factory, tiny_model_dir):
    """A TuneLab server in its own process, started as a user would (`serve`), with an API key."""
    home = tmp_path_factory.mktemp("serve-upstream") / "home"
    store = Store(Settings(home=home))
    Catalogue(store).add("tiny", str(tiny_model_dir))
    secret = ApiKeys(store).create("proxy")
    store.dispose()
    port = free_port()
    # one torch thread: two servers and the tests share two cores, and spinning threads would fight
    env = {**os.environ, "TUNELAB_HOME": str(home), "TUNELAB_HUB_OFFLINE": "1", "TUNELAB_TORCH_THREADS": "1"}
    log = home.parent / "upstream.log"  # a file, not a pipe nobody reads while the server runs
    with open(log, "w") as out:
        proc = subprocess.Popen([sys.executable, "-c", SERVE_CLI, "--model", "tiny", "--port", str(port), "--engine",
                                 "sequential", "--no-embeddings", "--log-level", "warning"],
                                env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    yield {"url": url, "v1": url + "/v1", "key": secret, "proc": proc, "log": log}  # still starting: wait_until_up
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


def wait_until_up(upstream: dict, timeout_s: float = 90.0) -> None:
    proc, deadline = upstream["proc"], time.monotonic() + timeout_s
    while True:
        try:
            if httpx.get(upstream["url"] + "/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError("the upstream server did not start:\n" + upstream["log"].read_text())
        time.sleep(0.2)


@pytest.fixture(scope="module")
def fakes():
    flaky = FakeUpstream([(503, {"Retry-After": "0"}, {"error": {"message": "overloaded"}}, 0),
                          (429, {"Retry-After": "0"}, {"error": {"message": "slow down"}}, 0),
                          (200, {}, FAKE_COMPLETION, 0)])
    slow = FakeUpstream([(200, {}, FAKE_COMPLETION, 5.0)])
    yield {"flaky": flaky, "slow": slow}
    flaky.stop()
    slow.stop()


@pytest.fixture(scope="module")
def proxy(tmp_path_factory, tiny_model_dir, upstream, fakes):
    home = tmp_path_factory.mktemp("serve-proxy") / "home"
    settings = Settings(home=home, hub_offline=True, upstream_timeout_s=3, upstream_retries=2)
    store = Store(settings)
    Catalogue(store).add("tiny", str(tiny_model_dir))
    ups = UpstreamRegistry(store)
    ups.add("up", upstream["v1"], api_key=upstream["key"])
    ups.add("flaky", fakes["flaky"].url + "/v1", api_key="fake-key", models=["fake-model"])
    ups.add("slow", fakes["slow"].url + "/v1", models=["fake-model"])
    ups.add("down", f"http://127.0.0.1:{free_port()}/v1", models=["m"])
    server = ServerThread(create_app(settings, model="tiny", engine="sequential", embeddings=False))
    server.home, server.settings, server.store = home, settings, store
    wait_until_up(upstream)  # started first, so both servers load at once
    yield server
    server.stop()
    store.dispose()


@pytest.fixture(scope="module")
def client(proxy):
    return openai.OpenAI(base_url=proxy.v1, api_key="x", max_retries=0, timeout=60)


def test_models_of_upstreams_are_listed_by_name(client):
    ids = [m.id for m in client.models.list().data]
    assert ids[0] == "tiny"
    assert {"up/tiny", "flaky/fake-model", "slow/fake-model", "down/m"} <= set(ids)  # up/tiny: asked with the key


def test_chat_through_the_proxy_is_the_upstream_answer(upstream, client):
    direct = openai.OpenAI(base_url=upstream["v1"], api_key=upstream["key"], max_retries=0)
    expected = direct.chat.completions.create(model="tiny", messages=HELLO, max_tokens=10, temperature=0)
    r = client.chat.completions.create(model="up/tiny", messages=HELLO, max_tokens=10, temperature=0)
    assert r.choices[0].message.content == expected.choices[0].message.content
    assert r.model == "up/tiny" and r.usage.completion_tokens == expected.usage.completion_tokens
    c = client.completions.create(model="up/tiny", prompt="The quick brown fox", max_tokens=5, temperature=0)
    assert c.choices[0].text == direct.completions.create(model="tiny", prompt="The quick brown fox",
                                                          max_tokens=5, temperature=0).choices[0].text


def test_streaming_through_the_proxy(proxy, upstream, client):
    direct = openai.OpenAI(base_url=upstream["v1"], api_key=upstream["key"], max_retries=0)
    expected = direct.chat.completions.create(model="tiny", messages=HELLO, max_tokens=12, temperature=0)
    pieces, models, usage = [], set(), None
    for chunk in client.chat.completions.create(model="up/tiny", messages=HELLO, max_tokens=12, temperature=0,
                                                stream=True, stream_options={"include_usage": True}):
        models.add(chunk.model)
        usage = chunk.usage or usage
        pieces += [c.delta.content or "" for c in chunk.choices]
    assert "".join(pieces) == expected.choices[0].message.content
    assert models == {"up/tiny"} and usage.completion_tokens == 12
    body = {"model": "up/tiny", "messages": HELLO, "max_tokens": 3, "stream": True}
    with httpx.stream("POST", proxy.v1 + "/chat/completions", json=body) as resp:
        events = [e for e in resp.read().decode().split("\n\n") if e]
    assert events[-1] == "data: [DONE]" and json.loads(events[0][6:])["choices"][0]["delta"]["role"] == "assistant"


def test_upstream_errors_come_back_as_openai_errors(client):
    with pytest.raises(openai.NotFoundError) as exc:
        client.chat.completions.create(model="up/nope", messages=HELLO)
    assert "Upstream 'up'" in exc.value.message and "tiny" in exc.value.message  # its own 404, listing its models
    with pytest.raises(openai.APIStatusError) as exc:
        client.chat.completions.create(model="down/m", messages=HELLO)
    assert exc.value.status_code == 502 and exc.value.body["code"] == "upstream_unreachable"
    start = time.monotonic()
    with pytest.raises(openai.APIStatusError) as exc:
        client.chat.completions.create(model="slow/fake-model", messages=HELLO)
    assert exc.value.status_code == 504 and "3 s" in exc.value.message and time.monotonic() - start < 4.5
    with pytest.raises(openai.NotFoundError, match="up/"):  # an upstream name alone is no model
        client.chat.completions.create(model="nowhere/m", messages=HELLO)


def test_429_and_5xx_are_retried_with_backoff(proxy, client, fakes):
    flaky = fakes["flaky"]
    flaky.calls.clear()
    r = client.chat.completions.create(model="flaky/fake-model", messages=HELLO, max_tokens=3)
    assert r.choices[0].message.content == "from the fake" and r.model == "flaky/fake-model"
    posts = [c for c in flaky.calls if c[0] == "POST"]
    assert len(posts) == 3  # 503, 429, then 200
    assert all(path == "/v1/chat/completions" and body["model"] == "fake-model" and body["max_tokens"] == 3
               and headers["Authorization"] == "Bearer fake-key" for _, path, headers, body in posts)
    text = httpx.get(proxy.url + "/metrics").text
    assert metric_value(text, "tunelab_upstream_retries_total", upstream="flaky") == 2


def test_adapter_loaded_into_a_vllm_upstream(proxy, tiny_model_dir, monkeypatch):
    vllm = FakeUpstream([(200, {}, {"status": "ok"}, 0)])
    try:
        registry = AdapterRegistry(proxy.store, proxy.settings)
        path = make_lora(tiny_model_dir, proxy.home / "loras" / "shop-a", seed=1)
        registry.register("shop-a", kind="lora", path=path, base_model="tiny")
        monkeypatch.setenv("TUNELAB_HOME", str(proxy.home))
        common.settings.cache_clear()
        common.store.cache_clear()
        cli = typer.Typer()
        cli.add_typer(upstreams_cli.app, name="upstreams")
        run = lambda *a: CliRunner().invoke(cli, list(a), catch_exceptions=False)  # noqa: E731
        assert run("upstreams", "add", "gpu", vllm.url + "/v1", "--kind", "vllm", "--api-key", "sk-vllm-123456").exit_code == 0
        listing = run("upstreams", "list").output
        assert "gpu" in listing and "vllm" in listing and "sk-vllm-123456" not in listing  # key masked
        out = run("upstreams", "load-adapter", "gpu", "shop-a", "--path-on-server", "/models/shop-a")
        assert out.exit_code == 0 and "gpu/shop-a" in out.output
        method, url_path, headers, body = vllm.calls[-1]
        assert (method, url_path) == ("POST", "/v1/load_lora_adapter")
        assert body == {"lora_name": "shop-a", "lora_path": "/models/shop-a"}
        assert headers["Authorization"] == "Bearer sk-vllm-123456"

        vllm.script[:] = [(400, {}, {"message": "The lora adapter 'shop-a' has already been loaded."}, 0)]
        with pytest.raises(VLLMError, match="already been loaded"):
            push_adapter(UpstreamRegistry(proxy.store).get("gpu"), registry.get("shop-a"))
        with pytest.raises(VLLMError, match="only vLLM upstreams"):
            push_adapter(UpstreamRegistry(proxy.store).get("up"), registry.get("shop-a"))
        assert run("upstreams", "rm", "gpu").exit_code == 0
        assert run("upstreams", "rm", "gpu").exit_code == 2
        assert "gpu" not in run("upstreams", "list").output
    finally:
        vllm.stop()
        common.settings.cache_clear()
        common.store.cache_clear()


def test_embeddings_of_an_upstream_model_are_forwarded_like_chat(proxy, client):
    vectors = {"object": "list", "model": "text-embedding-3-small", "usage": {"prompt_tokens": 2, "total_tokens": 2},
               "data": [{"object": "embedding", "index": 0, "embedding": [0.5, -0.25, 1.0]},
                        {"object": "embedding", "index": 1, "embedding": [0.0, 0.125, -1.0]}]}
    fake = FakeUpstream([(200, {}, vectors, 0)])
    try:
        UpstreamRegistry(proxy.store).add("hosted-emb", fake.url + "/v1", api_key="sk-emb",
                                          models=["text-embedding-3-small"])
        r = client.embeddings.create(model="hosted-emb/text-embedding-3-small", input=["shoe", "sock"])
        assert [d.embedding for d in r.data] == [[0.5, -0.25, 1.0], [0.0, 0.125, -1.0]]
        assert r.model == "hosted-emb/text-embedding-3-small"
        method, path, headers, body = fake.calls[-1]
        assert (method, path) == ("POST", "/v1/embeddings") and headers["Authorization"] == "Bearer sk-emb"
        assert body["model"] == "text-embedding-3-small" and body["input"] == ["shoe", "sock"]
        # the server without a local embedding model still says so for a local name
        with pytest.raises(openai.NotFoundError):
            client.embeddings.create(model="minilm", input="shoe")
    finally:
        UpstreamRegistry(proxy.store).remove("hosted-emb")
        fake.stop()
