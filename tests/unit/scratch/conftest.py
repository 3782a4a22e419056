"""Fixtures for the scratch model's tests: the tiny random Llama as transformers runs it (eager
attention, fp32: the reference) and as the scratch model loads it, a tied-embedding variant, and
its tokenizer."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from scratch_helpers import make_peft_adapter


@pytest.fixture(scope="session")
def tiny_hf(tiny_model_dir):
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(tiny_model_dir, attn_implementation="eager").eval()


@pytest.fixture(scope="session")
def tiny_tokenizer(tiny_model_dir):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_model_dir)


@pytest.fixture
def tiny_scratch(tiny_model_dir):
    """A fresh scratch model per test (LoRA tests change it)."""
    from tunelab.scratch.model import ScratchLlama

    return ScratchLlama.from_folder(tiny_model_dir)


@pytest.fixture(scope="session")
def tied_model_dir(tmp_path_factory) -> Path:
    """A tiny Llama whose output layer is its embedding matrix, as in SmolLM2."""
    from transformers import LlamaConfig, LlamaForCausalLM

    cfg = LlamaConfig(vocab_size=300, hidden_size=48, intermediate_size=96, num_hidden_layers=2,
                      num_attention_heads=6, num_key_value_heads=2, tie_word_embeddings=True,
                      rope_parameters={"rope_type": "default", "rope_theta": 100000.0})
    torch.manual_seed(7)
    out = tmp_path_factory.mktemp("tied") / "tied-llama"
    LlamaForCausalLM(cfg).save_pretrained(out)
    return out


@pytest.fixture
def ids(tiny_tokenizer) -> torch.Tensor:
    """(2, seq): two prompts of the same length."""
    rows = [tiny_tokenizer("The quick brown fox jumps over")["input_ids"],
            tiny_tokenizer("Wireless earbuds with noise cancel")["input_ids"]]
    n = min(len(r) for r in rows)
    return torch.tensor([r[:n] for r in rows])


@pytest.fixture(scope="session")
def peft_adapter_dir(tmp_path_factory, tiny_model_dir) -> Path:
    return make_peft_adapter(tiny_model_dir, tmp_path_factory.mktemp("scratch-lora") / "a")
