"""The loop closed, over HTTP on a real server (tiny model, API keys alice, bob and the admin ops):
feedback posted as ratings, edits and side-by-side choices on the answers of adapter `shop`, a
preference dataset built from it, a DPO job on top of `shop` submitted with one call and run by a
worker, whose result holds the follow-up evaluation against `shop` and its gate outcome; each key sees
its own feedback only; and `tunelab feedback` through its entry point."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import httpx
import pytest
from serve_harness import ServerThread, make_lora

from tunelab.adapters import AdapterRegistry
from tunelab.eval.runs import get_run
from tunelab.jobs.worker import Worker
from tunelab.models.catalogue import Catalogue
from tunelab.serve.app import create_app
from tunelab.serve.auth import ApiKeys
from tunelab.settings import Settings
from tunelab.store import Store

QUESTIONS = ["Which category fits wireless earbuds?", "What is the capital of France?",
             "Describe the water bottle.", "Which shoes for running?", "What goes with green tea?",
             "Is the knife set dishwasher safe?"]


def ask(question: str) -> list[dict]:
    return [{"role": "system", "content": "You are a shop assistant."}, {"role": "user", "content": question}]


def shop(text: str) -> dict:
    return {"model": "tiny", "adapter": "shop", "text": text}


@pytest.fixture(scope="module")
def served(tmp_path_factory, tiny_model_dir):
    home = tmp_path_factory.mktemp("feedback-loop") / "home"
    settings = Settings(home=home, hub_offline=True)
    store = Store(settings)
    Catalogue(store).add("tiny", str(tiny_model_dir))
    AdapterRegistry(store, settings).register("shop", kind="lora", base_model="tiny",
                                              path=make_lora(tiny_model_dir, home / "loras" / "shop", seed=1))
    keys = ApiKeys(store)
    secrets = {"alice": keys.create("alice"), "bob": keys.create("bob"), "ops": keys.create("ops", admin=True)}
    server = ServerThread(create_app(settings, model="tiny", engine="sequential", embeddings=False, workers=0))
    server.settings, server.store, server.home = settings, store, home
    server.as_ = {name: httpx.Client(base_url=server.v1, timeout=30, headers={"Authorization": f"Bearer {s}"})
                  for name, s in secrets.items()}
    yield server
    for c in server.as_.values():
        c.close()
    server.stop()
    store.dispose()


def post(client, **body) -> dict:
    r = client.post("/feedback", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def test_feedback_to_a_gated_dpo_adapter(served):
    alice, bob, ops = served.as_["alice"], served.as_["bob"], served.as_["ops"]
    q = iter(QUESTIONS)
    mine = [
        post(alice, messages=ask(next(q)), answers=[shop("Food.")], rating=-1, edit="Electronics: audio."),
        post(alice, messages=ask(next(q)), answers=[shop("Tea.")], rating=-1, edit="Paris."),
        post(alice, messages=ask(next(q)), answers=[shop("Shoes.")], edit="Stainless steel, 750 ml."),
        post(alice, messages=ask(next(q)), answers=[shop("Tea."), {"model": "tiny", "text": "Running shoes."}],
             choice=1, conversation_id="c-1"),
        post(alice, messages=ask(next(q)), answers=[{"model": "tiny", "text": "Soda."}, shop("A biscuit.")],
             choice=1, source="api"),
        post(alice, messages=ask(next(q)), answers=[shop("Yes.")], rating=1),  # a rating alone: no pair
    ]
    assert mine[0]["owner"] == "alice" and mine[0]["rating"] == -1 and mine[0]["edit"] == "Electronics: audio."
    assert mine[3]["answers"][1] == {"model": "tiny", "adapter": None, "text": "Running shoes."}
    assert mine[3]["conversation_id"] == "c-1" and mine[4]["source"] == "api" and mine[0]["source"] == "playground"
    theirs = post(bob, messages=ask("Hi?"), answers=[shop("Bye.")], edit="Hello! How can I help?")

    # each key sees its own; the admin sees all
    assert [f["id"] for f in alice.get("/feedback").json()["data"]] == [f["id"] for f in reversed(mine)]
    assert [f["id"] for f in bob.get("/feedback").json()["data"]] == [theirs["id"]]
    assert ops.get("/feedback").json()["total"] == 7
    assert alice.get("/feedback", params={"adapter": "shop", "limit": 2}).json()["total"] == 6
    assert alice.get(f"/feedback/{mine[3]['id']}").json() == mine[3]
    for client, fid in ((alice, theirs["id"]), (bob, mine[0]["id"])):
        r = client.get(f"/feedback/{fid}")
        assert r.status_code == 404 and r.json()["error"]["code"] == "feedback_not_found"
        assert client.delete(f"/feedback/{fid}").status_code == 404
    assert bob.delete(f"/feedback/{theirs['id']}").json() == {"id": theirs["id"], "object": "feedback", "deleted": True}
    assert ops.get(f"/feedback/{theirs['id']}").status_code == 404

    # bad input: 400 naming the field
    for body, param in (({"messages": ask("x"), "answers": [], "rating": 1}, "answers"),
                        ({"messages": ask("x"), "answers": [shop("a"), shop("b")], "choice": 2}, "choice"),
                        ({"messages": ask("x"), "answers": [shop("a")], "rating": 5}, "rating"),
                        ({"messages": ask("x")[:1], "answers": [shop("a")], "rating": 1}, "messages[0].role")):
        r = alice.post("/feedback", json=body)
        assert r.status_code == 400 and r.json()["error"]["param"] == param, r.text

    exported = alice.get("/feedback/export")
    assert exported.headers["content-type"].startswith("application/x-ndjson")
    assert [json.loads(x)["id"] for x in exported.text.splitlines()] == [f["id"] for f in mine]  # oldest first
    pairs = [json.loads(x) for x in alice.get("/feedback/export", params={"format": "pairs"}).text.splitlines()]
    assert len(pairs) == 5 and pairs[0]["chosen"] == [{"role": "assistant", "content": "Electronics: audio."}]

    built = alice.post("/feedback/build-dataset", json={"name": "chat-prefs", "adapter": "shop"})
    assert built.status_code == 201, built.text
    counts, dataset = built.json()["counts"], built.json()["dataset"]
    assert counts["pairs"] == 5 and counts["from_edits"] == 3 and counts["from_choices"] == 2
    assert counts["skipped"] == {"rating_only": 1} and counts["skipped_ids"] == [{"id": mine[5]["id"],
                                                                                  "reason": "rating_only"}]
    assert dataset["format"] == "preference" and dataset["num_records"] == 5
    assert dataset["provenance"]["feedback_ids"] == [f["id"] for f in mine[:5]]
    listed = {d["name"]: d for d in alice.get("/datasets").json()["data"]}
    assert listed["chat-prefs"]["provenance"] == dataset["provenance"]
    none = alice.post("/feedback/build-dataset", json={"name": "x", "ids": [mine[5]["id"]]})
    assert none.status_code == 400 and "rating alone" in none.json()["error"]["message"]
    blank = post(alice, messages=ask("Hi?"), answers=[shop(" ")], rating=-1, edit="Hello!")  # stopped at once
    built = alice.post("/feedback/build-dataset", json={"name": "with-blank", "ids": [blank["id"], mine[0]["id"]]})
    assert built.status_code == 201, built.text  # the blank answer's pair is left out, the rest registered
    assert built.json()["counts"]["skipped_ids"] == [{"id": blank["id"], "reason": "blank_answer"}]
    assert built.json()["dataset"]["num_records"] == 1
    assert alice.delete(f"/feedback/{blank['id']}").status_code == 200  # the tests after count the records

    assert alice.post("/feedback/train-dpo", json={"dataset": "nope", "name": "n"}).status_code == 404
    r = alice.post("/feedback/train-dpo", json={"dataset": "chat-prefs", "adapter": "shop", "name": "shop",
                                                "max_steps": 2})
    assert r.status_code == 400 and r.json()["error"]["param"] == "name"
    r = alice.post("/feedback/train-dpo", json={
        "dataset": "chat-prefs", "adapter": "shop", "name": "shop-dpo", "max_steps": 3, "val_fraction": 0.4,
        "learning_rate": 5e-3, "recipe": {"batch_size": 2, "seed": 3, "precision": "fp32"}})
    assert r.status_code == 201, r.text
    job = r.json()
    assert job["kind"] == "train" and job["owner"] == "alice" and job["status"] == "queued"
    recipe, after = job["config"]["recipe"], job["config"]["eval_after"]
    assert recipe["recipe"] == "dpo" and recipe["sft_adapter"] == "shop" and recipe["base_model"] == "tiny"
    assert recipe["dataset"] == "chat-prefs" and recipe["max_steps"] == 3 and recipe["batch_size"] == 2
    assert after["task"] == "preference" and after["gate"] == ["preference_accuracy >= baseline"]
    assert bob.get(f"/jobs/{job['id']}").status_code == 404  # alice's job

    done = Worker(served.store, served.settings, name="w-feedback").run_once()
    log = (served.home / "jobs" / f"{job['id']}.log").read_text()
    assert done.id == job["id"] and done.status == "succeeded", (done.error_type, done.error, log[-3000:])
    result = alice.get(f"/jobs/{job['id']}").json()["result"]
    assert result["adapter"] == "shop-dpo" and result["eval_baseline"] == "shop"
    assert isinstance(result["gates_passed"], bool) and len(result["gates"]) == 1
    gate = result["gates"][0]
    assert gate["model"] == "shop-dpo" and gate["gate"] == "preference_accuracy >= baseline"
    ev = get_run(served.store, result["eval_run_id"])
    assert ev.status == "completed" and ev.task == "preference" and ev.models == ["shop", "shop-dpo"]
    acc = {m: ev.metrics[m]["preference_accuracy"] for m in ev.models}
    assert gate["passed"] is (acc["shop-dpo"] >= acc["shop"]) and result["gates_passed"] is gate["passed"]
    assert ev.params["examples"] == 2  # the pairs DPO held out (0.4 of 5), not the ones it trained on
    held = [json.loads(x) for x in open(result["eval_data"], encoding="utf-8")]
    trained_on = {json.dumps(p, sort_keys=True) for p in pairs}
    assert len(held) == 2 and all(json.dumps(h, sort_keys=True) in trained_on for h in held)
    assert f"gate {'pass' if gate['passed'] else 'FAIL'} shop-dpo" in log
    assert alice.get(f"/evals/{result['eval_run_id']}").json()["models"] == ["shop", "shop-dpo"]
    adapter = alice.get("/adapters/shop-dpo").json()
    assert adapter["parents"] == ["shop"] and adapter["lineage"]["datasets"][0]["name"] == "chat-prefs"


def test_feedback_cli_through_its_entry_point(served):
    env = {**os.environ, "TUNELAB_HOME": str(served.home), "TUNELAB_HUB_OFFLINE": "1"}
    out = subprocess.run([sys.executable, "-m", "tunelab", "feedback", "list", "--adapter", "shop"], env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "6 of 6 feedback records" in out.stdout and "alice" in out.stdout and "#1 better" in out.stdout
