"""One module per evaluated task (classify, extract, qa, preference), each with the same functions:

- `metric_names(config)`: the metrics the task reports (gates are checked against them before a run);
- `load_examples(config)`: the split as `Example`s (the user's `data` file or the packaged sample);
- `prepare(config, settings)`: what predictions and scoring share (taxonomy, category index, ...);
- `predict(model, example, ctx)`: one model's output on one example, a JSON-able dict with `text`;
- `parse_prediction(value, example, ctx)`: the same dict from a user's prediction file;
- `to_prediction(output)`: the other way: what `tunelab predict` writes for an output;
- `failed_output(error)`: the output recorded when a model failed on an example;
- `score(examples, outputs, ctx)`: per-model metrics, per-example scores and breakdowns;
- `judge_view(example, output)`: (input, reference, output) texts an LLM judge reads.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Example:
    """One evaluated item: `id` (unique in the run), the `input` text a report shows, the gold
    `reference` (JSON-able), `reference_text` (how a report shows it) and the typed source `record`."""

    id: str
    input: str
    reference: Any
    reference_text: str
    record: Any = None


@dataclass
class Scores:
    """What `score` returns: metrics[model][metric], per_example[model][i][metric] and breakdowns
    (see `EvalResult.breakdowns`)."""

    metrics: dict[str, dict[str, float]]
    per_example: dict[str, list[dict[str, float]]]
    breakdowns: dict[str, dict[str, Any]] = field(default_factory=dict)


TASK_MODULES = {"classify": "tunelab.eval.tasks.classify", "extract": "tunelab.eval.tasks.extract",
                "qa": "tunelab.eval.tasks.qa", "preference": "tunelab.eval.tasks.preference"}


def get_task(name: str):
    """The task module for `name` (imported on first use)."""
    if name not in TASK_MODULES:
        raise ValueError(f"Unknown eval task {name!r}: choose one of {', '.join(TASK_MODULES)} (or retrieval).")
    return importlib.import_module(TASK_MODULES[name])


def select_split(records: list, split: str, limit: int | None, source: str) -> list:
    """The records of `split` (all of them when none carries a split), the first `limit` of them."""
    if any(getattr(r, "split", None) for r in records):
        chosen = [r for r in records if (getattr(r, "split", None) or "test") == split]
    else:
        chosen = list(records)
    if not chosen:
        named = sorted({getattr(r, "split", None) or "test" for r in records})
        raise ValueError(f"{source} has no records of split '{split}' (its splits: {', '.join(named)}); "
                         "choose one of them with --split.")
    return chosen[:limit] if limit else chosen


def unique_ids(examples: list[Example], source: str) -> list[Example]:
    """Refuse two examples with one id: predictions and reports are matched by id."""
    seen: set[str] = set()
    for ex in examples:
        if ex.id in seen:
            raise ValueError(f"{source}: id {ex.id!r} occurs twice; every record needs its own id.")
        seen.add(ex.id)
    return examples
