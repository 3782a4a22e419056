"""Metadata store: SQLAlchemy models and the one session factory. Schema changes go through Alembic."""

from tunelab.store.db import Store
from tunelab.store.tables import AdapterEntry, Base, DatasetEntry, ModelEntry, Run, RunMetric

__all__ = ["Store", "Base", "ModelEntry", "DatasetEntry", "Run", "RunMetric", "AdapterEntry"]
