"""The routes behind the Adapters, Evals and Collections pages, over HTTP on a real uvicorn server
(tiny model, no job worker, an API key): GET /v1/lineage (base -> SFT -> DPO -> merge, a missing
parent), GET /v1/collections/{name}, POST /v1/collections/{name}/search in every mode (and after
another process added documents), POST /v1/rag/uploads (names made safe, kept under the home dir),
export jobs without a folder, and eval jobs with a gate that cannot be parsed."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import httpx
import pytest
from serve_harness import ServerThread, make_lora

from tunelab.adapters import AdapterRegistry
from tunelab.models.catalogue import Catalogue
from tunelab.rag import ingest
from tunelab.serve.app import create_app
from tunelab.serve.auth import ApiKeys
from tunelab.settings import Settings
from tunelab.store import Store

DOCS = {
    "returns.md": "# Returns\n\nReturn any item within 30 days of delivery for a full refund.\n",
    "shipping.md": "# Shipping\n\nStandard shipping takes 3 to 5 business days; express arrives the next day.\n",
}


@pytest.fixture(scope="module")
def served(tmp_path_factory, tiny_model_dir):
    root = tmp_path_factory.mktemp("registry-routes")
    settings = Settings(home=root / "home", hub_offline=True)
    store = Store(settings)
    Catalogue(store).add("tiny", str(tiny_model_dir))
    secret = ApiKeys(store).create("carol")
    server = ServerThread(create_app(settings, model="tiny", engine="sequential", embeddings=False, workers=0))
    server.settings, server.store, server.root = settings, store, root
    server.api = httpx.Client(base_url=server.v1, timeout=120, headers={"Authorization": f"Bearer {secret}"})
    yield server
    server.api.close()
    server.stop()
    store.dispose()


def test_lineage_is_a_graph_of_bases_and_adapters(served, tiny_model_dir):
    registry = AdapterRegistry(served.store, served.settings)
    folder = make_lora(tiny_model_dir, served.root / "lora", seed=1)
    datasets = [{"name": "shop", "hash": "ab" * 32, "records": 8, "role": "train"}]
    registry.register("sft-a", kind="lora", path=folder, base_model="tiny",
                      lineage={"recipe": "sft", "config": {"method": "qlora"}, "datasets": datasets})
    registry.register("dpo-a", kind="lora", path=folder, base_model="tiny",
                      lineage={"recipe": "dpo", "parents": ["sft-a"], "datasets": datasets})
    registry.register("mix", kind="lora", path=folder, base_model="tiny",
                      lineage={"parents": ["sft-a", "dpo-a"], "method": "ties", "weights": [0.7, 0.3]})
    registry.register("orphan", kind="lora", path=folder, base_model="tiny",
                      lineage={"parents": ["gone", "sft-a"], "method": "linear", "weights": [0.5, 0.5]})
    registry.register("plain", kind="lora", path=folder, base_model="tiny")

    assert httpx.get(served.v1 + "/lineage", timeout=10).status_code == 401  # a key is needed
    g = served.api.get("/lineage").json()
    nodes = {n["id"]: n for n in g["nodes"]}
    assert [n["id"] for n in g["nodes"]] == ["tiny", "sft-a", "dpo-a", "mix", "orphan", "plain", "gone"]
    assert nodes["tiny"]["type"] == "base" and nodes["gone"]["type"] == "missing"
    assert [(nodes[i]["made_by"], nodes[i]["method"]) for i in ("sft-a", "dpo-a", "mix", "plain")] == [
        ("sft", "qlora"), ("dpo", None), ("merge", "ties"), ("registered", None)]
    edges = {(e["source"], e["target"]): (e["relation"], e["weight"]) for e in g["edges"]}
    assert edges == {("tiny", "sft-a"): ("sft", None), ("sft-a", "dpo-a"): ("dpo", None),
                     ("sft-a", "mix"): ("merge", 0.7), ("dpo-a", "mix"): ("merge", 0.3),
                     ("gone", "orphan"): ("merge", 0.5), ("sft-a", "orphan"): ("merge", 0.5),
                     ("tiny", "plain"): ("registered", None)}
    # the detail the page shows next to the graph: data hashes and parents
    detail = served.api.get("/adapters/dpo-a").json()
    assert detail["parents"] == ["sft-a"] and detail["lineage"]["datasets"][0]["hash"] == "ab" * 32


def test_export_job_without_a_folder_goes_under_the_home(served):
    job = served.api.post("/jobs", json={"kind": "export", "config": {"adapter": "sft-a"}}).json()
    assert job["config"]["out"] == str(served.settings.home / "exports" / "sft-a")
    merged = served.api.post("/jobs", json={"kind": "export", "config": {"adapter": "sft-a", "merged": True}}).json()
    assert merged["config"]["out"] == str(served.settings.home / "exports" / "sft-a-merged")
    mine = served.settings.home / "mine" / "x"
    kept = served.api.post("/jobs", json={"kind": "export", "config": {"adapter": "sft-a", "out": str(mine)}}).json()
    assert kept["config"]["out"] == str(mine)
    elsewhere = served.api.post("/jobs", json={"kind": "export", "config": {"adapter": "sft-a", "out": "/tmp/x"}})
    assert elsewhere.status_code == 403 and elsewhere.json()["error"]["param"] == "config.out"  # outside the home


def test_eval_job_with_a_gate_that_cannot_be_parsed_is_refused(served):
    r = served.api.post("/jobs", json={"kind": "eval", "config": {"eval": {
        "task": "qa", "models": ["tiny"], "gate": ["f1 >= baseline +"]}}})
    assert r.status_code == 400
    err = r.json()["error"]
    assert err["param"] == "gate" and "ends too early" in err["message"]
    ok = served.api.post("/jobs", json={"kind": "eval", "config": {"eval": {
        "task": "qa", "models": ["tiny"], "gate": ["f1 >= baseline + 0.02"]}}})
    assert ok.status_code == 201


def _search(served, name, query, mode, k=3):
    return served.api.post(f"/collections/{name}/search", json={"query": query, "mode": mode, "k": k})


def test_search_every_mode_detail_and_a_collection_changed_by_another_process(served):
    docs = served.root / "docs"
    docs.mkdir()
    for name, text in DOCS.items():
        (docs / name).write_text(text)
    ingest([str(docs / n) for n in DOCS], "help", settings=served.settings, store=served.store, progress=False)

    results = {m: _search(served, "help", "how do I get a refund", m).json() for m in ("dense", "bm25", "hybrid")}
    assert {m: r["score_kind"] for m, r in results.items()} == {
        "dense": "cosine similarity", "bm25": "BM25 score", "hybrid": "reciprocal rank fusion score"}
    for mode, r in results.items():
        assert r["hits"][0]["source"].endswith("returns.md"), (mode, r["hits"])
        assert [h["rank"] for h in r["hits"]] == list(range(1, len(r["hits"]) + 1))
        assert all(a["score"] >= b["score"] for a, b in zip(r["hits"], r["hits"][1:]))
    assert 0 < results["dense"]["hits"][0]["score"] <= 1  # cosine similarity
    assert results["hybrid"]["hits"][0]["score"] == pytest.approx(2 / 61)  # first in both lists: 2 / (60 + 1)
    assert results["bm25"]["hits"][0]["title"] == "Returns"
    assert len(_search(served, "help", "shipping days", "dense", k=1).json()["hits"]) == 1

    detail = served.api.get("/collections/help").json()
    assert detail["documents"] == 2 and [d["source"].rsplit("/", 1)[-1] for d in detail["document_list"]] == sorted(DOCS)
    assert {r["source"].rsplit("/", 1)[-1] for r in detail["reports"]} == set(DOCS)
    assert all(r["counts"]["added"] == 1 for r in detail["reports"])

    # another process (as an ingest job is) adds a document; this server's next search sees it
    (docs / "warranty.md").write_text("# Warranty\n\nEvery device has a two-year warranty against defects.\n")
    env = {**os.environ, "TUNELAB_HOME": str(served.settings.home), "TUNELAB_HUB_OFFLINE": "1"}
    subprocess.run([sys.executable, "-m", "tunelab", "ingest", str(docs / "warranty.md"), "--collection", "help"],
                   env=env, check=True, capture_output=True, timeout=300)
    for mode in ("dense", "bm25", "hybrid"):
        top = _search(served, "help", "two-year warranty on devices", mode).json()["hits"][0]
        assert top["source"].endswith("warranty.md"), (mode, top)


def test_search_errors_name_what_is_wrong(served):
    missing = _search(served, "nope", "refund", "bm25")
    assert missing.status_code == 404 and "help" in missing.json()["error"]["message"]  # lists the collections
    assert served.api.get("/collections/nope").status_code == 404
    bad_mode = _search(served, "help", "refund", "fuzzy")
    assert bad_mode.status_code == 400 and bad_mode.json()["error"]["param"] == "mode"
    assert _search(served, "help", "", "bm25").json()["error"]["param"] == "query"
    assert _search(served, "help", "refund", "bm25", k=0).json()["error"]["param"] == "k"
    bad_filter = served.api.post("/collections/help/search", json={"query": "x", "filters": {"price_min": 9, "price_max": 1}})
    assert bad_filter.status_code == 400 and "price_min" in bad_filter.json()["error"]["message"]


def test_uploads_are_kept_under_the_home_with_safe_names(served):
    files = [("files", ("../../etc/passwd", b"root\n")), ("files", (".hidden.md", b"# h\n")),
             ("files", ("a.md", b"# one\n")), ("files", ("a.md", b"# two\n"))]
    r = served.api.post("/rag/uploads", files=files)
    assert r.status_code == 201, r.text
    body = r.json()
    uploads = (served.settings.home / "rag" / "uploads").resolve()
    assert [f["name"] for f in body["data"]] == ["passwd", "hidden.md", "a.md", "a-2.md"]
    for f in body["data"]:
        path = (uploads / body["folder"]).resolve() / f["name"]
        assert str(path) == f["path"] and path.is_relative_to(uploads) and path.is_file()
    assert [open(f["path"], "rb").read() for f in body["data"]][2:] == [b"# one\n", b"# two\n"]

    before = sorted(p.name for p in uploads.iterdir())
    bad = served.api.post("/rag/uploads", files=[("files", ("fine.md", b"x")), ("files", ("...", b"y"))])
    assert bad.status_code == 400 and "no usable file name" in bad.json()["error"]["message"]
    assert sorted(p.name for p in uploads.iterdir()) == before  # nothing left behind
    assert served.api.post("/rag/uploads", files=[]).status_code == 400

    # what the page then does: an ingest job over the uploaded paths
    job = served.api.post("/jobs", json={"kind": "ingest", "config": {
        "collection": "uploaded", "sources": [f["path"] for f in body["data"]]}})
    assert job.status_code == 201 and job.json()["config"]["sources"][0].startswith(str(uploads))


def test_openapi_lists_the_new_routes_with_typed_models(served):
    spec = httpx.get(served.url + "/openapi.json", timeout=10).json()
    paths = spec["paths"]
    for path, method, model in [("/v1/lineage", "get", "Lineage"),
                                ("/v1/collections/{name}", "get", "CollectionDetail"),
                                ("/v1/collections/{name}/search", "post", "SearchResult"),
                                ("/v1/rag/uploads", "post", "UploadList")]:
        ok = paths[path][method]["responses"].get("200") or paths[path][method]["responses"]["201"]
        assert f'"#/components/schemas/{model}"' in json.dumps(ok), (path, ok)
    assert "SearchRequest" in json.dumps(paths["/v1/collections/{name}/search"]["post"]["requestBody"])
