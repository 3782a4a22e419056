"""The routes behind the Datasets and Train pages, over HTTP against a real server (tiny model, no
job worker): a dataset's records page by page, its statistics in the tiny model's tokens with the
histogram checked against lengths counted here, an upload error's line and field as data, the
recipe forms (the pydantic models' own schemas), validation with field paths, and the YAML it
returns trained by `tunelab train FILE` to the same config."""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys

import httpx
import pytest
import yaml
from serve_harness import ServerThread, make_lora
from transformers import AutoTokenizer

from tunelab.adapters import AdapterRegistry
from tunelab.models.catalogue import Catalogue
from tunelab.serve.app import create_app
from tunelab.settings import Settings
from tunelab.store import Store
from tunelab.train import SFTConfig, load_config, parse_config

QUESTIONS = ["hi", "what is the capital of France?", "a gift for my father, who likes tea and running shoes", "2+2?"]


def chat_lines(n: int) -> str:
    rows = [{"messages": [{"role": "user", "content": QUESTIONS[i % 4] + " " * (i % 3) + "x" * i},
                          {"role": "assistant", "content": f"answer {i}: " + "the quick brown fox " * (i % 5)}]}
            for i in range(n)]
    return "".join(json.dumps(r) + "\n" for r in rows)


@pytest.fixture(scope="module")
def served(tmp_path_factory, tiny_model_dir):
    home = tmp_path_factory.mktemp("recipes-api") / "home"
    settings = Settings(home=home, hub_offline=True)
    store = Store(settings)
    Catalogue(store).add("tiny", str(tiny_model_dir))
    no_worker = {"workers": 0} if "workers" in inspect.signature(create_app).parameters else {}
    server = ServerThread(create_app(settings, model="tiny", engine="sequential", embeddings=False, **no_worker))
    server.settings, server.store, server.model_dir = settings, store, tiny_model_dir
    server.client = httpx.Client(base_url=server.v1, timeout=60)
    r = server.client.post("/datasets", data={"name": "chat25"}, files={"file": ("chat.jsonl", chat_lines(25))})
    assert r.status_code == 201, r.text
    yield server
    server.client.close()
    server.stop()
    store.dispose()


def test_records_come_page_by_page(served):
    c = served.client
    first = c.get("/datasets/chat25/records", params={"limit": 10}).json()
    assert first["total"] == 25 and first["offset"] == 0 and len(first["data"]) == 10
    expected = [json.loads(line) for line in chat_lines(25).splitlines()]
    assert first["data"][3] == expected[3]  # TuneLab's own messages rows are the uploaded ones
    last = c.get("/datasets/chat25/records", params={"offset": 20, "limit": 10}).json()
    assert last["data"] == expected[20:]
    assert c.get("/datasets/chat25/records", params={"offset": 40}).json()["data"] == []
    bad = c.get("/datasets/chat25/records", params={"limit": 0})
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "query.limit"
    missing = c.get("/datasets/nope/records")
    assert missing.status_code == 404 and "chat25" in missing.json()["error"]["message"]


def test_stats_count_tokens_of_the_served_model_into_a_histogram(served):
    tok = AutoTokenizer.from_pretrained(served.model_dir)
    rows = [json.loads(line) for line in chat_lines(25).splitlines()]
    lengths = [len(tok.encode("\n".join(m["content"] for m in r["messages"]), add_special_tokens=False)) for r in rows]
    s = served.client.get("/datasets/chat25/stats", params={"bins": 6, "max_seq_len": 20}).json()
    assert s["count"] == 25 and s["kinds"] == {"chat": 25} and s["tokenizer"] == "tiny"
    assert s["lengths"]["min"] == min(lengths) and s["lengths"]["max"] == max(lengths)
    assert s["lengths"]["mean"] == pytest.approx(sum(lengths) / 25)
    edges, counts = s["histogram"]["edges"], s["histogram"]["counts"]
    assert len(counts) <= 6 and len(edges) == len(counts) + 1
    assert counts == [sum(lo <= x < hi for x in lengths) for lo, hi in zip(edges, edges[1:])]
    assert s["over_max_seq_len"] == sum(x > 20 for x in lengths) > 0
    again = served.client.get("/datasets/chat25/stats", params={"bins": 3}).json()  # from the cache
    assert sum(again["histogram"]["counts"]) == 25 and again["over_max_seq_len"] is None
    unknown = served.client.get("/datasets/chat25/stats", params={"model": "nope"})
    assert unknown.status_code == 404 and unknown.json()["error"]["param"] == "model"


def test_an_upload_error_gives_its_line_and_field_as_data(served):
    bad = chat_lines(3).splitlines()
    bad[1] = '{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant"}]}'
    r = served.client.post("/datasets", data={"name": "broken"}, files={"file": ("mine.jsonl", "\n".join(bad) + "\n")})
    assert r.status_code == 400
    err = r.json()["error"]
    assert err["message"] == "mine.jsonl line 2: field 'messages[1].content': missing"
    assert (err["param"], err["tunelab_line"], err["tunelab_file"], err["tunelab_reason"]) == (
        "messages[1].content", 2, "mine.jsonl", "missing")
    formats = served.client.get("/datasets/formats").json()
    assert {"name": "alpaca", "kind": "chat"} in formats["data"] and ".jsonl" in formats["suffixes"]


def test_recipe_forms_are_the_configs_own_schemas(served):
    forms = served.client.get("/recipes").json()
    assert [f["recipe"] for f in forms["data"]] == ["sft", "dpo", "classifier"]
    sft = forms["data"][0]
    assert sft["schema"] == json.loads(json.dumps(SFTConfig.model_json_schema()))
    assert sorted(n for g in sft["groups"] for n in g["fields"]) == sorted(set(SFTConfig.model_fields) - {"recipe"})
    assert "tiny" in forms["suggestions"]["base_model"] and "chat25" in forms["suggestions"]["dataset"]
    assert "alpaca" in forms["suggestions"]["dataset_format"]


def test_validate_names_fields_or_returns_the_normalised_recipe(served):
    c = served.client
    bad = c.post("/recipes/validate", json={"recipe": {"dataset": "chat25", "learning_rate": 0, "lora": {"r": 0},
                                                       "method": "lora"}}).json()
    assert bad["valid"] is False and bad["recipe"] is None and bad["yaml"] is None
    assert {e["path"]: e["message"] for e in bad["errors"]} == {
        "learning_rate": "Input should be greater than 0", "lora.r": "Input should be greater than or equal to 1"}
    cross = c.post("/recipes/validate", json={"recipe": {"dataset": "chat25", "method": "full", "lora": {}}}).json()
    assert [e["path"] for e in cross["errors"]] == ["method"]
    ok = c.post("/recipes/validate", json={"recipe": {"dataset": "chat25", "base_model": "tiny",
                                                      "method": "qlora"}}).json()
    assert ok["valid"] and ok["errors"] == [] and ok["warnings"] == []
    assert ok["recipe"]["quantization"] == "nf4" and ok["recipe"]["lora"]["r"] == 16
    assert parse_config(yaml.safe_load(ok["yaml"])).model_dump(mode="json") == ok["recipe"]
    folder = make_lora(served.model_dir, served.settings.home / "taken-files", seed=1)
    AdapterRegistry(served.store, served.settings).register("taken", kind="lora", path=folder, base_model="tiny")
    warned = c.post("/recipes/validate", json={"recipe": {"dataset": "nowhere.jsonl", "adapter_name": "taken",
                                                          "recipe": "dpo", "sft_adapter": "ghost",
                                                          "base_model": "ghost-model"}}).json()
    assert warned["valid"] and {w["path"] for w in warned["warnings"]} == {
        "dataset", "base_model", "sft_adapter", "adapter_name"}
    not_object = c.post("/recipes/validate", json={"recipe": "sft"})
    assert not_object.status_code == 400 and not_object.json()["error"]["param"] == "recipe"


def test_the_yaml_trains_with_the_cli(served, tmp_path):
    recipe = {"dataset": "chat25", "base_model": "tiny", "max_steps": 2, "batch_size": 4, "save_every": 100,
              "adapter_name": "from-yaml", "lora": {"r": 4, "target_modules": ["q_proj", "v_proj"]}}
    ok = served.client.post("/recipes/validate", json={"recipe": recipe}).json()
    assert ok["valid"], ok
    path = tmp_path / "from-yaml.yaml"
    path.write_text(ok["yaml"])
    assert load_config(path).model_dump(mode="json") == ok["recipe"]
    env = {**os.environ, "TUNELAB_HOME": str(served.settings.home), "TUNELAB_HUB_OFFLINE": "1"}
    done = subprocess.run([sys.executable, "-m", "tunelab", "train", str(path)], env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    info = AdapterRegistry(served.store, served.settings).get("from-yaml")
    assert info.lineage["config"] == ok["recipe"]


def test_the_new_routes_are_in_the_openapi_document(served):
    spec = httpx.get(served.url + "/openapi.json").json()
    paths = spec["paths"]
    for path, method in [("/v1/recipes", "get"), ("/v1/recipes/validate", "post"), ("/v1/datasets/formats", "get"),
                         ("/v1/datasets/{name}/records", "get"), ("/v1/datasets/{name}/stats", "get")]:
        assert method in paths.get(path, {}), (path, method)
    assert {"RecipeForms", "RecipeValidation", "DatasetRecords", "DatasetStatistics"} <= set(spec["components"]["schemas"])
