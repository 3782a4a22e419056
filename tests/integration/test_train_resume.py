"""Kill a training run with SIGKILL mid-way, resume it, and get the uninterrupted run's losses."""

import json
import os
import signal
import subprocess
import sys
import time

import yaml

from tunelab.adapters.registry import AdapterRegistry
from tunelab.train import parse_config, run_recipe
from tunelab.train.runs import RunRecorder, list_runs

WORDS = "wireless earbuds running shoes green tea water bottle chef knife headphones case steel blue".split()


def write_data(path, n=96):
    rows = []
    for i in range(n):
        text = " ".join(WORDS[(i * 7 + k) % len(WORDS)] for k in range(8 + (i * 13) % 40))
        rows.append({"instruction": f"Describe item {i}", "input": text, "output": text[::-1][:80]})
    path.write_text("\n".join(json.dumps(r) for r in rows))


def test_sigkill_then_resume_matches_an_uninterrupted_run(home, settings, store, tiny, tmp_path):
    data = tmp_path / "data.jsonl"
    write_data(data)
    cfg = {"dataset": str(data), "base_model": "tiny", "epochs": 2, "batch_size": 2, "save_every": 5,
           "eval_every": 10, "learning_rate": 3e-3, "val_fraction": 0.1, "seed": 11, "adapter_name": "resumed"}
    path = tmp_path / "cfg.yaml"
    path.write_text(yaml.safe_dump(cfg))
    env = {**os.environ, "TUNELAB_HOME": str(home)}
    proc = subprocess.Popen([sys.executable, "-m", "tunelab", "train", str(path)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    ckpts = home / "runs"
    deadline = time.monotonic() + 120
    while not list(ckpts.glob("*/checkpoints/step-000010")):  # two checkpoints written: kill now
        assert proc.poll() is None, proc.stderr.read()
        assert time.monotonic() < deadline
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL

    [run] = list_runs(store)
    assert run.status == "running" and 10 <= run.step < run.total_steps  # killed mid-way
    assert "resumed" not in AdapterRegistry(store, settings).names()  # registry unchanged
    resumed = subprocess.run([sys.executable, "-m", "tunelab", "train", "--resume", run.id], env=env,
                             capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert "Resuming" in resumed.stderr

    straight = run_recipe(parse_config({**cfg, "adapter_name": "straight"}), settings, store)
    a, b = RunRecorder(store, run.id), RunRecorder(store, straight["run_id"])
    assert a.get().status == "completed"
    assert [s for s, _ in a.metrics("train_loss")] == list(range(1, run.total_steps + 1))
    for name in ("train_loss", "eval_loss"):
        for (sa, va), (sb, vb) in zip(a.metrics(name), b.metrics(name), strict=True):
            assert sa == sb and abs(va - vb) < 1e-6, (name, sa, va, vb)
    assert abs(a.get().final_metrics["eval_loss"] - straight["metrics"]["eval_loss"]) < 1e-6
