"""Scopes and rate limits over HTTP, on the tiny model: a route outside a key's scopes is a 403 in
OpenAI's shape naming the scope; a key past its requests or tokens a minute gets a 429 whose
Retry-After is what its bucket needs, and a generation's charge is corrected to its usage."""

from __future__ import annotations

import math
import time

import httpx
import pytest
from serve_harness import ServerThread

from tunelab.models.catalogue import Catalogue
from tunelab.serve.app import create_app
from tunelab.serve.auth import ApiKeys
from tunelab.settings import Settings
from tunelab.store import Store

HELLO = [{"role": "user", "content": "hello"}]
TPM = 120  # 2 tokens a second


@pytest.fixture(scope="module")
def server(tmp_path_factory, tiny_model_dir):
    settings = Settings(home=tmp_path_factory.mktemp("access") / "home", hub_offline=True)
    store = Store(settings)
    Catalogue(store).add("tiny", str(tiny_model_dir))
    keys = ApiKeys(store)
    srv = ServerThread(create_app(settings, model="tiny", engine="sequential", embeddings=False, workers=0))
    srv.secrets = {"ops": keys.create("ops", admin=True), "infer": keys.create("inf", scopes=["infer"]),
                   "train": keys.create("trn", scopes=["train"]), "rpm": keys.create("slow", rpm=3),
                   "tpm": keys.create("frugal", scopes=["infer"], tpm=TPM)}
    yield srv
    srv.stop()
    store.dispose()


def client(server, who: str) -> httpx.Client:
    return httpx.Client(base_url=server.v1, timeout=60, headers={"Authorization": f"Bearer {server.secrets[who]}"})


def test_routes_outside_a_keys_scopes_are_403_naming_the_scope(server):
    infer, train, ops = client(server, "infer"), client(server, "train"), client(server, "ops")
    chat = {"model": "tiny", "messages": HELLO, "max_tokens": 2}
    refused = infer.get("/jobs")
    err = refused.json()["error"]
    assert refused.status_code == 403 and err["code"] == "train_required" and err["type"] == "permission_error"
    assert "scope 'train'" in err["message"] and "inf" in err["message"]
    assert train.post("/chat/completions", json=chat).json()["error"]["code"] == "infer_required"
    assert train.post("/embeddings", json={"model": "x", "input": "a"}).status_code == 403
    assert infer.post("/keys", json={"name": "sneaky"}).json()["error"]["code"] == "admin_required"
    assert infer.post("/chat/completions", json=chat).status_code == 200
    assert train.get("/jobs").status_code == 200 and train.get("/datasets").status_code == 200
    for who in (infer, train):  # read-only routes stay open to any key
        assert who.get("/models").status_code == 200 and who.get("/system").status_code == 200
    assert ops.get("/keys").status_code == 200 and ops.post("/chat/completions", json=chat).status_code == 200
    listed = {k["name"]: k["scopes"] for k in ops.get("/keys").json()["data"]}
    assert listed["inf"] == ["infer"] and listed["ops"] == ["admin"]
    assert httpx.get(server.url + "/health").status_code == 200


def test_requests_a_minute_answer_429_with_the_buckets_wait(server):
    slow = client(server, "rpm")
    first = time.monotonic()
    assert [slow.get("/models").status_code for _ in range(3)] == [200, 200, 200]
    refused = slow.get("/models")
    elapsed = time.monotonic() - first
    assert refused.status_code == 429 and refused.json()["error"]["code"] == "rate_limit_exceeded"
    # 3 a minute: one back every 20 s after the first was taken
    assert math.ceil(20 - elapsed) <= int(refused.headers["Retry-After"]) <= 20
    assert "RPM" in refused.json()["error"]["message"]
    assert client(server, "infer").get("/models").status_code == 200  # other keys are not slowed


def test_tokens_a_minute_are_charged_max_tokens_then_the_usage(server):
    frugal = client(server, "tpm")
    bucket = server.app.state.rate_limits.bucket("frugal", "tpm", TPM)
    before = time.monotonic()
    done = frugal.post("/chat/completions", json={"model": "tiny", "messages": HELLO, "max_tokens": 60})
    assert done.status_code == 200
    used = done.json()["usage"]
    # charged prompt + 60 at admission, then corrected to the usage: the level is TPM - usage, plus
    # what refilled meanwhile (and at most TPM)
    level = bucket.level
    refill = (time.monotonic() - before) * TPM / 60
    assert min(TPM, TPM - used["total_tokens"]) - 1 <= level <= min(TPM, TPM - used["total_tokens"] + refill) + 1
    prompt = used["prompt_tokens"]
    # the whole bucket: refused until it has refilled what it lacks, at 2 tokens a second
    refused = frugal.post("/chat/completions", json={"model": "tiny", "messages": HELLO, "max_tokens": TPM - prompt})
    lacking = TPM - bucket.level
    assert refused.status_code == 429 and refused.json()["error"]["type"] == "tokens"
    assert lacking > 2 and abs(int(refused.headers["Retry-After"]) - math.ceil(lacking / 2)) <= 1
