"""examples/ecommerce/: the SFT recipe is the quickstart's recipe, its data files are what the
sample generator writes today, and every eval YAML parses."""

from pathlib import Path

import pytest

from tunelab.eval.config import load_eval_config
from tunelab.recipes.quickstart import TRAIN_TASKS, quickstart_sft_config
from tunelab.tasks.ecommerce.prompts import build_sft_dataset
from tunelab.train import load_config

ROOT = Path(__file__).resolve().parents[3]
FOLDER = ROOT / "examples" / "ecommerce"


def test_the_recipe_is_the_quickstart_recipe():
    cfg = load_config(FOLDER / "sft-lora.yaml")
    ours = quickstart_sft_config(cfg.dataset, cfg.eval_dataset, base_model=cfg.base_model,
                                 adapter_name=cfg.adapter_name)
    assert cfg.model_dump() == ours.model_dump()


@pytest.mark.parametrize("split", ["train", "validation"])
def test_data_files_match_the_generator(tmp_path, split):
    fresh = tmp_path / f"{split}.jsonl"
    n = build_sft_dataset(split, TRAIN_TASKS, path=fresh)
    shipped = FOLDER / "data" / f"sft-{split}.jsonl"
    assert n > 50
    assert shipped.read_bytes() == fresh.read_bytes(), f"regenerate {shipped} with build_sft_dataset"


@pytest.mark.parametrize("path", sorted(FOLDER.glob("eval-*.yaml")), ids=lambda p: p.name)
def test_eval_recipes_parse(path):
    cfg = load_eval_config(path)
    assert path.stem == f"eval-{cfg.task}"
