"""Optional MLflow mirror of a run's params and metrics (`mlflow: true` in a recipe).

The store stays the record of truth; MLflow gets a copy. A resumed run continues the MLflow run
tagged with the same TuneLab run id.
"""

from __future__ import annotations

from tunelab.train.config import ConfigError

TAG = "tunelab.run_id"


def _flatten(d: dict, prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(_flatten(v, key + "."))
        else:
            out[key] = str(v)[:500]
    return out


def check_mlflow() -> None:
    try:
        import mlflow  # noqa: F401  # lazy: mlflow is slow to import
    except ImportError:
        raise ConfigError("mlflow: true needs MLflow: pip install 'tunelab[mlflow]'") from None


class MlflowMirror:
    def __init__(self, run_id: str, config: dict, tracking_uri: str | None, resume: bool) -> None:
        import mlflow  # lazy: mlflow is slow to import

        self.mlflow = mlflow
        if tracking_uri:
            mlflow.set_tracking_uri(tracking_uri)
        experiment = mlflow.set_experiment("tunelab")
        existing = None
        if resume:
            found = mlflow.search_runs([experiment.experiment_id], filter_string=f"tags.`{TAG}` = '{run_id}'",
                                       output_format="list")
            existing = found[0].info.run_id if found else None
        self.run = mlflow.start_run(run_id=existing, run_name=None if existing else run_id, tags={TAG: run_id})
        if not existing:
            mlflow.log_params(_flatten(config))

    def log(self, step: int, metrics: dict[str, float]) -> None:
        self.mlflow.log_metrics({k: float(v) for k, v in metrics.items()}, step=step)

    def close(self, status: str) -> None:
        self.mlflow.end_run(status="FINISHED" if status == "completed" else "FAILED")
