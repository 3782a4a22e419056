"""The settings routes over HTTP: API keys and upstreams, admin only; a new key's secret is
answered once; an upstream's key is shown masked; bad input is a 400 that names it."""

from __future__ import annotations

import httpx
import pytest
from serve_harness import ServerThread

from tunelab.models.catalogue import Catalogue
from tunelab.serve.app import create_app
from tunelab.serve.auth import ApiKeys
from tunelab.settings import Settings
from tunelab.store import Store


@pytest.fixture(scope="module")
def server(tmp_path_factory, tiny_model_dir):
    settings = Settings(home=tmp_path_factory.mktemp("settings-api") / "home", hub_offline=True)
    store = Store(settings)
    Catalogue(store).add("tiny", str(tiny_model_dir))
    srv = ServerThread(create_app(settings, model="tiny", engine="sequential", embeddings=False, workers=0))
    srv.store = store
    yield srv
    srv.stop()
    store.dispose()


def test_keys_and_upstreams_over_http(server):
    open_ = httpx.Client(base_url=server.v1, timeout=30)
    assert open_.get("/keys").json()["data"] == []  # open server: the local caller is the admin
    made = open_.post("/keys", json={"name": "ops", "admin": True})
    assert made.status_code == 201 and made.json()["secret"].startswith("tl-")
    assert open_.get("/keys").status_code == 401  # now it needs a key
    ops = httpx.Client(base_url=server.v1, timeout=30, headers={"Authorization": f"Bearer {made.json()['secret']}"})
    listed = ops.get("/keys").json()["data"]
    assert [k["name"] for k in listed] == ["ops"] and "secret" not in listed[0]
    user = ops.post("/keys", json={"name": "bob"}).json()
    assert ops.post("/keys", json={"name": "bob"}).status_code == 400  # taken
    assert ops.post("/keys", json={"name": "no spaces"}).json()["error"]["message"].startswith("Key name")
    bob = httpx.Client(base_url=server.v1, timeout=30, headers={"Authorization": f"Bearer {user['secret']}"})
    refused = bob.get("/keys")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "admin_required"
    assert bob.post("/upstreams", json={"name": "x", "base_url": "http://h/v1"}).status_code == 403

    up = ops.post("/upstreams", json={"name": "vllm-box", "base_url": "http://127.0.0.1:9/v1",
                                      "api_key": "sk-very-secret", "models": ["m1"], "kind": "vllm"})
    assert up.status_code == 201 and up.json()["api_key"] == "sk-v..." and up.json()["models"] == ["m1"]
    assert ops.post("/upstreams", json={"name": "bad", "base_url": "ftp://h"}).status_code == 400
    assert [u["name"] for u in ops.get("/upstreams").json()["data"]] == ["vllm-box"]
    assert ops.delete("/upstreams/vllm-box").status_code == 200
    assert ops.delete("/upstreams/vllm-box").status_code == 404
    assert ops.get("/upstreams").json()["data"] == []

    assert ops.post("/keys/bob/revoke").json()["active"] is False
    assert bob.get("/models").status_code == 401
    ApiKeys(server.store).revoke("ops")  # leave the module's server as it was found: open
