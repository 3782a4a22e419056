"""A train job's follow-up evaluation: {"recipe": {...}, "eval_after": {...}}. When training ends,
the new adapter is evaluated against its parent (`baseline`; default: the recipe's sft_adapter, else
its base model) with gates, and the eval run's id and the gate outcomes join the job's result.

`eval_after` (checked by `jobs.kinds` when the job is submitted) holds eval config fields (not
`models`: the job sets [parent, new adapter]) and `baseline`. For a DPO recipe the task defaults to `preference`, the gate to
`preference_accuracy >= baseline`, and the data to the pairs the run held out (its eval_dataset,
else the val_fraction split of its dataset, which DPO did not train on). A failed gate does not
fail the job: the adapter exists either way, and `gates_passed` says whether to use it.
"""

from __future__ import annotations

import asyncio

from tunelab.eval.config import eval_config_from
from tunelab.eval.results import json_safe
from tunelab.settings import Settings
from tunelab.store import Store


def _pairs_file(data: str | None, recipe, settings: Settings, store: Store, job_id: str) -> str:
    """The preference pairs to evaluate on, as a file: a registered dataset's copy, the file given,
    or the pairs the run held out (written next to the job's log)."""
    from tunelab.data.registry import DatasetRegistry  # lazy: only a follow-up evaluation needs it
    from tunelab.data.writers import write_jsonl  # lazy: only a follow-up evaluation needs it
    from tunelab.train.datasets import data_for  # lazy: only a follow-up evaluation needs it

    registry = DatasetRegistry(store, settings)
    if data is not None:
        return registry.get(data).path if data in registry.names() else data
    held = data_for(recipe, settings, store).eval
    if not held:
        raise ValueError(f"Dataset {recipe.dataset} left no pair out of training (too few records for "
                         f"val_fraction={recipe.val_fraction}); give eval_after.data or the recipe's eval_dataset.")
    path = settings.home / "jobs" / f"{job_id}.heldout.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    write_jsonl(held, path)
    return str(path)


def parent_of(recipe) -> str:
    """What a recipe's adapter is compared against: the adapter it starts from, else its base model."""
    return getattr(recipe, "sft_adapter", None) or recipe.base_model


def run_eval_after(spec: dict, recipe, adapter: str, *, settings: Settings, store: Store, job_id: str,
                   console, print_line) -> dict:
    """Evaluate `adapter` against its parent as `spec` says; the values for the job's result."""
    from tunelab.eval.runner import run_eval  # lazy: only a follow-up evaluation needs the eval stack
    from tunelab.progress import Progress  # lazy: only a follow-up evaluation shows this progress

    spec = dict(spec)
    baseline = spec.pop("baseline", None) or parent_of(recipe)
    if spec["task"] == "preference":
        spec["data"] = _pairs_file(spec.get("data"), recipe, settings, store, job_id)
    cfg = eval_config_from({**spec, "models": [baseline, adapter]}, f"job {job_id} eval_after")
    print_line(f"eval_after: {cfg.task} of {adapter} against {baseline}" + (f" on {cfg.data}" if cfg.data else ""))
    with Progress(console, f"eval {cfg.task}", interval_s=settings.progress_interval_s) as progress:
        result = asyncio.run(run_eval(cfg, settings, store, progress=progress))
    for g in result.gates:
        print_line(f"gate {'pass' if g['passed'] else 'FAIL'} {g['model']}: {g['gate']} ({g['detail']})")
    return {"eval_run_id": result.run_id, "eval_baseline": baseline, "eval_data": cfg.data,
            "eval_metrics": json_safe(result.metrics), "eval_report": result.params.get("out"), "gates": json_safe(result.gates),
            "gates_passed": all(g["passed"] for g in result.gates)}
