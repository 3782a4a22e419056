"""Training runs in the store: created when a run starts, metrics appended as it goes, closed with
its final metrics or its error. A resumed run drops the metrics logged after its checkpoint."""

from __future__ import annotations

import secrets
import time
from datetime import UTC, datetime

from tunelab.store import RUNS, Run, Store, UnknownRunError
from tunelab.train.tracking import MlflowMirror


def new_run_id(recipe: str) -> str:
    return f"{recipe}-{datetime.now(UTC):%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"


class RunRecorder:
    FLUSH_S = 2.0  # metrics reach the store in batches at most this far apart (one commit per step cost ~1%)

    def __init__(self, store: Store, run_id: str) -> None:
        self.store, self.run_id = store, run_id
        self.mirrors: list = []  # e.g. an MlflowMirror: gets every log() and the closing status
        self._pending: list[tuple[int, dict[str, float]]] = []
        self._flushed_at = time.monotonic()

    @classmethod
    def start(cls, store: Store, cfg, *, run_id: str, base_model: str, output_dir: str, total_steps: int,
              resume: bool) -> RunRecorder:
        """Create the run (or reopen it on resume) and attach MLflow when the config asks for it."""
        if resume:
            rec = cls(store, run_id)
        else:
            rec = cls.create(store, run_id=run_id, recipe=cfg.recipe, base_model=base_model,
                             config=cfg.model_dump(mode="json"), output_dir=output_dir, total_steps=total_steps)
        if cfg.mlflow:

            rec.mirrors.append(MlflowMirror(run_id, cfg.model_dump(mode="json"), cfg.mlflow_tracking_uri, resume))
        return rec

    @classmethod
    def create(cls, store: Store, *, run_id: str, recipe: str, base_model: str, config: dict,
               output_dir: str, total_steps: int) -> RunRecorder:
        RUNS.insert(store, id=run_id, recipe=recipe, status="running", base_model=base_model, config=config,
                    output_dir=output_dir, step=0, total_steps=total_steps, final_metrics={})
        return cls(store, run_id)

    def get(self) -> Run:
        """The run's row, detached; UnknownRunError (a KeyError) naming recent runs when there is none."""
        run = RUNS.by_key(self.store, self.run_id)
        if run is None:
            raise UnknownRunError(self.run_id, [r.id for r in RUNS.newest_first(self.store, limit=5)],
                                  kind="training run")
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
        RUNS.add_metrics(self.store, self.run_id, pending[-1][0],
                         [(step, k, float(v)) for step, metrics in pending for k, v in metrics.items()])

    def rewind(self, step: int) -> None:
        """Forget metrics after `step` (they came from work the crash threw away) and mark running."""
        self._pending.clear()
        RUNS.rewind(self.store, self.run_id, step, status="running", error=None)

    def finish(self, metrics: dict, adapter_name: str | None) -> None:
        self.flush()
        RUNS.update(self.store, self.run_id, status="completed", final_metrics=metrics, adapter_name=adapter_name,
                    finished_at=datetime.now(UTC))
        self._close("completed")

    def fail(self, error: str) -> None:
        self.flush()
        RUNS.update(self.store, self.run_id, status="failed", error=error, finished_at=datetime.now(UTC))
        self._close("failed")

    def _close(self, status: str) -> None:
        for m in self.mirrors:
            m.close(status)
        self.mirrors = []

    def metrics(self, name: str) -> list[tuple[int, float]]:
        return RUNS.metric_series(self.store, self.run_id, name)


class QuietRecorder(RunRecorder):
    """The recorder of a distributed run's other ranks: rank 0 alone writes the run's record."""

    def log(self, step: int, metrics: dict[str, float]) -> None:
        pass

    def flush(self) -> None:
        pass

    def rewind(self, step: int) -> None:
        pass

    def finish(self, metrics: dict, adapter_name: str | None) -> None:
        pass

    def fail(self, error: str) -> None:
        pass


def list_runs(store: Store) -> list[Run]:
    """Every training run, newest first (detached rows)."""
    return RUNS.newest_first(store)
