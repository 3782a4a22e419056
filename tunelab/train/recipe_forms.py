"""The recipe configs as a form sees them: `recipe_forms()` gives each recipe's JSON schema, taken
from its pydantic model (so a form follows the same rules as the YAML), with its fields grouped;
`check_recipe(data)` validates as a YAML file is validated and names every problem by its field
path; `recipe_yaml(cfg)` writes the commented YAML that `tunelab train FILE` reads back."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from tunelab.train.config import ClassifierConfig, DPOConfig, SFTConfig, _adapter

RECIPES: dict[str, type[BaseModel]] = {"sft": SFTConfig, "dpo": DPOConfig, "classifier": ClassifierConfig}
TITLES = {
    "sft": ("Supervised fine-tuning", "Teach the model to answer like your examples: LoRA, QLoRA or every weight."),
    "dpo": ("Preference tuning (DPO)", "Move the model towards chosen answers and away from rejected ones."),
    "classifier": ("Encoder classifier", "A small encoder with a classification head, for labels from text."),
}
# How a form lays the fields out. A field no group names lands in the last one, so a new field of a
# config still shows (tests/unit/test_recipe_forms.py keeps every field named).
GROUPS: list[tuple[str, tuple[str, ...], bool]] = [  # (title, fields, open at first)
    ("Model and data", ("base_model", "dataset", "eval_dataset", "val_fraction", "dataset_format", "dataset_dir",
                        "skip_invalid", "sft_adapter", "chat_template"), True),
    ("Method", ("method", "quantization", "lora", "beta", "packing", "group_by_length",
                "completion_only_loss"), True),
    ("Optimisation", ("epochs", "max_steps", "batch_size", "grad_accum", "learning_rate", "lr_scheduler",
                      "warmup_ratio", "weight_decay", "max_grad_norm", "max_seq_len", "precision",
                      "gradient_checkpointing", "seed"), True),
    ("Evaluation and checkpoints", ("eval_every", "save_every", "log_every"), False),
    ("Output and tracking", ("adapter_name", "mlflow", "mlflow_tracking_uri"), False),
]


@dataclass(frozen=True)
class FieldProblem:
    path: str  # dotted field path ("lora.r"), "" for the recipe as a whole
    message: str


@dataclass
class RecipeCheck:
    config: SFTConfig | DPOConfig | ClassifierConfig | None
    problems: list[FieldProblem] = field(default_factory=list)


def _groups(model: type[BaseModel]) -> list[dict[str, Any]]:
    names = [n for n in model.model_fields if n != "recipe"]
    out = []
    for title, wanted, open_ in GROUPS:
        fields = [n for n in wanted if n in names]
        if fields:
            out.append({"title": title, "fields": fields, "open": open_})
    placed = {n for g in out for n in g["fields"]}
    rest = [n for n in names if n not in placed]
    if rest:
        out[-1]["fields"].extend(rest)
    return out


def recipe_forms() -> list[dict[str, Any]]:
    """One entry per recipe: its name, title, description, JSON schema and field groups."""
    return [{"recipe": name, "title": TITLES[name][0], "description": TITLES[name][1],
             "schema": model.model_json_schema(), "groups": _groups(model)} for name, model in RECIPES.items()]


def _path_of(err: dict, fields: set[str]) -> str:
    loc = [str(x) for x in err["loc"][1:]]  # [0] is the recipe tag of the union
    if loc:
        return ".".join(loc)
    if err["type"].startswith("union_tag"):
        return "recipe"
    # A rule across fields ("method: full cannot ...") names its field first.
    head = err["msg"].removeprefix("Value error, ").split(":", 1)[0].strip()
    return head if head in fields else ""


def _message(err: dict) -> str:
    if err["type"] == "extra_forbidden":
        return "unknown key (not a field of this recipe)"
    if err["type"].startswith("union_tag"):
        return f"recipe must be one of: {', '.join(RECIPES)}"
    return err["msg"].removeprefix("Value error, ")


def check_recipe(data: dict[str, Any]) -> RecipeCheck:
    """Validate `data` as `parse_config` does (recipe defaults to sft); every problem with its path."""
    data = dict(data)
    data.setdefault("recipe", "sft")
    try:
        return RecipeCheck(_adapter.validate_python(data))
    except ValidationError as exc:
        model = RECIPES.get(str(data.get("recipe")), SFTConfig)
        fields = set(model.model_fields)
        return RecipeCheck(None, [FieldProblem(_path_of(e, fields), _message(e)) for e in exc.errors()])


class _Dumper(yaml.SafeDumper):
    """Multi-line text (a Jinja chat template) as a literal block, lists inline."""


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|" if "\n" in value else None)


def _inline(dumper: yaml.SafeDumper, value: list) -> yaml.Node:
    return dumper.represent_sequence("tag:yaml.org,2002:seq", value, flow_style=True)


_Dumper.add_representer(str, _text)
_Dumper.add_representer(list, _inline)


def _key(name: str, value: Any, indent: str) -> list[str]:
    text = yaml.dump({name: value}, Dumper=_Dumper, default_flow_style=False, allow_unicode=True, width=1 << 16,
                     sort_keys=False)
    return [indent + line for line in text.rstrip("\n").split("\n")]


def _lines(model: type[BaseModel], values: dict[str, Any], order: list[str], indent: str) -> list[str]:
    out: list[str] = []
    for name in order:
        if name not in values:
            continue
        info, value = model.model_fields[name], values[name]
        if info.description:
            out.extend(indent + "# " + line for line in textwrap.wrap(info.description, 100 - len(indent)))
        nested = _nested_model(info.annotation)
        if isinstance(value, dict) and nested is not None:
            out.append(f"{indent}{name}:")
            out.extend(_lines(nested, value, list(nested.model_fields), indent + "  "))
        else:
            out.extend(_key(name, value, indent))
    return out


def _nested_model(annotation: Any) -> type[BaseModel] | None:
    for candidate in (annotation, *getattr(annotation, "__args__", ())):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def recipe_yaml(cfg: SFTConfig | DPOConfig | ClassifierConfig) -> str:
    """The whole normalised recipe as YAML in the form's order, each key under its help text;
    `tunelab train` reads it back to the same config."""
    values = cfg.model_dump(mode="json")
    head = [f"# TuneLab {cfg.recipe} recipe. Run it with:  tunelab train THIS_FILE.yaml",
            "# (or submit it as a job: tunelab train THIS_FILE.yaml --detach)",
            f"recipe: {cfg.recipe}"]
    order = [n for g in _groups(type(cfg)) for n in g["fields"]]
    body = _lines(type(cfg), values, order, "")
    return "\n".join(head + body) + "\n"
