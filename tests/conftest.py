"""Shared fixtures: an isolated TuneLab home per test, a tiny model built once per session, one
session-wide home where the packaged default model is converted once, and the metadata store on
each backend (`db_url`, `any_settings`, `any_store`: SQLite, then PostgreSQL)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from pg_support import pg_server  # noqa: E402, F401 - a fixture
from tiny_model import build_tiny_model  # noqa: E402

from tunelab.settings import Settings  # noqa: E402
from tunelab.store import Store  # noqa: E402

TESTS = Path(__file__).parent
LEVELS = ("unit", "integration", "e2e")  # a marker per folder, registered in pyproject.toml


def pytest_collection_modifyitems(items) -> None:
    """Mark every test by where it lives (tests/unit/... is `unit`), so `-m` can pick a level."""
    for item in items:
        level = Path(item.path).relative_to(TESTS).parts[0]
        if level not in LEVELS:
            raise pytest.UsageError(f"{item.nodeid}: tests live under tests/unit, tests/integration or tests/e2e.")
        item.add_marker(level)
    # Fast ones first, the browser last: Playwright's sync API runs an event loop in the main thread
    # while a browser is open, and the other tests call asyncio.run(), which refuses to run inside one.
    items.sort(key=lambda it: LEVELS.index(Path(it.path).relative_to(TESTS).parts[0]))


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("tiny") / "tiny-llama")


@pytest.fixture(scope="session")
def tiny_model_no_template_dir(tmp_path_factory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("tiny-nt") / "tiny-llama-nt", chat_template=False)


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    """A fresh TuneLab home; the environment points there for CLI runs and subprocesses."""
    from tunelab.cli import common

    h = tmp_path / "home"
    monkeypatch.setenv("TUNELAB_HOME", str(h))
    monkeypatch.setenv("TUNELAB_HUB_OFFLINE", "1")
    common.settings.cache_clear()
    common.store.cache_clear()
    yield h
    common.settings.cache_clear()
    common.store.cache_clear()


@pytest.fixture
def settings(home) -> Settings:
    return Settings()


@pytest.fixture
def store(settings) -> Store:
    s = Store(settings)
    yield s
    s.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, home, monkeypatch) -> str:
    """The metadata store's URL, once per backend: the SQLite file under the test's home, and a
    fresh database on the session's PostgreSQL server (dropped after the test). For PostgreSQL,
    TUNELAB_DATABASE_URL points there, so every `Settings()` of the test (the CLI's too) uses it."""
    if request.param == "sqlite":
        return Settings().db_url
    server = request.getfixturevalue("pg_server")
    url = server.create_database()
    request.addfinalizer(lambda: server.drop_database(url))
    monkeypatch.setenv("TUNELAB_DATABASE_URL", url)
    return url


@pytest.fixture
def any_settings(db_url) -> Settings:
    """`settings` on the store backend of `db_url`."""
    s = Settings()
    assert s.db_url == db_url
    return s


@pytest.fixture
def any_store(any_settings) -> Store:
    """`store` on each backend: a test (or a module overriding `store` with it) runs on SQLite and on PostgreSQL."""
    s = Store(any_settings)
    yield s
    s.dispose()


@pytest.fixture
def tiny(settings, store, tiny_model_dir):
    """The tiny model registered as 'tiny' and loaded."""
    from tunelab.models.catalogue import Catalogue
    from tunelab.models.loader import load_model

    Catalogue(store).add("tiny", str(tiny_model_dir))
    return load_model("tiny", settings, store=store)


@pytest.fixture(scope="session")
def default_home(tmp_path_factory) -> Path:
    """A home shared by the slow tests, so the packaged GGUF is converted once per session."""
    return tmp_path_factory.mktemp("default-home")


@pytest.fixture(scope="session")
def default_model(default_home):
    from tunelab.models.loader import load_model

    return load_model("smollm2-135m-instruct", Settings(home=default_home))
