from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from pg_support import settings_on_each_backend, store_on_each_backend  # noqa: F401 - fixtures: SQLite, then PostgreSQL

from tunelab.settings import Settings
from tunelab.store import Base, ModelEntry, Store
from tunelab.store.db import alembic_config


def test_settings_read_prefixed_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("TUNELAB_HOME", str(tmp_path / "h"))
    monkeypatch.setenv("TUNELAB_MAX_NEW_TOKENS", "77")
    s = Settings()
    assert s.home == (tmp_path / "h").resolve()
    assert s.max_new_tokens == 77
    assert s.db_url == f"sqlite:///{tmp_path / 'h' / 'tunelab.db'}"


def test_settings_default_home_is_under_user_home(monkeypatch):
    monkeypatch.delenv("TUNELAB_HOME", raising=False)
    assert Settings().home == (Path.home() / ".tunelab").resolve()


def test_settings_refuse_bad_values(monkeypatch):
    monkeypatch.setenv("TUNELAB_MAX_NEW_TOKENS", "0")
    try:
        Settings()
    except ValueError as exc:
        assert "max_new_tokens" in str(exc)
    else:
        raise AssertionError("max_new_tokens=0 was accepted")


def test_migrations_match_the_orm_tables(store):
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_upgrade_is_idempotent_and_keeps_rows(settings, store):
    with store.session() as s:
        s.add(ModelEntry(name="keep-me", kind="hub", source="org/m", extra={}))
    store.upgrade()
    again = Store(settings)  # a second process opening the same database upgrades again
    with again.session() as s:
        names = s.scalars(sa.select(ModelEntry.name)).all()
    assert names == ["keep-me"]
    with again.engine.connect() as conn:
        current = conn.execute(sa.text("select version_num from alembic_version")).scalar()
    assert current == ScriptDirectory.from_config(alembic_config(again.url)).get_current_head()
    again.dispose()


def test_session_rolls_back_on_error(store):
    try:
        with store.session() as s:
            s.add(ModelEntry(name="half", kind="hub", source="org/m", extra={}))
            s.flush()
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    with store.session() as s:
        assert s.scalars(sa.select(ModelEntry)).all() == []


def test_upgrade_from_the_first_revision_keeps_models(settings):
    # A user on an older TuneLab (schema 0001) upgrades: their registered models survive.
    old = Store(settings, migrate=False)
    old.upgrade("0001")
    with old.engine.begin() as conn:
        conn.execute(sa.text("insert into models (name, kind, source, extra, created_at) "
                             "values ('mine', 'hub', 'org/m', '{}', '2026-01-01')"))
    old.upgrade()
    with old.session() as s:
        assert s.scalars(sa.select(ModelEntry.name)).all() == ["mine"]
    old.dispose()


def test_each_backend_is_the_one_it_says(store, db_url):
    # The PostgreSQL variant really talks to PostgreSQL, on a database of its own (empty at the start).
    assert store.engine.dialect.name == db_url.split(":", 1)[0].split("+", 1)[0]
    with store.session() as s:
        assert s.scalars(sa.select(ModelEntry)).all() == []
        if store.engine.dialect.name == "postgresql":
            assert s.scalar(sa.text("select current_database()")) == db_url.rsplit("/", 1)[1]


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_processes_opening_a_new_database_at_once_take_turns_migrating(backend, request, tmp_path):
    """A server, its job runners and a CLI command may all open a database that is not there yet:
    the first migrates, the others wait for it (SQLite's write lock, a PostgreSQL advisory lock)."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "TUNELAB_HOME": str(tmp_path / "home")}
    if backend == "postgresql":
        server = request.getfixturevalue("pg_server")
        env["TUNELAB_DATABASE_URL"] = url = server.create_database()
        request.addfinalizer(lambda: server.drop_database(url))
    code = "from tunelab.settings import Settings; from tunelab.store import Store; Store(Settings()).dispose()"
    procs = [subprocess.Popen([sys.executable, "-c", code], env=env, stderr=subprocess.PIPE, text=True)
             for _ in range(4)]
    errors = [p.communicate(timeout=120)[1] for p in procs]
    assert [p.returncode for p in procs] == [0] * 4, [e.strip().splitlines()[-1:] for e in errors]
