"""Metadata store: SQLAlchemy models and the one session factory. Schema changes go through Alembic."""

from tunelab.store.db import Store
from tunelab.store.tables import Base, ModelEntry

__all__ = ["Store", "Base", "ModelEntry"]
