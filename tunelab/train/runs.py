"""Training runs in the store: created when a run starts, metrics appended as it goes, closed with
its final metrics or its error. A resumed run drops the metrics logged after its checkpoint."""

from __future__ import annotations

import secrets
import time
from datetime import datetime, timezone

from sqlalchemy import delete, select

from tunelab.store import Run, RunMetric, Store


def new_run_id(recipe: str) -> str:
    return f"{recipe}-{datetime.now(timezone.utc):%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"


class RunRecorder:
    FLUSH_S = 2.0  # metrics reach the store in batches at most this far apart (one commit per step cost ~1%)

    def __init__(self, store: Store, run_id: str) -> None:
        self.store, self.run_id = store, run_id
        self.mirrors: list = []  # e.g. an MlflowMirror: gets every log() and the closing status
        self._pending: list[tuple[int, dict[str, float]]] = []
        self._flushed_at = time.monotonic()

    @classmethod
    def start(cls, store: Store, cfg, *, run_id: str, base_model: str, output_dir: str, total_steps: int,
              resume: bool) -> "RunRecorder":
        """Create the run (or reopen it on resume) and attach MLflow when the config asks for it."""
        if resume:
            rec = cls(store, run_id)
        else:
            rec = cls.create(store, run_id=run_id, recipe=cfg.recipe, base_model=base_model,
                             config=cfg.model_dump(mode="json"), output_dir=output_dir, total_steps=total_steps)
        if cfg.mlflow:
            from tunelab.train.tracking import MlflowMirror

            rec.mirrors.append(MlflowMirror(run_id, cfg.model_dump(mode="json"), cfg.mlflow_tracking_uri, resume))
        return rec

    @classmethod
    def create(cls, store: Store, *, run_id: str, recipe: str, base_model: str, config: dict,
               output_dir: str, total_steps: int) -> "RunRecorder":
        with store.session() as s:
            s.add(Run(id=run_id, recipe=recipe, status="running", base_model=base_model, config=config,
                      output_dir=output_dir, step=0, total_steps=total_steps, final_metrics={}))
        return cls(store, run_id)

    def get(self) -> Run:
        with self.store.session() as s:
            run = s.get(Run, self.run_id)
            if run is None:
                raise KeyError(self.run_id)
            return run

    def log(self, step: int, metrics: dict[str, float]) -> None:
        """Record a step's metrics; written to the store every FLUSH_S seconds, on eval metrics, and
        before the run finishes, fails or rewinds."""
        self._pending.append((step, dict(metrics)))
        if "eval_loss" in metrics or time.monotonic() - self._flushed_at >= self.FLUSH_S:
            self.flush()
        for m in self.mirrors:
            m.log(step, metrics)

    def flush(self) -> None:
        self._flushed_at = time.monotonic()
        if not self._pending:
            return
        pending, self._pending = self._pending, []
        with self.store.session() as s:
            s.add_all(RunMetric(run_id=self.run_id, step=step, name=k, value=float(v))
                      for step, metrics in pending for k, v in metrics.items())
            s.get(Run, self.run_id).step = pending[-1][0]

    def rewind(self, step: int) -> None:
        """Forget metrics after `step` (they came from work the crash threw away) and mark running."""
        self._pending.clear()
        with self.store.session() as s:
            s.execute(delete(RunMetric).where(RunMetric.run_id == self.run_id, RunMetric.step > step))
            run = s.get(Run, self.run_id)
            run.status, run.step, run.error = "running", step, None

    def finish(self, metrics: dict, adapter_name: str | None) -> None:
        self.flush()
        with self.store.session() as s:
            run = s.get(Run, self.run_id)
            run.status, run.final_metrics, run.adapter_name = "completed", metrics, adapter_name
            run.finished_at = datetime.now(timezone.utc)
        self._close("completed")

    def fail(self, error: str) -> None:
        self.flush()
        with self.store.session() as s:
            run = s.get(Run, self.run_id)
            run.status, run.error = "failed", error
            run.finished_at = datetime.now(timezone.utc)
        self._close("failed")

    def _close(self, status: str) -> None:
        for m in self.mirrors:
            m.close(status)
        self.mirrors = []

    def metrics(self, name: str) -> list[tuple[int, float]]:
        with self.store.session() as s:
            rows = s.execute(select(RunMetric.step, RunMetric.value).where(
                RunMetric.run_id == self.run_id, RunMetric.name == name).order_by(RunMetric.step)).all()
            return [(int(a), float(b)) for a, b in rows]


def list_runs(store: Store) -> list[Run]:
    with store.session() as s:
        return list(s.scalars(select(Run).order_by(Run.created_at.desc())).all())
