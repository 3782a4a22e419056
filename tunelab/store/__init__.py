"""Metadata store: SQLAlchemy models and the one session factory. Schema changes go through Alembic."""

from tunelab.store.db import Store
from tunelab.store.tables import (
    AdapterEntry, ApiKey, Base, Collection, DatasetEntry, Document, IngestReport, ModelEntry, Run, RunMetric, Upstream,
)

__all__ = ["Store", "Base", "ModelEntry", "DatasetEntry", "Run", "RunMetric", "AdapterEntry", "ApiKey",
           "Collection", "Document", "IngestReport", "Upstream"]
