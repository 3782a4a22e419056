"""Data-parallel training in real processes: `tunelab train --nproc 2` (torchrun, gloo on the CPU)
gives the loss curve of one process with the same global batch, and a run whose rank is killed
resumes from rank 0's checkpoint to the uninterrupted run's losses."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from tunelab.adapters.registry import AdapterRegistry
from tunelab.train import parse_config, run_recipe
from tunelab.train.launch import free_port
from tunelab.train.runs import RunRecorder, list_runs

WORDS = "wireless earbuds running shoes green tea water bottle chef knife headphones case steel blue".split()
TOL = 1e-5


def write_data(path: Path, n: int = 64) -> None:
    rows = []
    for i in range(n):
        text = " ".join(WORDS[(i * 7 + k) % len(WORDS)] for k in range(6 + (i * 13) % 30))
        rows.append({"instruction": f"Describe item {i}", "input": text, "output": text[::-1][:60]})
    path.write_text("\n".join(json.dumps(r) for r in rows))


def recipe(tmp_path: Path, **over) -> dict:
    data = tmp_path / "data.jsonl"
    write_data(data)
    return {"dataset": str(data), "base_model": "tiny", "batch_size": 2, "grad_accum": 4, "precision": "fp32",
            "learning_rate": 3e-3, "warmup_ratio": 0.2, "val_fraction": 0.1, "seed": 5, **over}


def torchrun_env(home: Path) -> dict:
    return {**os.environ, "TUNELAB_HOME": str(home), "MASTER_PORT": str(free_port()), "OMP_NUM_THREADS": "1"}


def train_cli(cfg: dict, tmp_path: Path, home: Path, *args: str, name: str = "cfg") -> subprocess.Popen:
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return subprocess.Popen([sys.executable, "-m", "tunelab", "train", str(path), *args], env=torchrun_env(home),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def assert_same_curves(a: RunRecorder, b: RunRecorder, names=("train_loss", "lr", "eval_loss")) -> None:
    for name in names:
        sa, sb = a.metrics(name), b.metrics(name)
        assert sa and [s for s, _ in sa] == [s for s, _ in sb], name
        for (step, va), (_, vb) in zip(sa, sb, strict=True):
            assert abs(va - vb) < TOL, (name, step, va, vb)


def test_two_processes_give_the_one_process_loss_curve(home, settings, store, tiny, tmp_path):
    cfg = recipe(tmp_path, max_steps=6, eval_every=3)
    one = run_recipe(parse_config({**cfg, "adapter_name": "one"}), settings, store)

    # the same global batch: 2 per micro-batch x 2 accumulated x 2 processes
    proc = train_cli({**cfg, "grad_accum": 2, "adapter_name": "two"}, tmp_path, home, "--nproc", "2")
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert out.count("-> adapter two") == 1  # rank 0 reports; rank 1 prints nothing

    runs = {r.adapter_name: r for r in list_runs(store)}
    assert sorted(runs) == ["one", "two"]  # one run record for the two processes
    two = runs["two"]
    assert two.status == "completed" and two.final_metrics["world_size"] == 2 and one["metrics"]["world_size"] == 1
    assert_same_curves(RunRecorder(store, one["run_id"]), RunRecorder(store, two.id))
    assert [s for s, _ in RunRecorder(store, two.id).metrics("train_loss")] == list(range(1, 7))
    assert abs(two.final_metrics["eval_loss"] - one["metrics"]["eval_loss"]) < TOL
    assert two.final_metrics["train_tokens"] == one["metrics"]["train_tokens"]  # every rank's tokens counted
    registry = AdapterRegistry(store, settings)
    assert registry.names() == ["one", "two"]
    assert not (home / "runs" / two.id / "checkpoints").exists()


def _rank_pid(launcher: int, rank: int, home: Path) -> int | None:
    """The process of `rank` under the torchrun process `launcher` (its descendants' environments)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            env = dict(kv.split("=", 1) for kv in (entry / "environ").read_bytes().decode(errors="replace")
                       .split("\0") if "=" in kv)
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError):
            continue
        if env.get("RANK") == str(rank) and env.get("TUNELAB_HOME") == str(home) and ppid == launcher:
            return int(entry.name)
    return None


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="finds the rank's process through /proc")
def test_killed_rank_resumes_to_the_uninterrupted_losses(home, settings, store, tiny, tmp_path):
    cfg = recipe(tmp_path, max_steps=30, save_every=3, eval_every=10, grad_accum=2, batch_size=1)
    proc = train_cli({**cfg, "adapter_name": "resumed"}, tmp_path, home, "--nproc", "2")
    deadline = time.monotonic() + 90
    while not list((home / "runs").glob("*/checkpoints/step-000006")):  # two checkpoints written
        assert proc.poll() is None, proc.communicate()[1]
        assert time.monotonic() < deadline
        time.sleep(0.05)
    rank1 = _rank_pid(proc.pid, 1, home)
    assert rank1 is not None
    os.kill(rank1, signal.SIGKILL)  # one rank dies: torchrun stops the other and fails
    _, err = proc.communicate(timeout=60)
    assert proc.returncode != 0

    [run] = list_runs(store)
    # "failed" when rank 0 saw its peer's connection close (and recorded that) before torchrun stopped it
    assert run.status in ("running", "failed") and 6 <= run.step < run.total_steps, (run.status, run.step, run.error)
    assert "resumed" not in AdapterRegistry(store, settings).names()
    resumed = subprocess.run([sys.executable, "-m", "tunelab", "train", "--resume", run.id, "--nproc", "2"],
                             env=torchrun_env(home), capture_output=True, text=True, timeout=120)
    assert resumed.returncode == 0, resumed.stderr
    assert "Resuming" in resumed.stderr

    # uninterrupted, in one process, with the same global batch (1 x 4 x 1)
    straight = run_recipe(parse_config({**cfg, "grad_accum": 4, "adapter_name": "straight"}), settings, store)
    a, b = RunRecorder(store, run.id), RunRecorder(store, straight["run_id"])
    assert a.get().status == "completed" and a.get().adapter_name == "resumed"
    assert [s for s, _ in a.metrics("train_loss")] == list(range(1, 31))
    assert_same_curves(a, b)
    assert abs(a.get().final_metrics["eval_loss"] - straight["metrics"]["eval_loss"]) < TOL


def test_full_fine_tuning_shards_with_fsdp_and_matches_one_process(home, settings, store, tiny, tmp_path):
    cfg = recipe(tmp_path, method="full", max_steps=4, eval_every=2, learning_rate=1e-3)
    one = run_recipe(parse_config({**cfg, "adapter_name": "one"}), settings, store)
    proc = train_cli({**cfg, "grad_accum": 2, "adapter_name": "two"}, tmp_path, home, "--nproc", "2")
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    two = {r.adapter_name: r for r in list_runs(store)}["two"]
    assert_same_curves(RunRecorder(store, one["run_id"]), RunRecorder(store, two.id), ("train_loss", "grad_norm"))

    # rank 0 gathered the shards into one complete model folder, equal to the one-process result
    from safetensors.torch import load_file

    registry = AdapterRegistry(store, settings)
    a, b = (load_file(str(Path(registry.get(n).path) / "model.safetensors")) for n in ("one", "two"))
    assert sorted(a) == sorted(b)
    assert max(float((a[k] - b[k]).abs().max()) for k in a) < TOL
