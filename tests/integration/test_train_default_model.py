"""A short LoRA run on the packaged default model lowers the loss on held-out data."""

import json

import pytest

from tunelab.data import load_dataset
from tunelab.settings import Settings
from tunelab.store import Store
from tunelab.train import parse_config, run_recipe
from tunelab.train.batching import pack
from tunelab.train.losses import causal_lm_loss
from tunelab.train.tokenize import tokenize_records

pytestmark = pytest.mark.slow

CATS = {"earbuds": "Electronics", "headphones": "Electronics", "sneakers": "Apparel & Accessories",
        "rain jacket": "Apparel & Accessories", "green tea": "Food, Beverages & Tobacco",
        "coffee beans": "Food, Beverages & Tobacco", "chef knife": "Home & Garden", "desk lamp": "Home & Garden"}
ADJ = ["red", "compact", "premium", "organic", "wireless", "classic"]


def rows(offset):
    return [{"instruction": "[CLASSIFY] Give the top-level product category.",
             "input": f"{ADJ[(i + offset) % len(ADJ)]} {item} #{i + offset}", "output": cat}
            for i, (item, cat) in enumerate(list(CATS.items()) * 4)]


def held_out_loss(model, examples):
    import torch

    with torch.no_grad():
        parts = [causal_lm_loss(model, pack(examples[i:i + 8])) for i in range(0, len(examples), 8)]
    return sum(float(p[0]) for p in parts) / sum(p[1] for p in parts)


def test_lora_on_default_model_lowers_held_out_loss(default_model, default_home, tmp_path):
    train, held = tmp_path / "train.jsonl", tmp_path / "eval.jsonl"
    train.write_text("\n".join(json.dumps(r) for r in rows(0)))
    held.write_text("\n".join(json.dumps(r) for r in rows(100)[:16]))
    eval_ex = tokenize_records(default_model.tokenizer, load_dataset(held).records, template=None, max_len=128)
    before = held_out_loss(default_model.model, eval_ex)

    settings = Settings(home=default_home)
    cfg = parse_config({"dataset": str(train), "eval_dataset": str(held), "max_steps": 8, "batch_size": 4,
                        "learning_rate": 1e-3, "max_seq_len": 128, "lora": {"r": 8, "alpha": 16}})
    result = run_recipe(cfg, settings, Store(settings))
    after = result["metrics"]["eval_loss"]
    assert after < 0.7 * before, (before, after)
