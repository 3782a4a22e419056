"""Export: the merged model is a plain HF folder computing base + adapter; the adapter folder
loads with plain PEFT; a taken destination or a failed export leaves nothing behind."""

from __future__ import annotations

import json

import pytest
import torch
from lora_helpers import logits_of, make_lora, peft_logits

from tunelab.adapters import AdapterError, export_adapter, export_merged
from tunelab.models.errors import ModelSourceError


def test_merged_export_equals_base_plus_adapter(two_adapters, settings, store, tiny_model_dir, lora_dirs, tmp_path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    out = export_merged(two_adapters, settings, store, "a", tmp_path / "exports" / "merged")
    assert out == tmp_path / "exports" / "merged"
    plain = AutoModelForCausalLM.from_pretrained(out).eval()
    assert not any("lora" in k for k in plain.state_dict())
    tokenizer = AutoTokenizer.from_pretrained(out)
    expected = peft_logits(tiny_model_dir, lora_dirs["a"], AutoTokenizer.from_pretrained(tiny_model_dir))
    torch.testing.assert_close(logits_of(plain, tokenizer), expected, atol=1e-4, rtol=0)
    assert plain.dtype == torch.float32
    marker = json.loads((out / "tunelab-export.json").read_text())
    assert (marker["adapter"], marker["export"], marker["base_model"]) == ("a", "merged", "tiny")
    assert [p.name for p in out.parent.iterdir()] == ["merged"]  # no staging folder left


def test_adapter_export_loads_with_plain_peft(two_adapters, tiny_model_dir, lora_dirs, tmp_path):
    from transformers import AutoTokenizer

    (tmp_path / "out").mkdir()  # an empty folder is fine
    out = export_adapter(two_adapters, "b", tmp_path / "out")
    assert {"adapter_config.json", "adapter_model.safetensors"} <= {p.name for p in out.iterdir()}
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    torch.testing.assert_close(peft_logits(tiny_model_dir, out, tokenizer),
                               peft_logits(tiny_model_dir, lora_dirs["b"], tokenizer), atol=0, rtol=0)


def test_export_refuses_a_non_empty_folder(two_adapters, settings, store, tmp_path):
    taken = tmp_path / "exports" / "taken"
    taken.mkdir(parents=True)
    (taken / "keep.txt").write_text("mine")
    with pytest.raises(AdapterError, match="taken already exists and is not empty"):
        export_merged(two_adapters, settings, store, "a", taken)
    with pytest.raises(AdapterError, match="already exists and is not empty"):
        export_adapter(two_adapters, "a", taken)
    assert [p.name for p in taken.iterdir()] == ["keep.txt"]
    assert [p.name for p in taken.parent.iterdir()] == ["taken"]


def test_failed_merge_export_leaves_nothing(registry, settings, store, tmp_path):
    """An adapter made for another model does not fit 'tiny': a clear error, no output folder."""
    from transformers import LlamaConfig, LlamaForCausalLM

    other = tmp_path / "other-model"
    LlamaForCausalLM(LlamaConfig(vocab_size=400, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                                 num_attention_heads=4, num_key_value_heads=2)).save_pretrained(other)
    registry.register("misfit", kind="lora", path=make_lora(other, tmp_path / "misfit", seed=0), base_model="tiny")
    with pytest.raises(ModelSourceError, match="does not fit model 'tiny'.*trained on another base model"):
        export_merged(registry, settings, store, "misfit", tmp_path / "exports" / "out")
    assert list((tmp_path / "exports").iterdir()) == []
