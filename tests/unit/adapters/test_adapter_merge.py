"""Merging LoRA adapters: the merged adapter computes what it should, loads with plain PEFT, and
records its parents; bad combinations are refused before a model is loaded."""

from __future__ import annotations

import json

import pytest
import torch
from lora_helpers import logits_of, make_lora, peft_logits
from safetensors.torch import load_file

from tunelab.adapters import AdapterError, merge_adapters


@pytest.fixture
def tokenizer(tiny_model_dir):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_model_dir)


def merge(reg, settings, store, names, weights, **kw):
    return merge_adapters(reg, settings, store, names, weights, **kw)


def test_linear_of_one_adapter_equals_the_adapter(two_adapters, settings, store, tiny_model_dir, lora_dirs, tokenizer):
    info = merge(two_adapters, settings, store, ["a"], [1.0], method="linear", new_name="a-copy")
    assert info.path == str(settings.home / "adapters" / "a-copy")
    assert info.kind == "lora" and info.base_model == "tiny" and info.base_model_hash == two_adapters.get("a").base_model_hash
    expected = peft_logits(tiny_model_dir, lora_dirs["a"], tokenizer)
    got = peft_logits(tiny_model_dir, info.path, tokenizer)
    base = logits_of(__import__("transformers").AutoModelForCausalLM.from_pretrained(tiny_model_dir), tokenizer)
    assert (expected - base).abs().max() > 1e-2  # the adapter does change the output
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=0)


def test_cat_equals_both_adapters_active(two_adapters, settings, store, tiny_model_dir, lora_dirs, tokenizer):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    info = merge(two_adapters, settings, store, ["a", "b"], [1.0, 1.0], method="cat", new_name="ab")
    assert json.loads((settings.home / "adapters" / "ab" / "adapter_config.json").read_text())["r"] == 8
    both = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(tiny_model_dir), str(lora_dirs["a"]), adapter_name="a")
    both.load_adapter(str(lora_dirs["b"]), adapter_name="b")
    both.base_model.set_adapter(["a", "b"])  # base + delta_a + delta_b
    torch.testing.assert_close(peft_logits(tiny_model_dir, info.path, tokenizer), logits_of(both.eval(), tokenizer),
                               atol=1e-5, rtol=0)


@pytest.mark.parametrize("method", ["ties", "dare_ties"])
def test_pruning_merge_loads_and_records_parents(method, two_adapters, settings, store, tiny_model_dir, tokenizer):
    info = merge(two_adapters, settings, store, ["a", "b"], [0.6, 0.4], method=method, density=0.5, new_name="m")
    lin = info.lineage
    assert (lin["parents"], lin["method"], lin["weights"], lin["density"]) == (["a", "b"], method, [0.6, 0.4], 0.5)
    assert lin["seed"] == (0 if method == "dare_ties" else None)
    assert set(lin["versions"]) >= {"torch", "transformers", "peft", "tunelab"}
    assert info.parents == ["a", "b"] and info.wall_time_s is not None
    logits = peft_logits(tiny_model_dir, info.path, tokenizer)
    assert torch.isfinite(logits).all()
    weights = load_file(f"{info.path}/adapter_model.safetensors")
    assert any(k.endswith("lora_A.weight") for k in weights) and all(v.abs().sum() > 0 for v in weights.values())


def test_dare_is_seeded(two_adapters, settings, store):
    kw = dict(method="dare_linear", density=0.5)
    one = merge(two_adapters, settings, store, ["a", "b"], [0.5, 0.5], new_name="d1", seed=7, **kw)
    two = merge(two_adapters, settings, store, ["a", "b"], [0.5, 0.5], new_name="d2", seed=7, **kw)
    three = merge(two_adapters, settings, store, ["a", "b"], [0.5, 0.5], new_name="d3", seed=8, **kw)
    w1, w2, w3 = (load_file(f"{i.path}/adapter_model.safetensors") for i in (one, two, three))
    assert all(torch.equal(w1[k], w2[k]) for k in w1)
    assert not all(torch.equal(w1[k], w3[k]) for k in w1)


def test_rslora_adapter_merges_to_itself(registry, settings, store, tiny_model_dir, tmp_path, tokenizer):
    folder = make_lora(tiny_model_dir, tmp_path / "rs", seed=5, r=4, use_rslora=True)
    registry.register("rs", kind="lora", path=folder, base_model="tiny")
    info = merge(registry, settings, store, ["rs"], [1.0], new_name="rs-copy")
    torch.testing.assert_close(peft_logits(tiny_model_dir, info.path, tokenizer),
                               peft_logits(tiny_model_dir, folder, tokenizer), atol=1e-5, rtol=0)


def test_refusals(two_adapters, settings, store, lora_dirs, tiny_model_dir, tmp_path):
    from tunelab.models.catalogue import Catalogue

    reg = two_adapters
    cases = [
        (["a", "b"], [1.0], {}, "2 adapters but 1 weights"),
        (["a", "a"], [1.0, 1.0], {}, "named twice"),
        ([], [], {}, "at least one adapter"),
        (["a", "b"], [1, 1], {"method": "svd"}, "Merge method 'svd' is not one of: linear, ties, dare_linear, dare_ties, cat"),
        (["a", "b"], [1, 1], {"method": "ties"}, "needs a density in \\(0, 1\\]"),
        (["a", "b"], [1, 1], {"method": "dare_linear", "density": 0.0}, "needs a density"),
        (["a", "b"], [1, 1], {"density": 0.5}, "Density applies to ties, dare_linear, dare_ties only"),
        (["a", "zz"], [1, 1], {}, "Unknown adapter 'zz'. Known adapters: a, b"),
        (["a", "b"], [1, 1], {"new_name": "a"}, "An adapter named 'a' already exists"),
    ]
    for names, weights, kw, message in cases:
        with pytest.raises(AdapterError, match=message):
            merge(reg, settings, store, names, weights, **{"new_name": "new", **kw})
    reg.register("r8", kind="lora", path=lora_dirs["r8"], base_model="tiny")
    with pytest.raises(AdapterError, match="needs adapters of one rank \\(a: r=4, r8: r=8\\); use --method cat"):
        merge(reg, settings, store, ["a", "r8"], [1, 1], new_name="new")
    Catalogue(store).add("tiny2", str(tiny_model_dir))
    reg.register("c", kind="lora", path=lora_dirs["b"], base_model="tiny2")
    with pytest.raises(AdapterError, match="share one base model; these do not: a -> tiny \\(.{12}\\), c -> tiny2"):
        merge(reg, settings, store, ["a", "c"], [1, 1], new_name="new")
    assert "new" not in reg.names() and not (settings.home / "adapters" / "new").exists()
