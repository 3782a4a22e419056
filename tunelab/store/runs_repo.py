"""Training runs with their metric history (`runs`, `run_metrics`), and evaluation runs
(`eval_runs`), by id. Callers pass the Store and plain values and get detached rows back."""

from __future__ import annotations

from sqlalchemy import delete, select

from tunelab.store.db import Store
from tunelab.store.repo import Rows, assign
from tunelab.store.tables import EvalRunEntry, Run, RunMetric


class RunsRows(Rows[Run]):
    """Training runs; their metrics are written with the run's step, so the two never disagree."""

    def add_metrics(self, store: Store, run_id: str, step: int, points: list[tuple[int, str, float]]) -> None:
        """Append `points` (step, metric name, value) and set the run's step to `step`."""
        with store.session(immediate=True) as s:
            s.add_all(RunMetric(run_id=run_id, step=at, name=name, value=value) for at, name, value in points)
            s.get(Run, run_id).step = step

    def rewind(self, store: Store, run_id: str, step: int, **values) -> None:
        """Drop the metrics logged after `step`, and set the run's step and `values`."""
        with store.session(immediate=True) as s:
            s.execute(delete(RunMetric).where(RunMetric.run_id == run_id, RunMetric.step > step))
            assign(s.get(Run, run_id), {"step": step, **values})

    def metric_series(self, store: Store, run_id: str, name: str) -> list[tuple[int, float]]:
        """(step, value) of metric `name`, by step."""
        with store.session() as s:
            rows = s.execute(select(RunMetric.step, RunMetric.value)
                             .where(RunMetric.run_id == run_id, RunMetric.name == name).order_by(RunMetric.step))
            return [(int(at), float(value)) for at, value in rows]

    def metrics_after(self, store: Store, run_id: str, after: int = 0) -> list[tuple[int, int, str, float]]:
        """(id, step, name, value) of the run's metric points with an id above `after`, in order."""
        with store.session() as s:
            rows = s.execute(select(RunMetric.id, RunMetric.step, RunMetric.name, RunMetric.value)
                             .where(RunMetric.run_id == run_id, RunMetric.id > after).order_by(RunMetric.id))
            return [(int(i), int(at), str(name), float(value)) for i, at, name, value in rows]

    def all_metrics(self, store: Store, run_id: str) -> dict[str, list[tuple[int, float]]]:
        """Every metric of the run: name -> (step, value) by step, names in the order first logged."""
        with store.session() as s:
            rows = s.execute(select(RunMetric.name, RunMetric.step, RunMetric.value)
                             .where(RunMetric.run_id == run_id).order_by(RunMetric.step, RunMetric.id))
            series: dict[str, list[tuple[int, float]]] = {}
            for name, at, value in rows:
                series.setdefault(name, []).append((int(at), float(value)))
            return series


RUNS = RunsRows(Run)
EVAL_RUNS: Rows[EvalRunEntry] = Rows(EvalRunEntry)
