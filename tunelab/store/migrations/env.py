"""Alembic environment: runs migrations on the connection the Store hands over (or on the URL)."""

from alembic import context
from sqlalchemy import create_engine

from tunelab.store import monitoring_tables  # noqa: F401 - its tables join Base.metadata
from tunelab.store.tables import Base

config = context.config
target_metadata = Base.metadata


def run() -> None:
    conn = config.attributes.get("connection")
    if conn is None:
        engine = create_engine(config.get_main_option("sqlalchemy.url"))
        with engine.begin() as conn:
            _migrate(conn)
        engine.dispose()
    else:
        _migrate(conn)


def _migrate(conn) -> None:
    # render_as_batch lets ALTER TABLE work on SQLite by copying the table, keeping its rows.
    context.configure(connection=conn, target_metadata=target_metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


run()
