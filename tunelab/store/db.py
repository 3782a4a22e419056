"""The one place that opens a database session.

`Store(settings)` builds the engine, brings the schema to the latest Alembic revision (upgrades
only add; they never drop a user's data) and hands out sessions with `store.session()`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from tunelab.settings import Settings

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
MIGRATION_LOCK = 0x74756E65  # PostgreSQL advisory lock key held while migrating ("tune")


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    # The driver's own transaction handling off: `_sqlite_begin` starts every transaction, so a claim
    # can ask for BEGIN IMMEDIATE (the write lock first, then the read: two workers never pick one job).
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")  # readers do not block the writer (server + CLI at once)
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()


def _sqlite_begin(conn) -> None:
    conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("immediate") else "BEGIN")


class Store:
    def __init__(self, settings: Settings, *, migrate: bool = True) -> None:
        self.url = settings.db_url
        if self.url.startswith("sqlite"):
            settings.ensure_home()
        self.engine: Engine = create_engine(self.url, future=True)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
            event.listen(self.engine, "begin", _sqlite_begin)
        if migrate:
            self.upgrade()
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    def upgrade(self, revision: str = "head") -> None:
        """Migrate to `revision`. Processes that open a new database at once (a server, its job
        runners, a CLI command) take turns: the first migrates, the others then find nothing to do."""
        cfg = alembic_config(self.url)
        with self.engine.execution_options(immediate=True).begin() as conn:  # SQLite: the write lock first
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)

    @contextmanager
    def session(self, *, immediate: bool = False) -> Iterator[Session]:
        """A transaction: committed when the block ends normally, rolled back on error. `immediate`:
        take the database's write lock at the start (SQLite's BEGIN IMMEDIATE; PostgreSQL locks rows
        with SELECT ... FOR UPDATE instead), for a read-then-write that must not interleave."""
        s = self._sessions(bind=self.engine.execution_options(immediate=True)) if immediate else self._sessions()
        try:
            yield s
            s.commit()
        except BaseException:
            s.rollback()
            raise
        finally:
            s.close()

    def dispose(self) -> None:
        self.engine.dispose()
