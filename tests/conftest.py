"""Shared fixtures: an isolated TuneLab home per test, a tiny model built once per session, and
one session-wide home where the packaged default model is converted once."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

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
