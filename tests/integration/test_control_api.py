"""The control API as a client sees it: a real uvicorn server on loopback (tiny model, no job
worker, so queued jobs stay queued) with three API keys (alice, bob, and the admin ops), driven over
HTTP: the job queue (submit, list, filter, page, move, cancel, retry, log, the SSE event stream and
its resumption), dataset uploads, and the read side of runs, adapters, evals and collections."""

from __future__ import annotations

import inspect
import json
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from serve_harness import ServerThread

from tunelab.adapters import AdapterRegistry
from tunelab.eval.report import write_report
from tunelab.eval.results import EvalResult
from tunelab.eval.runs import save_run
from tunelab.jobs.service import log_path
from tunelab.models.catalogue import Catalogue
from tunelab.rag.registry import CollectionRegistry
from tunelab.serve.app import create_app
from tunelab.serve.auth import ApiKeys
from tunelab.settings import Settings
from tunelab.store import JOBS, Store, utcnow
from tunelab.train.runs import RunRecorder

INGEST = {"sources": ["docs/"], "collection": "manuals"}
GOOD_JSONL = ('{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]}\n'
              '{"messages": [{"role": "user", "content": "2+2?"}, {"role": "assistant", "content": "4"}]}\n')
BAD_JSONL = ('{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]}\n'
             '{"messages": [{"role": "user"}, {"role": "assistant", "content": "4"}]}\n')


@pytest.fixture(scope="module")
def served(tmp_path_factory, tiny_model_dir):
    home = tmp_path_factory.mktemp("control-api") / "home"
    settings = Settings(home=home, hub_offline=True, allowed_paths=str(Path.cwd()))  # INGEST reads docs/
    store = Store(settings)
    Catalogue(store).add("tiny", str(tiny_model_dir))
    keys = ApiKeys(store)
    secrets = {"alice": keys.create("alice"), "bob": keys.create("bob"), "ops": keys.create("ops", admin=True)}
    no_worker = {"workers": 0} if "workers" in inspect.signature(create_app).parameters else {}
    server = ServerThread(create_app(settings, model="tiny", engine="sequential", embeddings=False, **no_worker))
    server.settings, server.store = settings, store
    server.as_ = {name: httpx.Client(base_url=server.v1, timeout=30, headers={"Authorization": f"Bearer {s}"})
                  for name, s in secrets.items()}
    yield server
    for c in server.as_.values():
        c.close()
    server.stop()
    store.dispose()


@pytest.fixture(scope="module")
def alice(served):
    return served.as_["alice"]


@pytest.fixture(scope="module")
def bob(served):
    return served.as_["bob"]


@pytest.fixture(scope="module")
def ops(served):
    return served.as_["ops"]


def submit(client, kind="ingest", config=INGEST, **kw) -> dict:
    r = client.post("/jobs", json={"kind": kind, "config": config, **kw})
    assert r.status_code == 201, r.text
    return r.json()


def test_keys_list_shows_the_admin_flag(served):
    assert {k.name: k.admin for k in ApiKeys(served.store).list()} == {"alice": False, "bob": False, "ops": True}


def test_submit_list_filter_page_move_cancel_and_retry(alice):
    before = alice.get("/jobs", params={"status": "queued"}).json()["total"]
    jobs = [submit(alice, config={**INGEST, "collection": f"c{i}"}) for i in range(3)]
    export = submit(alice, "export", {"adapter": "shop"})  # out: under the home
    assert [j["status"] for j in jobs] == ["queued"] * 3
    assert jobs[0]["owner"] == "alice" and jobs[0]["config"]["collection"] == "c0"
    assert jobs[0]["config"]["max_depth"] == 2  # normalized: the defaults it will run with
    assert [j["position"] for j in jobs] == [before + 1, before + 2, before + 3]

    got = alice.get(f"/jobs/{jobs[1]['id']}").json()
    assert got["id"] == jobs[1]["id"] and got["kind"] == "ingest" and got["position"] == before + 2

    page = alice.get("/jobs", params={"kind": "ingest", "limit": 2, "offset": 0}).json()
    assert page["total"] >= 3 and [j["id"] for j in page["data"]] == [jobs[2]["id"], jobs[1]["id"]]  # newest first
    page2 = alice.get("/jobs", params={"kind": "ingest", "limit": 2, "offset": 2}).json()
    assert page2["data"][0]["id"] == jobs[0]["id"]
    exports = alice.get("/jobs", params={"kind": "export"}).json()
    assert [j["id"] for j in exports["data"]] == [export["id"]] and exports["total"] == 1

    moved = alice.post(f"/jobs/{jobs[2]['id']}/move", json={"to": 1}).json()
    assert moved["position"] == 1
    assert alice.get(f"/jobs/{jobs[0]['id']}").json()["position"] == before + 2
    assert alice.post(f"/jobs/{jobs[2]['id']}/move", json={"to": 0}).status_code == 400  # positions start at 1

    r = alice.post(f"/jobs/{jobs[0]['id']}/retry")  # queued: only failed or cancelled jobs are retried
    assert r.status_code == 409 and r.json()["error"]["code"] == "job_state"
    cancelled = alice.post(f"/jobs/{jobs[0]['id']}/cancel").json()
    assert cancelled["status"] == "cancelled" and cancelled["position"] is None and cancelled["finished_at"]
    assert alice.post(f"/jobs/{jobs[0]['id']}/move", json={"to": 1}).status_code == 409
    queued = alice.get("/jobs", params={"status": "queued"}).json()
    assert jobs[0]["id"] not in [j["id"] for j in queued["data"]] and queued["total"] == before + 3
    assert alice.get("/jobs", params={"status": "cancelled"}).json()["data"][0]["id"] == jobs[0]["id"]
    retried = alice.post(f"/jobs/{jobs[0]['id']}/retry").json()
    assert retried["status"] == "queued" and retried["position"] == before + 4 and retried["error"] is None

    missing = alice.get("/jobs/job-nope")
    assert missing.status_code == 404 and missing.json()["error"]["type"] == "not_found_error"
    assert alice.get("/jobs", params={"status": "sleeping"}).status_code == 400


def test_a_bad_config_is_a_400_naming_the_field_and_queues_nothing(alice, ops):
    total = ops.get("/jobs").json()["total"]
    r = alice.post("/jobs", json={"kind": "ingest", "config": {**INGEST, "chunk_size": 0}})
    assert r.status_code == 400
    err = r.json()["error"]
    assert err["param"] == "chunk_size" and err["code"] == "invalid_job_config" and "chunk_size" in err["message"]
    r = alice.post("/jobs", json={"kind": "ingest", "config": {**INGEST, "colour": "red"}})
    assert r.status_code == 400 and r.json()["error"]["param"] == "colour"
    r = alice.post("/jobs", json={"kind": "bake", "config": {}})
    assert r.status_code == 400 and r.json()["error"]["param"] == "kind" and "train" in r.json()["error"]["message"]
    r = alice.post("/jobs", json={"kind": "train", "config": {"recipe": {"recipe": "sft", "lr": "fast"}}})
    assert r.status_code == 400 and r.json()["error"]["param"]
    assert ops.get("/jobs").json()["total"] == total


def test_a_key_sees_and_cancels_only_its_own_jobs_unless_admin(served, alice, bob, ops):
    mine = submit(alice)
    assert bob.get(f"/jobs/{mine['id']}").status_code == 404
    assert bob.post(f"/jobs/{mine['id']}/cancel").status_code == 404
    assert bob.get(f"/jobs/{mine['id']}/log").status_code == 404
    assert bob.get(f"/jobs/{mine['id']}/events").status_code == 404
    assert mine["id"] not in [j["id"] for j in bob.get("/jobs", params={"limit": 500}).json()["data"]]
    theirs = submit(bob)
    bobs = bob.get("/jobs").json()
    assert bobs["total"] == 1 and [j["id"] for j in bobs["data"]] == [theirs["id"]]
    assert alice.get(f"/jobs/{mine['id']}").json()["status"] == "queued"  # bob's cancel did nothing

    everyone = ops.get("/jobs", params={"limit": 500}).json()
    assert {mine["id"], theirs["id"]} <= {j["id"] for j in everyone["data"]}
    assert ops.get(f"/jobs/{mine['id']}").json()["owner"] == "alice"
    assert ops.post(f"/jobs/{mine['id']}/cancel").json()["status"] == "cancelled"
    assert httpx.get(served.v1 + "/jobs").status_code == 401  # no key: refused


def read_events(client, path, **kw) -> list[dict]:
    """The whole event stream at `path` until the server ends it: [{"id", "event", "data"}]."""
    events, block = [], {}
    with client.stream("GET", path, timeout=60, **kw) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        for line in r.iter_lines():
            if not line:
                if block:
                    events.append(block)
                block = {}
            elif line.startswith(":"):
                continue
            else:
                field, _, value = line.partition(": ")
                block[field] = int(value) if field == "id" else json.loads(value) if field == "data" else value
    return events


def test_events_stream_to_the_end_and_resume_from_last_event_id(served, alice):
    store = served.store
    job = submit(alice, "quickstart", {"max_steps": 1}, priority=1000)
    JOBS.add_events(store, job["id"], [("log", {"line": "preparing"})])
    claimed = JOBS.claim(store, "test-worker", stale_before=utcnow() - timedelta(hours=1), kinds=["quickstart"])
    assert claimed is not None and claimed.id == job["id"]
    r = alice.post(f"/jobs/{job['id']}/retry")  # running
    assert r.status_code == 409 and "running" in r.json()["error"]["message"]

    with ThreadPoolExecutor(1) as pool:  # a client reading live while the job goes on
        live = pool.submit(read_events, alice, f"/jobs/{job['id']}/events")
        time.sleep(1.0)
        assert not live.done()  # the job is running: the stream waits for more
        JOBS.add_events(store, job["id"], [("metric", {"step": 1, "train_loss": 2.5}), ("log", {"line": "step 1"})])
        time.sleep(0.8)
        JOBS.add_events(store, job["id"], [("metric", {"step": 2, "train_loss": 2.0})])
        JOBS.finish(store, job["id"], "succeeded", worker="test-worker")
        events = live.result(timeout=30)

    kinds = [(e["event"], e["data"].get("status") or e["data"].get("line") or e["data"].get("step")) for e in events]
    assert kinds == [("status", "queued"), ("log", "preparing"), ("status", "running"), ("metric", 1),
                     ("log", "step 1"), ("metric", 2), ("status", "succeeded")]
    ids = [e["id"] for e in events]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert events[3]["data"] == {"step": 1, "train_loss": 2.5}

    resumed = read_events(alice, f"/jobs/{job['id']}/events", headers={"Last-Event-ID": str(ids[2])})
    assert resumed == events[3:]  # exactly where it stopped: nothing lost, nothing twice
    assert read_events(alice, f"/jobs/{job['id']}/events", params={"after": ids[4]}) == events[5:]
    assert read_events(alice, f"/jobs/{job['id']}/events", headers={"Last-Event-ID": str(ids[-1])}) == []
    assert alice.get(f"/jobs/{job['id']}").json()["status"] == "succeeded"


def test_the_log_is_read_from_an_offset(served, alice):
    job = submit(alice)
    assert alice.get(f"/jobs/{job['id']}/log").json() == {"text": "", "next_offset": 0}
    path = log_path(served.settings, job["id"])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("line one\nline two\n")
    first = alice.get(f"/jobs/{job['id']}/log").json()
    assert first == {"text": "line one\nline two\n", "next_offset": 18}
    assert alice.get(f"/jobs/{job['id']}/log", params={"offset": 18}).json() == {"text": "", "next_offset": 18}
    with path.open("a") as f:
        f.write("line three\n")
    assert alice.get(f"/jobs/{job['id']}/log", params={"offset": 9}).json() == {
        "text": "line two\nline three\n", "next_offset": 29}
    assert alice.get(f"/jobs/{job['id']}/log", params={"offset": -1}).status_code == 400


def test_dataset_upload_good_and_bad(served, alice):
    datasets_dir = served.settings.home / "datasets"
    before = alice.get("/datasets").json()["data"]
    bad = alice.post("/datasets", data={"name": "broken"}, files={"file": ("chat.jsonl", BAD_JSONL.encode())})
    assert bad.status_code == 400, bad.text
    err = bad.json()["error"]
    assert err["message"] == "chat.jsonl line 2: field 'messages[0].content': missing"
    assert err["param"] == "messages[0].content" and err["code"] == "invalid_dataset"
    assert alice.get("/datasets").json()["data"] == before
    assert not datasets_dir.exists() or list(datasets_dir.iterdir()) == []

    r = alice.post("/datasets", data={"name": "greetings"}, files={"file": ("chat.jsonl", GOOD_JSONL.encode())})
    assert r.status_code == 201, r.text
    d = r.json()
    assert d["name"] == "greetings" and d["num_records"] == 2 and d["format"] == "messages"
    assert d["source"] == "upload:chat.jsonl" and len(d["content_hash"]) == 64 and len(d["preview"]) == 2
    assert [x["name"] for x in alice.get("/datasets").json()["data"]] == ["greetings"]
    assert [p.name for p in datasets_dir.iterdir()] == ["greetings.jsonl"]

    taken = alice.post("/datasets", data={"name": "greetings"}, files={"file": ("chat.jsonl", GOOD_JSONL.encode())})
    assert taken.status_code == 400 and "already exists" in taken.json()["error"]["message"]
    odd = alice.post("/datasets", data={"name": "odd"}, files={"file": ("chat.txt", b"hello")})
    assert odd.status_code == 400 and ".jsonl" in odd.json()["error"]["message"]
    assert [p.name for p in datasets_dir.iterdir()] == ["greetings.jsonl"]


def test_runs_adapters_evals_and_collections(served, alice, tmp_path):
    store, settings = served.store, served.settings
    rec = RunRecorder.create(store, run_id="sft-test-1", recipe="sft", base_model="tiny", config={"lr": 1e-3},
                             output_dir=str(tmp_path / "run"), total_steps=3)
    rec.log(1, {"train_loss": 2.5, "learning_rate": 1e-3})
    rec.log(2, {"train_loss": 2.0, "eval_loss": 2.2})
    rec.log(3, {"train_loss": 1.5})
    rec.finish({"eval_loss": 2.2}, adapter_name="shop-merged")
    run = alice.get("/runs/sft-test-1").json()
    assert run["status"] == "completed" and run["step"] == 3 and run["final_metrics"] == {"eval_loss": 2.2}
    assert run["metrics"]["train_loss"] == [{"step": 1, "value": 2.5}, {"step": 2, "value": 2.0},
                                            {"step": 3, "value": 1.5}]
    assert run["metrics"]["eval_loss"] == [{"step": 2, "value": 2.2}]
    assert [r["id"] for r in alice.get("/runs").json()["data"]] == ["sft-test-1"]
    assert alice.get("/runs/nope").status_code == 404

    (tmp_path / "merged").mkdir()
    lineage = {"parents": ["shop-a", "shop-b"], "datasets": [{"name": "greetings", "hash": "abc"}], "seed": 7}
    AdapterRegistry(store, settings).register("shop-merged", kind="merged", path=tmp_path / "merged",
                                              base_model="tiny", run_id="sft-test-1", lineage=lineage)
    a = alice.get("/adapters/shop-merged").json()
    assert a["parents"] == ["shop-a", "shop-b"] and a["lineage"] == lineage and a["run"]["id"] == "sft-test-1"
    assert alice.get("/adapters/nope").status_code == 404
    listed = alice.get("/adapters")  # the existing list still answers (an empty folder is not servable)
    assert listed.status_code == 200 and set(listed.json()) == {"loaded", "available"}

    def stored_eval(run_id, models, metrics, outputs):
        examples = [{"id": "e1", "input": "a phone", "reference": "Electronics", "reference_text": "Electronics",
                     "outputs": {m: {"text": o} for m, o in zip(models, outputs, strict=True)},
                     "scores": {m: {"accuracy": float(o == "Electronics")} for m, o in zip(models, outputs, strict=True)}}]
        result = EvalResult(task="classify", split="test", models=models, metrics=metrics, examples=examples,
                            run_id=run_id, duration_s=1.0)
        save_run(store, result, report_dir=str(write_report(result, tmp_path / run_id)["json"].parent))

    stored_eval("eval-a", ["tiny", "shop-a"], {"tiny": {"accuracy": 0.5, "macro_f1": 0.4},
                                               "shop-a": {"accuracy": 0.75, "macro_f1": float("nan")}},
                ["Toys", "Electronics"])
    stored_eval("eval-b", ["shop-merged"], {"shop-merged": {"accuracy": 0.875, "macro_f1": 0.5}}, ["Electronics"])
    listed = alice.get("/evals").json()["data"]
    assert [e["id"] for e in listed] == ["eval-b", "eval-a"] and listed[1]["metrics"]["shop-a"]["macro_f1"] is None
    c = alice.get("/evals/compare", params={"ids": "eval-a,eval-b"}).json()
    assert c["baseline"]["model"] == "tiny" and c["metric_names"] == ["accuracy", "macro_f1"]
    cols = {(col["run_id"], col["model"]): col for col in c["columns"]}
    assert list(cols) == [("eval-a", "tiny"), ("eval-a", "shop-a"), ("eval-b", "shop-merged")]
    assert cols[("eval-a", "shop-a")]["deltas"] == {"accuracy": 0.25, "macro_f1": None}
    assert cols[("eval-b", "shop-merged")]["deltas"] == {"accuracy": 0.375, "macro_f1": pytest.approx(0.1)}
    assert c["examples"][0]["outputs"] == {"eval-a/tiny": {"text": "Toys"}, "eval-a/shop-a": {"text": "Electronics"},
                                           "eval-b/shop-merged": {"text": "Electronics"}}
    assert c["examples"][0]["scores"]["eval-b/shop-merged"] == {"accuracy": 1.0}
    assert alice.get("/evals/eval-a").json()["models"] == ["tiny", "shop-a"]
    assert alice.get("/evals/compare", params={"ids": "eval-a,nope"}).status_code == 404

    assert alice.get("/collections").json()["data"] == []
    CollectionRegistry(store, settings).create("manuals", embedding_model="all-MiniLM-L6-v2", dimension=384,
                                               vector_url=None, chroma="manuals-1")
    cols = alice.get("/collections").json()["data"]
    assert [(x["name"], x["dimension"], x["documents"]) for x in cols] == [("manuals", 384, 0)]


def test_openapi_lists_every_control_route_with_typed_models(served):
    spec = httpx.get(served.url + "/openapi.json", timeout=10).json()
    paths = spec["paths"]
    for path, method in [("/v1/jobs", "post"), ("/v1/jobs", "get"), ("/v1/jobs/{job_id}", "get"),
                         ("/v1/jobs/{job_id}/cancel", "post"), ("/v1/jobs/{job_id}/retry", "post"),
                         ("/v1/jobs/{job_id}/move", "post"), ("/v1/jobs/{job_id}/log", "get"),
                         ("/v1/jobs/{job_id}/events", "get"), ("/v1/datasets", "get"), ("/v1/datasets", "post"),
                         ("/v1/runs", "get"), ("/v1/runs/{run_id}", "get"), ("/v1/adapters/{name}", "get"),
                         ("/v1/evals", "get"), ("/v1/evals/compare", "get"), ("/v1/evals/{run_id}", "get"),
                         ("/v1/collections", "get"), ("/v1/adapters", "get"), ("/v1/adapters/load", "post")]:
        assert method in paths.get(path, {}), (path, method)
    schemas = spec["components"]["schemas"]
    assert {"JobSubmitRequest", "Job", "JobList", "JobLog", "JobMoveRequest", "Dataset", "Run", "Adapter",
            "EvalRun", "EvalComparison", "CollectionList"} <= set(schemas)
    ok = paths["/v1/jobs"]["post"]["responses"]["201"]["content"]["application/json"]["schema"]
    assert ok == {"$ref": "#/components/schemas/Job"}
    assert "text/event-stream" in paths["/v1/jobs/{job_id}/events"]["get"]["responses"]["200"]["content"]
