"""Every recipe YAML in examples/ parses into its typed config, and the data it names is there."""

from pathlib import Path

import pytest

from tunelab.data import load_dataset
from tunelab.train import ClassifierConfig, DPOConfig, SFTConfig, load_config

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))
KINDS = {"sft": SFTConfig, "dpo": DPOConfig, "classifier": ClassifierConfig}


def test_there_are_examples_of_every_recipe():
    recipes = {load_config(p).recipe for p in EXAMPLES}
    assert recipes == set(KINDS)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_parses_and_its_data_exists(path):
    cfg = load_config(path)
    assert isinstance(cfg, KINDS[cfg.recipe])
    for ref in (cfg.dataset, cfg.eval_dataset):
        if ref is None:
            continue
        data = ROOT / ref  # paths in examples are relative to the repository root
        assert data.is_file(), f"{path.name}: dataset {ref} not found under {ROOT}"
        records = load_dataset(data, cfg.dataset_format).records
        expected = {"sft": "chat", "dpo": "preference", "classifier": "classification"}[cfg.recipe]
        assert {r.kind for r in records} == {expected}


def test_overrides_apply_to_examples():
    cfg = load_config(ROOT / "examples" / "sft-lora.yaml", ["lora.r=8", "learning_rate=1e-4"])
    assert cfg.lora.r == 8 and cfg.learning_rate == 1e-4
