"""The server under pressure and behind keys: the sequential engine with a queue of one (a flood gets
429 with Retry-After), a client that goes away mid-stream (its generation stops), and API keys
made with the CLI (401 without one once a key exists; /health stays open)."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import openai
import pytest
import typer
from serve_harness import ServerThread, metric_value
from typer.testing import CliRunner

from tunelab.cli import common, keys
from tunelab.models.catalogue import Catalogue
from tunelab.serve.app import create_app
from tunelab.settings import Settings
from tunelab.store import Store

HELLO = [{"role": "user", "content": "Hello! How can I help you today?"}]


@pytest.fixture(scope="module")
def served(tmp_path_factory, tiny_model_dir):
    home = tmp_path_factory.mktemp("serve-queue") / "home"
    settings = Settings(home=home, hub_offline=True, max_queue=1)
    store = Store(settings)
    Catalogue(store).add("tiny", str(tiny_model_dir))
    server = ServerThread(create_app(settings, model="tiny", engine="sequential", embeddings=False))
    server.home = home
    yield server
    server.stop()
    store.dispose()


def wait_idle(server, timeout_s: float = 5.0) -> float:
    """Seconds until the engine runs nothing and queues nothing."""
    start = time.monotonic()
    while time.monotonic() - start < timeout_s:
        h = server.health()
        if h["running"] == 0 and h["queue_depth"] == 0:
            return time.monotonic() - start
        time.sleep(0.02)
    raise AssertionError(f"the engine is still busy after {timeout_s} s: {server.health()}")


def test_a_flood_gets_429_with_retry_after(served):
    assert served.health()["engine"] == "sequential"
    client = openai.OpenAI(base_url=served.v1, api_key="x", max_retries=0, timeout=60)

    def one(_):
        try:
            client.chat.completions.create(model="tiny", messages=HELLO, max_tokens=48, temperature=0)
            return 200, None
        except openai.RateLimitError as exc:
            return 429, exc

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(one, range(8)))
    codes = [c for c, _ in results]
    assert codes.count(200) >= 2 and codes.count(429) >= 1  # one runs, one waits, the rest are refused
    refused = next(exc for c, exc in results if c == 429)
    assert refused.response.headers["retry-after"] == "1"
    assert refused.body["type"] == "rate_limit_error" and "queue" in refused.body["message"]
    wait_idle(served)


def test_a_client_that_goes_away_stops_its_generation(served):
    before = metric_value(httpx.get(served.url + "/metrics").text, "tunelab_completion_tokens_total", model="tiny")
    body = {"model": "tiny", "messages": HELLO, "max_tokens": 4000, "temperature": 0, "stream": True,
            "tunelab_loop_guard": False}
    with httpx.stream("POST", served.v1 + "/chat/completions", json=body, timeout=60) as resp:
        lines = resp.iter_lines()
        seen = 0
        for line in lines:
            if line.startswith("data: ") and '"content"' in line:
                assert '"finish_reason":null' in line
                seen += 1
                if seen == 5:
                    break
        assert served.health()["running"] == 1  # still generating when we hang up
    assert wait_idle(served, timeout_s=3.0) < 2.0
    text = httpx.get(served.url + "/metrics").text
    assert metric_value(text, "tunelab_requests_cancelled_total") >= 1
    generated = metric_value(text, "tunelab_completion_tokens_total", model="tiny") - before
    assert 5 <= generated < 1000  # far from the 4000 asked for


def test_a_client_that_gives_up_waiting_stops_its_generation(served):
    """Not streaming: the client times out while the answer is being generated and hangs up."""
    body = {"model": "tiny", "messages": HELLO, "max_tokens": 4000, "temperature": 0,
            "tunelab_loop_guard": False}  # a long answer, even where the tiny model loops
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(served.v1 + "/chat/completions", json=body, timeout=httpx.Timeout(10, read=0.5))
    assert wait_idle(served, timeout_s=3.0) < 2.0
    text = httpx.get(served.url + "/metrics").text
    assert metric_value(text, "tunelab_requests_total", route="/v1/chat/completions", status="499") == 1


def test_api_keys_from_the_cli(served, monkeypatch):
    monkeypatch.setenv("TUNELAB_HOME", str(served.home))
    common.settings.cache_clear()
    common.store.cache_clear()
    cli = typer.Typer()
    cli.add_typer(keys.app, name="keys")
    run = lambda *args: CliRunner().invoke(cli, list(args), catch_exceptions=False)  # noqa: E731
    chat_url = served.v1 + "/chat/completions"
    body = {"model": "tiny", "messages": HELLO, "max_tokens": 2}
    try:
        assert httpx.post(chat_url, json=body).status_code == 200  # no key yet: open

        created = run("keys", "create", "ci-bot")
        assert created.exit_code == 0
        secret = created.stdout.strip().splitlines()[-1]
        assert secret.startswith("tl-") and len(secret) > 40
        assert "already exists" in run("keys", "create", "ci-bot").output
        listing = run("keys", "list").output
        assert "ci-bot" in listing and secret not in listing and "active" in listing
        time.sleep(1.1)  # the server trusts its last look at the key table for a second

        missing = httpx.post(chat_url, json=body)
        assert missing.status_code == 401 and missing.json()["error"]["code"] == "missing_api_key"
        wrong = httpx.post(chat_url, json=body, headers={"Authorization": "Bearer tl-wrongwrongwrong"})
        assert wrong.status_code == 401 and wrong.json()["error"]["type"] == "invalid_request_error"
        with pytest.raises(openai.AuthenticationError):
            openai.OpenAI(base_url=served.v1, api_key="nope", max_retries=0).models.list()
        authed = openai.OpenAI(base_url=served.v1, api_key=secret, max_retries=0)
        assert authed.chat.completions.create(model="tiny", messages=HELLO, max_tokens=2).choices
        assert httpx.get(served.url + "/health").status_code == 200  # stays open
        assert httpx.get(served.url + "/metrics").status_code == 200

        other = run("keys", "create", "ops").stdout.strip().splitlines()[-1]
        assert run("keys", "revoke", "ci-bot").exit_code == 0
        assert "revoked" in run("keys", "list").output
        time.sleep(1.1)
        revoked = httpx.post(chat_url, json=body, headers={"Authorization": f"Bearer {secret}"})
        assert revoked.status_code == 401 and revoked.json()["error"]["code"] == "invalid_api_key"
        assert httpx.post(chat_url, json=body, headers={"Authorization": f"Bearer {other}"}).status_code == 200
        assert run("keys", "revoke", "ci-bot").exit_code == 2  # already revoked
        assert run("keys", "revoke", "ops").exit_code == 0
        time.sleep(1.1)
        assert httpx.post(chat_url, json=body).status_code == 200  # no active key: open again
    finally:  # no active key left: the server is open again for the other tests
        common.settings.cache_clear()
        common.store.cache_clear()
