"""The recipe forms: every field of every recipe is in a group of its form, the JSON schema is the
pydantic model's own, problems carry their field paths (cross-field rules too), and the YAML that
`recipe_yaml` writes parses back to the same config for every example recipe."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tunelab.train import load_config, parse_config
from tunelab.train.recipe_forms import RECIPES, FieldProblem, check_recipe, recipe_forms, recipe_yaml

EXAMPLES = sorted((Path(__file__).resolve().parents[3] / "examples").glob("*.yaml"))


def test_every_field_is_in_one_group_and_the_schema_is_the_models():
    forms = {f["recipe"]: f for f in recipe_forms()}
    assert list(forms) == ["sft", "dpo", "classifier"]
    for name, model in RECIPES.items():
        grouped = [n for g in forms[name]["groups"] for n in g["fields"]]
        assert sorted(grouped) == sorted(n for n in model.model_fields if n != "recipe")
        assert len(grouped) == len(set(grouped))
        assert forms[name]["schema"] == model.model_json_schema()
    assert forms["dpo"]["schema"]["properties"]["learning_rate"]["default"] == 5e-6
    assert forms["sft"]["groups"][0]["fields"][:2] == ["base_model", "dataset"]


def test_problems_name_their_field_paths():
    check = check_recipe({"dataset": "d.jsonl", "learning_rate": -1, "lora": {"r": 0}, "lr": 1})
    assert check.config is None
    assert check.problems == [FieldProblem("learning_rate", "Input should be greater than 0"),
                              FieldProblem("lora.r", "Input should be greater than or equal to 1"),
                              FieldProblem("lr", "unknown key (not a field of this recipe)")]
    assert check_recipe({"learning_rate": 1e-4}).problems == [FieldProblem("dataset", "Field required")]
    assert check_recipe({"dataset": "d", "recipe": "rlhf"}).problems == [
        FieldProblem("recipe", "recipe must be one of: sft, dpo, classifier")]


def test_a_rule_across_fields_is_put_on_the_field_it_names():
    full = check_recipe({"dataset": "d", "method": "full", "lora": {"r": 4}}).problems
    assert [p.path for p in full] == ["method"] and "remove the `lora:` section" in full[0].message
    nf4 = check_recipe({"dataset": "d", "method": "lora", "quantization": "nf4"}).problems
    assert nf4 == [FieldProblem("quantization", "quantization: nf4 with method: lora is QLoRA; write method: qlora.")]


def test_a_valid_recipe_is_normalised():
    cfg = check_recipe({"dataset": "d", "method": "qlora"}).config
    assert cfg.quantization == "nf4" and cfg.lora.r == 16 and cfg.recipe == "sft"


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_the_yaml_reads_back_to_the_same_config(path, tmp_path):
    cfg = load_config(path)
    text = recipe_yaml(cfg)
    out = tmp_path / "recipe.yaml"
    out.write_text(text)
    assert load_config(out) == cfg
    assert text.splitlines()[2] == f"recipe: {cfg.recipe}"
    assert "# Peak learning rate" in text  # every key under its help text


def test_yaml_keeps_awkward_values():
    cfg = parse_config({"dataset": "my data: v2.jsonl", "chat_template": "{% for m in messages %}\n{{ m }}\n{% endfor %}",
                        "lora": {"target_modules": ["q_proj", "v_proj"]}, "learning_rate": 3e-6,
                        "adapter_name": "yes", "max_grad_norm": None})
    text = recipe_yaml(cfg)
    assert "chat_template: |" in text and "target_modules: [q_proj, v_proj]" in text
    assert parse_config(yaml.safe_load(text)) == cfg
