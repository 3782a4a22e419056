"""The training loop's `stop` hook: asked after each optimizer step, it saves a checkpoint of that
step and raises TrainingCancelled; resuming the run ends with the uninterrupted run's loss."""

import json

import pytest

from tunelab.train import parse_config, resume_run, run_recipe
from tunelab.train.checkpoint import latest_checkpoint
from tunelab.train.loop import TrainingCancelled
from tunelab.train.runs import RunRecorder

ROWS = [{"instruction": "Classify the product", "input": t, "output": c}
        for t, c in [("Wireless earbuds", "Electronics"), ("Running shoes", "Apparel"), ("Green tea", "Food"),
                     ("Water bottle", "Kitchen"), ("Chef knife", "Kitchen"), ("Black tea", "Food")] * 3]


def config(path, **kw):
    return parse_config({"dataset": str(path), "base_model": "tiny", "max_steps": 8, "batch_size": 2,
                         "learning_rate": 5e-3, "val_fraction": 0.2, "save_every": 1000, "seed": 5, **kw})


def test_stop_checkpoints_the_step_and_a_resume_ends_like_a_straight_run(settings, store, tiny, tmp_path):
    data = tmp_path / "train.jsonl"
    data.write_text("\n".join(json.dumps(r) for r in ROWS))
    asked = []

    def stop() -> bool:
        asked.append(1)
        return len(asked) == 3

    with pytest.raises(TrainingCancelled) as cancelled:
        run_recipe(config(data, adapter_name="stopped"), settings, store, run_id="sft-stopped", stop=stop)
    assert cancelled.value.step == 3 and len(asked) == 3
    ckpt = latest_checkpoint(settings.home / "runs" / "sft-stopped" / "checkpoints")
    assert ckpt is not None and ckpt.name == "step-000003"  # save_every=1000: the stop wrote it
    run = RunRecorder(store, "sft-stopped").get()
    assert run.status == "failed" and run.step == 3 and "tunelab train --resume sft-stopped" in run.error

    resumed = resume_run("sft-stopped", settings, store)
    straight = run_recipe(config(data, adapter_name="straight"), settings, store)
    assert resumed["adapter"] == "stopped"
    assert resumed["metrics"]["train_loss"] == straight["metrics"]["train_loss"]
    assert [v for _, v in RunRecorder(store, "sft-stopped").metrics("train_loss")] == \
        [v for _, v in RunRecorder(store, straight["run_id"]).metrics("train_loss")]


def test_no_stop_when_it_never_says_so(settings, store, tiny, tmp_path):
    data = tmp_path / "train.jsonl"
    data.write_text("\n".join(json.dumps(r) for r in ROWS))
    out = run_recipe(config(data, max_steps=2), settings, store, stop=lambda: False)
    assert RunRecorder(store, out["run_id"]).get().status == "completed"
