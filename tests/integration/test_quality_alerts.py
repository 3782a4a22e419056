"""Quality alerts end to end on the tiny model: a schedule watches adapter 'live' on preference
pairs oriented by the base model (so the good 'live', a LoRA that changes nothing, scores 1.0);
its first result is accepted; then 'live' is replaced in place by a random LoRA that disagrees with
the base on some pairs, and the next run (a `scheduled_eval` job queued by `enqueue_due`, run by the
job runner) raises a gate alert and a drift alert, POSTs them to a webhook on loopback, shows on
/metrics and makes `tunelab alerts check` exit 1; a clean run resolves them."""

from __future__ import annotations

import asyncio
import json
import shutil
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from serve_harness import ServerThread, make_lora, metric_value
from typer.testing import CliRunner

from tunelab.adapters import AdapterRegistry
from tunelab.cli import app as cli_app
from tunelab.eval.config import EvalConfig
from tunelab.eval.runner import run_eval
from tunelab.jobs.cadence import CadenceError
from tunelab.jobs.runner import run_job
from tunelab.jobs.schedules import ScheduleError, add_schedule, enqueue_due, now, run_schedule
from tunelab.models.catalogue import Catalogue
from tunelab.serve.app import create_app
from tunelab.store import ALERTS, JOBS, SCHEDULES

WORDS = ["red", "boots", "waterproof", "cotton", "size", "blue", "leather", "small", "cheap", "warm", "soft", "zip"]


@pytest.fixture
def webhook():
    """A tiny HTTP server on loopback that records the JSON bodies POSTed to it."""
    received = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's name
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", received
    server.shutdown()
    server.server_close()


def lora_noop(base_dir, out):
    """A LoRA whose B is zero (PEFT's default init): the base model's outputs exactly."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    base = AutoModelForCausalLM.from_pretrained(base_dir)
    get_peft_model(base, LoraConfig(r=4, lora_alpha=16, target_modules=["q_proj", "v_proj", "o_proj"])).save_pretrained(out)
    return out


def evaluate(settings, store, models, data):
    cfg = EvalConfig(task="preference", models=models, data=str(data), out=str(settings.home / "evals" / "o"))
    return asyncio.run(run_eval(cfg, settings, store))


def test_a_degraded_adapter_raises_alerts(settings, store, tiny_model_dir, tmp_path, webhook, monkeypatch):
    url, received = webhook
    Catalogue(store).add("tiny", str(tiny_model_dir))
    good, bad = lora_noop(tiny_model_dir, tmp_path / "good"), make_lora(tiny_model_dir, tmp_path / "bad", seed=3, r=8)
    live = tmp_path / "live"
    shutil.copytree(good, live)
    registry = AdapterRegistry(store, settings)
    registry.register("live", kind="lora", path=live, base_model="tiny")
    registry.register("bad", kind="lora", path=bad, base_model="tiny")

    pairs = [{"prompt": f"Describe item {i}.", "chosen": " ".join(WORDS[i:] + WORDS[:i][:3]),
              "rejected": " ".join(reversed(WORDS[i % 5:i % 5 + 6]))} for i in range(12)]
    raw = tmp_path / "raw.jsonl"
    raw.write_text("".join(json.dumps(p) + "\n" for p in pairs))
    first = evaluate(settings, store, ["tiny", "bad"], raw)
    base_prefers = [ex["outputs"]["tiny"]["prefers_chosen"] for ex in first.examples]
    bad_prefers = [ex["outputs"]["bad"]["prefers_chosen"] for ex in first.examples]
    oriented = tmp_path / "oriented.jsonl"  # the chosen answer is the one the base model prefers
    oriented.write_text("".join(json.dumps(p if keep else {**p, "chosen": p["rejected"], "rejected": p["chosen"]})
                                + "\n" for p, keep in zip(pairs, base_prefers)))
    disagree = sum(a != b for a, b in zip(base_prefers, bad_prefers))
    assert disagree >= 2, "the random LoRA must rank some pairs differently from the base"
    expected_bad = (len(pairs) - disagree) / len(pairs)

    with pytest.raises(CadenceError):
        add_schedule(store, "x", {"task": "preference", "models": ["live"], "data": str(oriented)}, every="hourly")
    with pytest.raises(ValueError, match="gate"):
        add_schedule(store, "x", {"task": "preference", "models": ["live"], "data": str(oriented),
                                  "gate": ["accuracy >>= 1"]}, every="every 1h")
    add_schedule(store, "nightly", {"task": "preference", "models": ["live"], "data": str(oriented),
                                    "gate": ["preference_accuracy >= 0.9"]}, every="every 6h", drift=0.05, webhook=url)
    with pytest.raises(ScheduleError, match="exists"):
        add_schedule(store, "nightly", {"task": "preference", "models": ["live"], "data": str(oriented)}, every="every 6h")

    ok = run_schedule(store, settings, "nightly")
    assert ok.metrics["preference_accuracy"] == 1.0 and ok.accepted and ok.alerts == [] and received == []
    assert SCHEDULES.by_key(store, "nightly").accepted_result == ok.result_id

    for f in bad.iterdir():  # 'live' retrained in place, into a worse adapter
        shutil.copy(f, live / f.name)
    assert enqueue_due(store) == []  # next run in 6 hours
    later = now() + timedelta(hours=7)
    [job_id] = enqueue_due(store, later)
    assert enqueue_due(store, later) == []  # queued once
    assert run_job(job_id, settings) == 0  # what the worker's subprocess runs, here in-process
    job = JOBS.by_key(store, job_id)
    assert job.kind == "scheduled_eval" and job.result["schedule"] == "nightly"
    assert job.result["alerts"] == 2 and job.result["metrics"]["preference_accuracy"] == pytest.approx(expected_bad)

    firing = ALERTS.page(store, firing=True)
    assert sorted(a.reason for a in firing) == ["drift", "gate"]
    drift = next(a for a in firing if a.reason == "drift")
    assert drift.metric == "preference_accuracy" and drift.webhook_status == "204"
    [posted] = received
    assert posted["schedule"] == "nightly" and posted["accepted_metrics"]["preference_accuracy"] == 1.0
    assert posted["metrics"]["preference_accuracy"] == pytest.approx(expected_bad)
    assert sorted(a["reason"] for a in posted["alerts"]) == ["drift", "gate"]

    server = ServerThread(create_app(settings, model="tiny", engine="sequential", embeddings=False))
    try:
        text = httpx.get(server.url + "/metrics", timeout=30).text
        assert metric_value(text, "tunelab_alerts_firing") == 2.0
        assert httpx.get(server.v1 + "/alerts", params={"firing": True}, timeout=30).json()["data"][0]["firing"]
    finally:
        server.stop()

    runner = CliRunner()
    checked = runner.invoke(cli_app, ["alerts", "check"])
    assert checked.exit_code == 1 and "2 alert(s) firing" in checked.output
    for f in good.iterdir():  # rolled back to the good adapter: the next run is clean and resolves them
        shutil.copy(f, live / f.name)
    clean = runner.invoke(cli_app, ["alerts", "check", "--run", "nightly"])
    assert clean.exit_code == 0, clean.output
    assert "0 alert(s) firing" in clean.output and ALERTS.firing_count(store) == 0
    assert len(ALERTS.page(store, firing=False)) == 2
