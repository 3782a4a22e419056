"""SFT on the tiny model: reproducible, lowers the loss, registers a PEFT adapter with lineage."""

import json
import re

import pytest
import torch

from tunelab.adapters.registry import AdapterRegistry
from tunelab.train import parse_config, run_recipe
from tunelab.train.runs import RunRecorder

ROWS = [
    {"instruction": "Classify the product", "input": t, "output": c}
    for t, c in [("Wireless earbuds", "Electronics"), ("Running shoes", "Apparel"), ("Green tea", "Food"),
                 ("Water bottle", "Kitchen"), ("Noise cancelling headphones", "Electronics"),
                 ("Trail shoes", "Apparel"), ("Black tea", "Food"), ("Chef knife", "Kitchen")] * 3
]


@pytest.fixture
def data_file(tmp_path):
    path = tmp_path / "train.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in ROWS))
    return path


def config(data_file, **kw):
    base = {"dataset": str(data_file), "base_model": "tiny", "max_steps": 8, "batch_size": 4,
            "learning_rate": 5e-3, "val_fraction": 0.25, "eval_every": 4, "seed": 3}
    return parse_config({**base, **kw})


def test_same_seed_same_loss_curve_and_loss_goes_down(settings, store, tiny, data_file):
    a = run_recipe(config(data_file), settings, store)
    b = run_recipe(config(data_file), settings, store)
    curve_a = RunRecorder(store, a["run_id"]).metrics("train_loss")
    curve_b = RunRecorder(store, b["run_id"]).metrics("train_loss")
    assert len(curve_a) == 8 and curve_a == curve_b
    assert a["metrics"]["eval_loss"] == b["metrics"]["eval_loss"]
    evals = RunRecorder(store, a["run_id"]).metrics("eval_loss")
    assert [s for s, _ in evals] == [4, 8] and evals[-1][1] < evals[0][1]
    assert curve_a[-1][1] < curve_a[0][1]


def test_adapter_is_plain_peft_with_lineage(settings, store, tiny, data_file):
    from peft import PeftModel

    result = run_recipe(config(data_file, adapter_name="shop-v1", max_steps=2), settings, store)
    info = AdapterRegistry(store, settings).get("shop-v1")
    assert info.kind == "lora" and info.run_id == result["run_id"] and info.base_model == "tiny"
    assert info.base_model_hash and len(info.base_model_hash) == 64
    assert info.lineage["seed"] == 3 and info.lineage["config"]["max_steps"] == 2
    [train] = [d for d in info.lineage["datasets"] if d["role"] == "train"]
    assert train["records"] == len(ROWS) and len(train["hash"]) == 64
    assert set(info.lineage["versions"]) >= {"torch", "transformers", "peft"}
    peft = PeftModel.from_pretrained(tiny.model, info.path)  # loads unchanged with plain PEFT
    ids = torch.tensor([tiny.tokenizer("Green tea")["input_ids"]])
    with torch.no_grad():
        tuned = peft(ids).logits
        with peft.disable_adapter():
            base = peft(ids).logits
    assert not torch.allclose(tuned, base)  # the adapter learned something
    assert RunRecorder(store, result["run_id"]).get().status == "completed"


def test_taken_adapter_name_is_refused_before_training(settings, store, tiny, data_file):
    run_recipe(config(data_file, adapter_name="dup", max_steps=1), settings, store)
    with pytest.raises(ValueError, match="already exists"):
        run_recipe(config(data_file, adapter_name="dup", max_steps=1), settings, store)


def test_full_and_qlora_methods_train(settings, store, tiny, data_file):
    full = run_recipe(config(data_file, method="full", max_steps=2, learning_rate=1e-4), settings, store)
    assert AdapterRegistry(store, settings).get(full["adapter"]).kind == "full"
    q = run_recipe(config(data_file, method="qlora", max_steps=2), settings, store)
    assert q["metrics"]["eval_loss"] == q["metrics"]["eval_loss"]  # finite, not NaN
    assert q["metrics"]["trainable_parameters"] < full["metrics"]["trainable_parameters"]


def test_unpacked_padded_training_matches_packed_first_step(settings, store, tiny, data_file):
    packed = run_recipe(config(data_file, max_steps=1, precision="fp32"), settings, store)
    padded = run_recipe(config(data_file, max_steps=1, precision="fp32", packing=False), settings, store)
    la = RunRecorder(store, packed["run_id"]).metrics("train_loss")[0][1]
    lb = RunRecorder(store, padded["run_id"]).metrics("train_loss")[0][1]
    assert abs(la - lb) < 1e-4


def test_llamafactory_folder_trains_unchanged(settings, store, tiny, tmp_path):
    # dataset_info.json as LLaMA-Factory users write it: custom columns and ShareGPT tags
    folder = tmp_path / "lf"
    folder.mkdir()
    (folder / "dataset_info.json").write_text(json.dumps({
        "shop_alpaca": {"file_name": "shop.json", "columns": {"prompt": "q", "query": "ctx", "response": "a"}},
        "shop_chat": {"file_name": "chat.jsonl", "formatting": "sharegpt",
                      "columns": {"messages": "dialog"},
                      "tags": {"role_tag": "speaker", "content_tag": "text", "user_tag": "customer",
                               "assistant_tag": "agent"}},
    }))
    (folder / "shop.json").write_text(json.dumps([{"q": "Category?", "ctx": t, "a": c} for t, c in
                                                  [("earbuds", "Electronics"), ("tea", "Food")] * 6]))
    (folder / "chat.jsonl").write_text("\n".join(json.dumps({"dialog": [
        {"speaker": "customer", "text": f"Do you sell {x}?"}, {"speaker": "agent", "text": f"Yes, {x} are in stock."}]})
        for x in ["socks", "mugs", "lamps", "pens"] * 3))
    cfg = parse_config({"dataset_dir": str(folder), "dataset": "shop_alpaca,shop_chat", "base_model": "tiny",
                        "max_steps": 2, "batch_size": 4, "val_fraction": 0.2})
    result = run_recipe(cfg, settings, store)
    lineage = AdapterRegistry(store, settings).get(result["adapter"]).lineage
    assert lineage["datasets"][0]["records"] == 24 and lineage["datasets"][0]["name"] == "shop_alpaca,shop_chat"


def test_skip_invalid_goes_on_and_reports(settings, store, tiny, tmp_path, capsys):
    from rich.console import Console

    path = tmp_path / "mixed.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in ROWS) + '\n{"instruction": "no output"}\n')
    with pytest.raises(ValueError, match=r"mixed.jsonl line 25: field 'output'"):
        run_recipe(config(path, max_steps=1), settings, store)
    console = Console(file=open(tmp_path / "log.txt", "w"), width=200)
    run_recipe(config(path, max_steps=1, skip_invalid=True), settings, store, console=console)
    console.file.close()
    log = (tmp_path / "log.txt").read_text()
    assert "skipped 1 of 25 invalid records" in log
    # A file, not a terminal: the loop's progress is plain lines, with the loss and tokens/s.
    assert re.search(r"^train: step 1/1  loss \d+\.\d{4}  [\d,]+ tok/s  done in 0:\d\d$", log, re.M), log


def test_mlflow_mirror_gets_params_and_metrics(settings, store, tiny, data_file, tmp_path):
    import mlflow

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    result = run_recipe(config(data_file, max_steps=3, mlflow=True, mlflow_tracking_uri=uri), settings, store)
    client = mlflow.MlflowClient(tracking_uri=uri)
    [run] = client.search_runs([client.get_experiment_by_name("tunelab").experiment_id])
    assert run.data.tags["tunelab.run_id"] == result["run_id"] and run.info.status == "FINISHED"
    assert run.data.params["lora.r"] == "16" and run.data.params["max_steps"] == "3"
    history = client.get_metric_history(run.info.run_id, "train_loss")
    ours = RunRecorder(store, result["run_id"]).metrics("train_loss")
    assert [(m.step, m.value) for m in history] == ours
