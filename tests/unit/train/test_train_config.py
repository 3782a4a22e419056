import pytest

from tunelab.train.config import ConfigError, LoraSettings, load_config, parse_config


def test_defaults_and_lora_filled_in():
    cfg = parse_config({"dataset": "d.jsonl"})
    assert cfg.recipe == "sft" and cfg.method == "lora" and cfg.quantization == "none"
    assert cfg.lora == LoraSettings() and cfg.packing and cfg.completion_only_loss


def test_qlora_implies_nf4():
    assert parse_config({"dataset": "d", "method": "qlora"}).quantization == "nf4"


@pytest.mark.parametrize("data, message", [
    ({"dataset": "d", "method": "full", "quantization": "nf4"}, "method: full cannot train 4-bit"),
    ({"dataset": "d", "method": "full", "lora": {"r": 8}}, "remove the `lora:` section"),
    ({"dataset": "d", "method": "lora", "quantization": "nf4"}, "write method: qlora"),
    ({"dataset": "d", "learning_rat": 1e-4}, "learning_rat: unknown key"),
    ({"dataset": "d", "lora": {"rank": 8}}, "lora.rank: unknown key"),
    ({"dataset": "d", "batch_size": 0}, "batch_size: Input should be greater than or equal to 1"),
    ({}, "dataset: Field required"),
    ({"recipe": "rlhf", "dataset": "d"}, "recipe"),
])
def test_bad_configs_are_refused_with_a_sentence(data, message):
    with pytest.raises(ConfigError, match=message):
        parse_config(data)


def test_yaml_with_overrides(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("dataset: d.jsonl\nlearning_rate: 1.0e-4\nlora:\n  r: 8\n")
    cfg = load_config(path, ["lora.alpha=4", "max_steps=3", "lora.target_modules=[q_proj, v_proj]"])
    assert (cfg.learning_rate, cfg.lora.r, cfg.lora.alpha, cfg.max_steps) == (1e-4, 8, 4, 3)
    assert cfg.lora.target_modules == ["q_proj", "v_proj"]
    with pytest.raises(ConfigError, match="expected key=value"):
        load_config(path, ["max_steps"])
    with pytest.raises(ConfigError, match=r"c.yaml: epochs: Input should be greater than 0"):
        load_config(path, ["epochs=0"])


def test_unreadable_and_non_mapping_yaml(tmp_path):
    with pytest.raises(ConfigError, match="Cannot read config"):
        load_config(tmp_path / "missing.yaml")
    bad = tmp_path / "list.yaml"
    bad.write_text("- a\n- b\n")
    with pytest.raises(ConfigError, match="top level must be a mapping"):
        load_config(bad)
