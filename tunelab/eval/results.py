"""What an evaluation run produces, whatever the task: the shape reports, the store and gates read.

`models` are the compared columns, the baseline first. `metrics[model][metric]` is a float
(higher is better unless `higher_is_better(metric)` says otherwise; NaN where a metric could not be
computed). `examples` holds one dict per example: `id`, `input` (text shown in reports),
`reference` (the gold value, JSON), `reference_text` (how reports show it), `outputs` (model -> a
dict with at least `text`, how reports show the prediction, and `error` when the model failed on
that example) and `scores` (model -> metric -> value for that example). `breakdowns` are optional
per-label tables (e.g. per-class F1): name -> {"metric", "labels", "support", "values": model -> list}.
`gates` holds the outcomes of the run's `--gate` checks (see `tunelab.eval.gate.GateOutcome.to_dict`).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, fields
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # annotations only
    from tunelab.eval.tasks import Example, Scores

# Metric names (or name endings) for which a lower value is better: counts of failures, latency.
_LOWER_IS_BETTER_SUFFIXES = ("_invalid", "_errors", "errors", "_s", "_ms", "latency")


def higher_is_better(metric: str) -> bool:
    """False for failure counts and timings (names ending in _invalid, errors, _s, _ms, latency)."""
    return not metric.endswith(_LOWER_IS_BETTER_SUFFIXES)


@dataclass
class EvalResult:
    task: str  # classify | extract | qa | retrieval | ...
    split: str
    models: list[str]
    metrics: dict[str, dict[str, float]]
    examples: list[dict[str, Any]] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)  # the run's settings, echoed in the report
    duration_s: float = 0.0
    run_id: str | None = None
    breakdowns: dict[str, dict[str, Any]] = field(default_factory=dict)
    gates: list[dict[str, Any]] = field(default_factory=list)

    @property
    def baseline(self) -> str:
        return self.models[0]

    @property
    def candidates(self) -> list[str]:
        """Every model but the baseline (the baseline itself when it is the only one)."""
        return self.models[1:] or self.models[:1]

    def metric_names(self) -> list[str]:
        """Every metric any model has, in first-seen order (the baseline's first)."""
        return list(dict.fromkeys(name for model in self.models for name in self.metrics.get(model, {})))

    def value(self, model: str, metric: str) -> float:
        """metrics[model][metric], NaN when that model has no such metric."""
        return float(self.metrics.get(model, {}).get(metric, math.nan))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EvalResult:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


def json_safe(value: Any) -> Any:
    """`value` as strict JSON can hold it: NaN/inf (which browsers' JSON.parse and PostgreSQL refuse)
    become None, keys become strings, other objects their JSON (str() as a last resort)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return json.loads(json.dumps(value, default=str))


def build_result(task: str, split: str, columns: list[str], examples: list[Example],
                 outputs: dict[str, list[dict]], scores: Scores, *, params: dict[str, Any] | None = None,
                 duration_s: float = 0.0, run_id: str | None = None) -> EvalResult:
    """An `EvalResult` from examples, per-column outputs and their scores."""
    rows = []
    for i, ex in enumerate(examples):
        rows.append({
            "id": ex.id, "input": ex.input, "reference": ex.reference, "reference_text": ex.reference_text,
            "outputs": {c: outputs[c][i] for c in columns},
            "scores": {c: scores.per_example[c][i] for c in columns},
        })
    return EvalResult(task=task, split=split, models=list(columns), metrics=scores.metrics, examples=rows,
                      params=dict(params or {}), duration_s=duration_s, run_id=run_id, breakdowns=scores.breakdowns)
