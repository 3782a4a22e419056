"""DPO from an SFT adapter, killed with SIGKILL mid-way and resumed: the same losses and reward
metrics as an uninterrupted run (the policy and frozen reference copies are rebuilt identically)."""

import json
import os
import signal
import subprocess
import sys
import time

import yaml

from tunelab.train import parse_config, run_recipe
from tunelab.train.runs import RunRecorder, list_runs

ITEMS = [("Wireless earbuds", "Electronics", "Food"), ("Running shoes", "Apparel", "Kitchen"),
         ("Green tea", "Food", "Electronics"), ("Water bottle", "Kitchen", "Apparel"),
         ("Chef knife", "Kitchen", "Electronics"), ("Black tea", "Food", "Apparel")]


def test_sigkill_then_resume_dpo_matches_an_uninterrupted_run(home, settings, store, tiny, tmp_path):
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text("\n".join(json.dumps({"prompt": f"Category of {t} (item {i})?", "chosen": c, "rejected": r})
                               for i in range(4) for t, c, r in ITEMS))
    sft = tmp_path / "sft.jsonl"
    sft.write_text("\n".join(json.dumps({"instruction": f"Category of {t}?", "output": c}) for t, c, _ in ITEMS))
    run_recipe(parse_config({"dataset": str(sft), "base_model": "tiny", "max_steps": 2, "val_fraction": 0,
                             "adapter_name": "sft-base", "learning_rate": 1e-2}), settings, store)
    cfg = {"recipe": "dpo", "dataset": str(pairs), "base_model": "tiny", "sft_adapter": "sft-base", "max_steps": 12,
           "batch_size": 2, "save_every": 3, "eval_every": 6, "learning_rate": 5e-3, "val_fraction": 0.2,
           "seed": 4, "precision": "fp32", "adapter_name": "resumed"}
    path = tmp_path / "cfg.yaml"
    path.write_text(yaml.safe_dump(cfg))
    env = {**os.environ, "TUNELAB_HOME": str(home)}
    proc = subprocess.Popen([sys.executable, "-m", "tunelab", "train", str(path)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not list((home / "runs").glob("dpo-*/checkpoints/step-000006")):
        assert proc.poll() is None, proc.stderr.read()
        assert time.monotonic() < deadline
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    [run] = [r for r in list_runs(store) if r.recipe == "dpo"]
    assert run.status == "running" and 6 <= run.step < 12
    resumed = subprocess.run([sys.executable, "-m", "tunelab", "train", "--resume", run.id], env=env,
                             capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert "Resuming" in resumed.stderr

    straight = run_recipe(parse_config({**cfg, "adapter_name": "straight"}), settings, store)
    a, b = RunRecorder(store, run.id), RunRecorder(store, straight["run_id"])
    for name in ("train_loss", "eval_loss", "eval_reward_accuracy", "eval_reward_margin"):
        got, want = a.metrics(name), b.metrics(name)
        assert [s for s, _ in got] == [s for s, _ in want] and got
        assert all(abs(va - vb) < 1e-6 for (_, va), (_, vb) in zip(got, want)), (name, got, want)
