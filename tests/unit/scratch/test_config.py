"""config.json -> LlamaConfig: the numbers of the tiny model, and a clear refusal of what the scratch
model does not implement."""

import json

import pytest

from tunelab.models.errors import ModelSourceError
from tunelab.scratch.config import LlamaConfig


def test_reads_the_tiny_models_shapes(tiny_model_dir):
    cfg = LlamaConfig.from_folder(tiny_model_dir)
    assert (cfg.hidden_size, cfg.num_layers, cfg.num_heads, cfg.num_kv_heads, cfg.head_dim) == (64, 2, 4, 2, 16)
    assert cfg.group_size == 2 and cfg.rope_theta == 10000.0 and not cfg.tie_word_embeddings


def test_old_style_rope_theta_at_the_top_level_is_read(tiny_model_dir):
    raw = json.loads((tiny_model_dir / "config.json").read_text())
    raw.pop("rope_parameters")
    assert LlamaConfig.from_dict({**raw, "rope_theta": 500000.0}).rope_theta == 500000.0


@pytest.mark.parametrize("change, field", [
    ({"model_type": "mistral"}, "model_type"),
    ({"attention_bias": True}, "attention_bias"),
    ({"hidden_act": "gelu"}, "hidden_act"),
    ({"rope_parameters": {"rope_type": "llama3", "rope_theta": 5e5}}, "rope_type"),
    ({"num_key_value_heads": 3}, "num_key_value_heads"),
])
def test_what_the_scratch_model_lacks_is_refused_by_field(tiny_model_dir, change, field):
    raw = json.loads((tiny_model_dir / "config.json").read_text())
    with pytest.raises(ModelSourceError, match=field):
        LlamaConfig.from_dict({**raw, **change}, where="some/config.json")


def test_a_folder_without_config_is_named(tmp_path):
    with pytest.raises(ModelSourceError, match=f"{tmp_path} has no config.json"):
        LlamaConfig.from_folder(tmp_path)
