"""What an evaluation run produces, whatever the task: the shape reports, the store and gates read.

`models` are the compared columns, the baseline first. `metrics[model][metric]` is a float
(higher is better unless the metric's name says otherwise). `examples` holds one dict per
example: `id`, `input`, `reference`, `outputs` (model -> what it produced) and `scores`
(model -> metric -> value for that example).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


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

    @property
    def baseline(self) -> str:
        return self.models[0]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EvalResult:
        return cls(**data)
