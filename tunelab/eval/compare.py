"""Stored evaluation runs side by side: `compare_runs(store, ids)` puts every (run, model) column next
to the others with its metrics and its deltas against the baseline (the first run's first model,
delta = value - baseline value), and the per-example outputs of the runs whose report folder kept
them (examples.jsonl), matched by example id. Plain JSON out (NaN as None)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from tunelab.eval.results import json_safe
from tunelab.eval.runs import EvalRunInfo, get_run
from tunelab.store import Store

MAX_EXAMPLES = 200  # per comparison: enough to page through in a dashboard, small enough to send


def _finite(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and math.isfinite(value) else None


def _examples(run: EvalRunInfo) -> list[dict]:
    """The run's stored examples ([] when its report folder has none)."""
    if not run.report_dir:
        return []
    path = Path(run.report_dir) / "examples.jsonl"
    if not path.is_file():
        return []
    out = []
    with path.open(encoding="utf-8") as f:
        for line in f:
            if line.strip():
                try:
                    out.append(json.loads(line))
                except json.JSONDecodeError:
                    continue  # a line cut by a crash: the others still compare
    return out


def compare_runs(store: Store, ids: list[str], *, max_examples: int = MAX_EXAMPLES) -> dict[str, Any]:
    """{"runs" (the EvalRunInfo of each id), "baseline", "metric_names", "columns", "examples"};
    UnknownEvalRunError for an unknown id."""
    runs = [get_run(store, i) for i in ids]
    names: list[str] = []
    for run in runs:
        for vals in run.metrics.values():
            names += [n for n in vals if n not in names]
    first = runs[0] if runs else None
    baseline = None
    if first is not None and first.models:
        model = first.models[0]
        baseline = {"run_id": first.id, "model": model,
                    "metrics": {n: _finite(first.metrics.get(model, {}).get(n)) for n in names}}
    columns = []
    for run in runs:
        for model in run.models:
            metrics = {n: _finite(run.metrics.get(model, {}).get(n)) for n in names}
            deltas = {}
            for n, v in metrics.items():
                b = baseline["metrics"].get(n) if baseline else None
                deltas[n] = None if v is None or b is None else v - b
            columns.append({"run_id": run.id, "model": model, "metrics": metrics, "deltas": deltas})
    if baseline is not None:
        baseline["deltas"] = {n: (0.0 if v is not None else None) for n, v in baseline["metrics"].items()}
    examples: dict[str, dict] = {}
    for run in runs:
        for ex in _examples(run):
            key = str(ex.get("id"))
            row = examples.get(key)
            if row is None:
                if len(examples) >= max_examples:
                    continue
                row = examples[key] = {"id": key, "input": ex.get("input"), "reference": ex.get("reference"),
                                       "outputs": {}, "scores": {}}
            for model, output in (ex.get("outputs") or {}).items():
                row["outputs"][f"{run.id}/{model}"] = output
            for model, score in (ex.get("scores") or {}).items():
                row["scores"][f"{run.id}/{model}"] = score
    return {"runs": runs, **json_safe({"baseline": baseline, "metric_names": names, "columns": columns,
                                       "examples": list(examples.values())})}
