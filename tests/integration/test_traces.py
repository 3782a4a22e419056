"""Request traces on a real server (tiny model, one adapter, two keys): only what TUNELAB_TRACE
selects is stored (a model rule, a key rule), redacted before it is written, with its tokens and
finish reason; chat streamed or not, completions and QA; /v1/traces is admin only; and an export by
the CLI is a dataset that `tunelab data validate` and the loader read."""

from __future__ import annotations

import json

import httpx
import pytest
from serve_harness import ServerThread, make_lora
from typer.testing import CliRunner

from tunelab.adapters import AdapterRegistry
from tunelab.cli import app as cli_app
from tunelab.cli import common
from tunelab.data.loader import load_dataset
from tunelab.data.redact import Redactor
from tunelab.models.catalogue import Catalogue
from tunelab.serve.app import create_app
from tunelab.serve.auth import ApiKeys
from tunelab.settings import Settings
from tunelab.store import TRACES, Store

SECRET = "Mail jane.doe@example.com, card 4111-1111-1111-1111, call +44 20 7946 0958, order ORD-99812."


@pytest.fixture(scope="module")
def served(tmp_path_factory, tiny_model_dir):
    home = tmp_path_factory.mktemp("traces") / "home"
    settings = Settings(home=home, hub_offline=True, trace="model:shop,key:ci", trace_redact=[r"ORD-\d+"])
    store = Store(settings)
    Catalogue(store).add("tiny", str(tiny_model_dir))
    AdapterRegistry(store, settings).register("shop", kind="lora", base_model="tiny",
                                              path=make_lora(tiny_model_dir, home / "loras" / "shop", seed=1))
    keys = ApiKeys(store)
    secrets = {"ci": keys.create("ci"), "ops": keys.create("ops", admin=True)}
    server = ServerThread(create_app(settings, model="tiny", engine="sequential", embeddings=False))
    server.store, server.home = store, home
    server.as_ = {n: httpx.Client(base_url=server.v1, timeout=60, headers={"Authorization": f"Bearer {s}"})
                  for n, s in secrets.items()}
    yield server
    for c in server.as_.values():
        c.close()
    server.stop()
    store.dispose()


def chat(client, model: str, content: str, **kw) -> httpx.Response:
    r = client.post("/chat/completions", json={"model": model, "max_tokens": 6, "temperature": 0,
                                               "messages": [{"role": "user", "content": content}], **kw})
    assert r.status_code == 200, r.text
    return r


def test_selected_requests_are_traced_redacted(served):
    ci, ops = served.as_["ci"], served.as_["ops"]
    chat(ops, "tiny", "not traced: ops on the base model")
    by_model = chat(ops, "shop", "traced by the model rule").json()
    by_key = chat(ci, "tiny", SECRET, response_format={"type": "json_object"}).json()
    streamed = chat(ci, "tiny", "streamed", stream=True).text
    assert "[DONE]" in streamed
    r = ci.post("/completions", json={"model": "tiny", "prompt": "Once upon", "max_tokens": 4, "temperature": 0})
    assert r.status_code == 200
    qa = ci.post("/tasks/qa", json={"model": "tiny", "question": "Is it waterproof?", "max_tokens": 8,
                                    "context": ["It is waterproof to 10 m.", "Write to bob@shop.example."]})
    assert qa.status_code == 200, qa.text

    rows, total = TRACES.page(served.store, limit=None)
    assert total == 5
    kinds = {(r.kind, r.model, r.caller): r for r in rows}
    assert set(kinds) == {("chat", "shop", "ops"), ("chat", "tiny", "ci"), ("completion", "tiny", "ci"),
                          ("qa", "tiny", "ci")} and len([r for r in rows if r.kind == "chat"]) == 3
    model_row = kinds[("chat", "shop", "ops")]
    assert model_row.adapter == "shop"
    assert model_row.response == by_model["choices"][0]["message"]["content"]
    assert model_row.prompt_tokens == by_model["usage"]["prompt_tokens"]
    assert model_row.completion_tokens == by_model["usage"]["completion_tokens"]
    assert model_row.finish_reason == by_model["choices"][0]["finish_reason"] and model_row.latency_ms > 0

    secret_row = next(r for r in rows if r.prompt[-1]["content"].startswith("Mail"))
    assert secret_row.prompt[-1]["content"] == "Mail [EMAIL], card [CARD], call [PHONE], order [REDACTED]."
    assert secret_row.constraint == {"kind": "json_object"}
    assert secret_row.response == Redactor([r"ORD-\d+"]).redact(by_key["choices"][0]["message"]["content"])
    stream_row = next(r for r in rows if r.prompt[-1]["content"] == "streamed")
    chunks = [json.loads(line[6:]) for line in streamed.splitlines() if line.startswith("data: {")]
    assert stream_row.response == "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert stream_row.finish_reason == next(c["choices"][0]["finish_reason"] for c in chunks
                                            if c["choices"] and c["choices"][0]["finish_reason"])

    qa_row = kinds[("qa", "tiny", "ci")]
    assert qa_row.response == qa.json()["answer"]
    assert [s["text"] for s in qa_row.sources] == ["It is waterproof to 10 m.", "Write to [EMAIL]."]
    completion_row = kinds[("completion", "tiny", "ci")]
    assert completion_row.prompt == [{"role": "user", "content": "Once upon"}]
    assert completion_row.response == r.json()["choices"][0]["text"]


def test_traces_route_is_admin_only(served):
    assert served.as_["ci"].get("/traces").status_code == 403
    listed = served.as_["ops"].get("/traces", params={"kind": "qa"}).json()
    assert listed["total"] == 1 and listed["data"][0]["kind"] == "qa"
    one = served.as_["ops"].get(f"/traces/{listed['data'][0]['id']}").json()
    assert one["sources"][0]["text"] == "It is waterproof to 10 m."
    assert served.as_["ops"].get("/traces/nope").status_code == 404


def test_export_is_a_chat_dataset(served, tmp_path, monkeypatch):
    monkeypatch.setenv("TUNELAB_HOME", str(served.home))
    common.settings.cache_clear()
    common.store.cache_clear()
    runner = CliRunner()
    try:
        listed = runner.invoke(cli_app, ["traces", "list", "--key", "ci"])
        assert listed.exit_code == 0 and "4 of 4 traces" in listed.output
        out = tmp_path / "traces.jsonl"
        exported = runner.invoke(cli_app, ["traces", "export", str(out), "--kind", "chat"])
        assert exported.exit_code == 0, exported.output
        valid = runner.invoke(cli_app, ["data", "validate", str(out)])
        assert valid.exit_code == 0, valid.output
        assert "messages" in valid.output
        records = list(load_dataset(out))
        rows, _ = TRACES.page(served.store, kind="chat", limit=None)
        assert [r.messages[-1].content for r in records] == [r.response for r in reversed(rows)]
        assert records[0].messages[-2].content == "traced by the model rule"
        shown = runner.invoke(cli_app, ["traces", "show", rows[0].id])
        assert json.loads(shown.output)["id"] == rows[0].id
        assert runner.invoke(cli_app, ["traces", "show", "nope"]).exit_code == 2
    finally:
        common.settings.cache_clear()
        common.store.cache_clear()
