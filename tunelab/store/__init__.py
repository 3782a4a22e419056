"""Metadata store: the tables, the one session factory, and the repositories that hold every SQL
statement (library modules call them with the Store and plain values). Schema changes go through
Alembic; this package imports nothing of TuneLab but `tunelab.settings`."""

from tunelab.store.alerts_repo import ALERTS, SCHEDULE_RESULTS, SCHEDULES
from tunelab.store.api_keys_repo import API_KEYS, ApiKeysRows
from tunelab.store.db import Store
from tunelab.store.errors import NameTakenError, UnknownNameError, UnknownRunError
from tunelab.store.feedback_repo import FEEDBACK, FeedbackRows
from tunelab.store.jobs_repo import JOBS, JobsRows
from tunelab.store.monitoring_tables import Alert, EvalSchedule, ScheduleResult, Trace
from tunelab.store.rag_repo import COLLECTIONS, CollectionsRows
from tunelab.store.registries import ADAPTERS, DATASETS, MODELS, UPSTREAMS
from tunelab.store.repo import NamedRows, Rows
from tunelab.store.runs_repo import EVAL_RUNS, RUNS, RunsRows
from tunelab.store.tables import (
    AdapterEntry,
    ApiKey,
    Base,
    Collection,
    DatasetEntry,
    Document,
    EvalRunEntry,
    Feedback,
    FeedbackAnswer,
    IngestReport,
    Job,
    JobEvent,
    ModelEntry,
    Run,
    RunMetric,
    Upstream,
    utcnow,
)
from tunelab.store.traces_repo import TRACES

__all__ = [
    "Store", "Base", "ModelEntry", "DatasetEntry", "Run", "RunMetric", "AdapterEntry", "ApiKey", "Collection",
    "Document", "IngestReport", "Upstream", "EvalRunEntry", "Job", "JobEvent", "Feedback", "FeedbackAnswer", "utcnow",
    "UnknownNameError", "UnknownRunError", "NameTakenError",
    "Rows", "NamedRows", "RunsRows", "ApiKeysRows", "CollectionsRows", "JobsRows", "JOBS", "FeedbackRows", "FEEDBACK",
    "Trace", "EvalSchedule", "ScheduleResult", "Alert", "TRACES", "SCHEDULES", "SCHEDULE_RESULTS", "ALERTS",
    "MODELS", "DATASETS", "ADAPTERS", "UPSTREAMS", "RUNS", "EVAL_RUNS", "API_KEYS", "COLLECTIONS",
]
