"""Jobs run by real workers in real processes on the tiny model: a train job end to end, a worker
SIGKILLed mid-training and its job taken over (same final loss as an uninterrupted run), a cancel
that leaves a loadable checkpoint, and many short jobs shared by two worker processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import pytest
import torch
from test_train_resume import write_data

from tunelab.jobs.service import JobService, log_path
from tunelab.jobs.worker import Worker
from tunelab.store import JOBS, RUNS
from tunelab.train import parse_config, run_recipe
from tunelab.train.checkpoint import latest_checkpoint, load_checkpoint
from tunelab.train.model_setup import prepare_for_training


def recipe(data, **extra) -> dict:
    return {"dataset": str(data), "base_model": "tiny", "epochs": 2, "batch_size": 2, "save_every": 5,
            "eval_every": 10, "learning_rate": 3e-3, "val_fraction": 0.1, "seed": 11, **extra}


def wait_for(predicate, timeout: float = 120, what: str = "", proc: subprocess.Popen | None = None):
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"process exited with {proc.returncode} while waiting for {what}")
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)
    return value


def start_worker(home, name: str, **env) -> subprocess.Popen:
    env = {**os.environ, "TUNELAB_HOME": str(home), **env}
    return subprocess.Popen([sys.executable, "-m", "tunelab", "worker", "--name", name], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True)


def stop_worker(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def statuses(store, job_id) -> list[dict]:
    return [e.data for e in JOBS.events_after(store, job_id, limit=10_000) if e.kind == "status"]


def test_a_train_job_run_by_a_worker(settings, store, tiny, tmp_path):
    data = tmp_path / "data.jsonl"
    write_data(data, n=24)
    jobs = JobService(store, settings)
    info = jobs.submit("train", {"recipe": recipe(data, epochs=1, adapter_name="from-job")})
    job = Worker(store, settings, name="w-test").run_once()
    assert job.id == info.id and job.status == "succeeded", (job.error_type, job.error)
    assert job.result["adapter"] == "from-job" and job.attempts == 1
    run = RUNS.by_key(store, job.result["run_id"])
    assert run.status == "completed" and run.adapter_name == "from-job"
    text = log_path(settings, job.id).read_text()
    assert f"Run {run.id}" in text and "Registered lora adapter from-job" in text
    events = jobs.events(info.id)
    assert [e["data"]["status"] for e in events if e["kind"] == "status"] == ["queued", "running", "succeeded"]
    lines = [e["data"]["line"] for e in events if e["kind"] == "log"]
    assert any("Registered lora adapter from-job" in line for line in lines)
    metrics = [e["data"] for e in events if e["kind"] == "metric"]
    losses = {m["step"]: m["metrics"]["train_loss"] for m in metrics if "train_loss" in m["metrics"]}
    assert losses == dict(RUNS.metric_series(store, run.id, "train_loss")) and losses  # every point, once
    assert all(m["run_id"] == run.id for m in metrics)
    assert Worker(store, settings).run_once() is None  # the queue is empty


def test_b_a_killed_worker_s_job_is_taken_over_and_ends_like_an_uninterrupted_run(home, settings, store, tiny,
                                                                                  tmp_path):
    data = tmp_path / "data.jsonl"
    write_data(data)
    cfg = recipe(data, adapter_name="taken-over")
    info = JobService(store, settings).submit("train", {"recipe": cfg})
    fast = {"TUNELAB_JOB_STALE_AFTER_S": "2", "TUNELAB_JOB_HEARTBEAT_S": "0.5"}
    first = start_worker(home, "first", **fast)
    try:
        run_id = wait_for(lambda: JOBS.by_key(store, info.id).result.get("run_id"), what="the run id", proc=first)
        ckpts = home / "runs" / run_id / "checkpoints"
        wait_for(lambda: (ckpts / "step-000010").is_dir(), what="two checkpoints", proc=first)
    finally:
        os.killpg(first.pid, signal.SIGKILL)  # the worker's process group: the job's runner is in its own
        first.wait()
    run = RUNS.by_key(store, run_id)
    assert run.status == "running" and run.step < run.total_steps  # killed mid-way
    second = start_worker(home, "second", **fast)
    try:
        job = wait_for(lambda: (j := JOBS.by_key(store, info.id)).status in ("succeeded", "failed") and j,
                       timeout=180, what="the job to end", proc=second)
    finally:
        stop_worker(second)
    assert job.status == "succeeded", (job.error_type, job.error, log_path(settings, info.id).read_text()[-3000:])
    assert job.worker == "second" and job.attempts == 2
    running = [s for s in statuses(store, info.id) if s["status"] == "running"]
    assert [s["worker"] for s in running] == ["first", "second"] and running[1]["taken_over"]
    assert "continuing run" in log_path(settings, info.id).read_text()

    straight = run_recipe(parse_config({**cfg, "adapter_name": "straight"}), settings, store)
    resumed = RUNS.by_key(store, run_id)
    assert resumed.status == "completed" and resumed.adapter_name == "taken-over"
    assert resumed.final_metrics["train_loss"] == straight["metrics"]["train_loss"]
    assert resumed.final_metrics["eval_loss"] == pytest.approx(straight["metrics"]["eval_loss"], abs=1e-6)


def test_c_cancel_during_training_leaves_a_checkpoint_that_loads(home, settings, store, tiny, tmp_path):
    data = tmp_path / "data.jsonl"
    write_data(data)
    jobs = JobService(store, settings)
    info = jobs.submit("train", {"recipe": recipe(data, save_every=1000, adapter_name="cancelled")})
    fast = settings.model_copy(update={"job_heartbeat_s": 0.2})
    worker = Worker(store, fast, name="w-cancel", grace_s=30)
    done = {}
    t = threading.Thread(target=lambda: done.setdefault("job", worker.run_once()))
    t.start()
    run_id = wait_for(lambda: JOBS.by_key(store, info.id).result.get("run_id"), what="the run id")
    wait_for(lambda: (r := RUNS.by_key(store, run_id)) is not None and r.step >= 3, what="three steps")
    jobs.cancel(info.id)
    t.join(60)
    job = done["job"]
    assert job.status == "cancelled", (job.error_type, job.error)
    ckpt = latest_checkpoint(home / "runs" / run_id / "checkpoints")
    assert ckpt is not None  # save_every=1000: only the cancel wrote it
    run = RUNS.by_key(store, run_id)
    assert run.status == "failed" and "cancelled at step" in run.error

    cfg = parse_config(recipe(data))
    model = prepare_for_training(tiny.model, method="lora", lora=cfg.lora, gradient_checkpointing=False, seed=11)
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad])
    state = load_checkpoint(ckpt, model, opt)
    assert state["step"] == int(ckpt.name.split("-")[1]) >= 3
    assert "cancelled at step" in log_path(settings, info.id).read_text()


def test_d_a_bad_config_is_refused_by_the_cli_and_nothing_is_queued(home, store, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("dataset: d.jsonl\nbase_model: tiny\nlearning_rate: -1\n")
    env = {**os.environ, "TUNELAB_HOME": str(home)}
    out = subprocess.run([sys.executable, "-m", "tunelab", "jobs", "submit", "train", str(bad)], env=env,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2, out.stderr
    [line] = out.stderr.strip().splitlines()  # one line, no traceback
    assert line.startswith("error:") and "learning_rate" in line
    assert JOBS.page(store)[1] == 0


def test_e_two_worker_processes_run_each_of_fifty_jobs_exactly_once(home, any_settings, any_store):
    """On SQLite and on PostgreSQL (the workers get its URL through the environment)."""
    settings, store = any_settings, any_store
    # The cheapest job that goes through the whole runner: resuming a run that does not exist fails
    # at once, before torch is imported (a train job of one step on the tiny model takes ~6 s).
    jobs = JobService(store, settings)
    ids = [jobs.submit("train", {"resume": f"no-such-run-{i}"}).id for i in range(50)]
    workers = [start_worker(home, f"w{i}") for i in range(2)]
    try:
        wait_for(lambda: all(JOBS.by_key(store, i).status == "failed" for i in ids), timeout=240,
                 what="every job to end")
    finally:
        for w in workers:
            stop_worker(w)
    ran_on = set()
    for job_id in ids:
        job = JOBS.by_key(store, job_id)
        assert job.attempts == 1 and job.error_type == "UnknownRunError" and "no-such-run" in job.error
        running = [s for s in statuses(store, job_id) if s["status"] == "running"]
        assert len(running) == 1, running
        ran_on.add(job.worker)
    assert ran_on == {"w0", "w1"}


def test_serve_runs_an_embedded_worker_and_stops_with_it(home, settings, store, tiny):
    from serve_harness import free_port

    port = free_port()
    env = {**os.environ, "TUNELAB_HOME": str(home)}
    server = subprocess.Popen([sys.executable, "-m", "tunelab", "serve", "--model", "tiny", "--engine", "sequential",
                               "--no-embeddings", "--port", str(port), "--log-level", "info"], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        job_id = JobService(store, settings).submit("train", {"resume": "no-such-run"}).id
        job = wait_for(lambda: (j := JOBS.by_key(store, job_id)).status == "failed" and j, timeout=90,
                       what="the server's worker to run the job", proc=server)
        assert "-serve-0" in job.worker and job.error_type == "UnknownRunError"
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        out, _ = server.communicate(timeout=30)
    # uvicorn re-raises the SIGTERM it caught once it has shut down: -15 after a clean shutdown
    assert server.returncode in (0, -signal.SIGTERM) and "Application shutdown complete" in out, out[-3000:]
    assert "1 job worker" in out


def start_server(home, **env) -> tuple[subprocess.Popen, str]:
    from serve_harness import free_port

    port = free_port()
    env = {**os.environ, "TUNELAB_HOME": str(home), **env}
    proc = subprocess.Popen([sys.executable, "-m", "tunelab", "serve", "--model", "tiny", "--engine", "sequential",
                             "--no-embeddings", "--port", str(port)], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    wait_for(lambda: _up(url), timeout=120, what="the server", proc=proc)
    return proc, url


def _up(url: str) -> bool:
    import httpx

    try:
        return httpx.get(url + "/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def test_f_a_server_killed_mid_training_resumes_its_http_job_after_a_restart(home, settings, store, tiny, tmp_path):
    import httpx

    data = tmp_path / "data.jsonl"
    write_data(data)
    cfg = recipe(data, adapter_name="over-http")
    fast = {"TUNELAB_JOB_STALE_AFTER_S": "2", "TUNELAB_JOB_HEARTBEAT_S": "0.5",
            "TUNELAB_ALLOWED_PATHS": str(tmp_path)}  # the data file is beside the home
    server, url = start_server(home, **fast)
    try:
        r = httpx.post(url + "/v1/jobs", json={"kind": "train", "config": {"recipe": cfg}}, timeout=30)
        assert r.status_code == 201, r.text
        job_id = r.json()["id"]
        run_id = wait_for(lambda: JOBS.by_key(store, job_id).result.get("run_id"), what="the run id", proc=server)
        wait_for(lambda: (home / "runs" / run_id / "checkpoints" / "step-000010").is_dir(),
                 what="two checkpoints", proc=server)
    finally:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()
    assert RUNS.by_key(store, run_id).status == "running"  # killed mid-way
    server, url = start_server(home, **fast)
    try:
        job = wait_for(lambda: (j := httpx.get(f"{url}/v1/jobs/{job_id}", timeout=10).json())["status"]
                       in ("succeeded", "failed") and j, timeout=180, what="the job to end", proc=server)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(30)
    assert job["status"] == "succeeded", (job["error_type"], job["error"])
    assert job["attempts"] == 2 and job["result"]["run_id"] == run_id
    straight = run_recipe(parse_config({**cfg, "adapter_name": "straight"}), settings, store)
    resumed = RUNS.by_key(store, run_id)
    assert resumed.status == "completed"
    assert resumed.final_metrics["train_loss"] == straight["metrics"]["train_loss"]


def test_g_an_eval_job_scores_a_predictions_file_and_records_its_run(settings, store, tmp_path):
    import json

    from tunelab.eval.config import EvalConfig
    from tunelab.eval.runs import get_run
    from tunelab.eval.tasks import get_task

    examples = get_task("extract").load_examples(EvalConfig(task="extract", predictions=["x.jsonl"], limit=4))
    preds = tmp_path / "exact.jsonl"
    preds.write_text("".join(json.dumps({"id": ex.id, "prediction": ex.reference}) + "\n" for ex in examples))
    jobs = JobService(store, settings)
    info = jobs.submit("eval", {"eval": {"task": "extract", "predictions": [str(preds)], "limit": 4,
                                         "out": str(tmp_path / "report"), "gate": ["exact_match >= 1"]}})
    job = Worker(store, settings, name="w-eval").run_once()
    assert job.id == info.id and job.status == "succeeded", (job.error_type, job.error)
    run = get_run(store, job.result["eval_run_id"])
    assert run.metrics["exact"]["exact_match"] == 1.0 and job.result["gates_passed"] is True
    assert (tmp_path / "report" / "report.html").is_file()
    text = log_path(settings, info.id).read_text()
    assert f"eval run {run.id}" in text and "gate pass exact" in text
