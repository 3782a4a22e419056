"""Fixtures of the browser tests: one Chromium for the session, one dashboard server with the tiny
model (registered as 'tiny', its own home), and a fresh browser page per test whose console errors
and failed requests fail the test."""

from __future__ import annotations

import pytest
from browser_support import CHROMIUM, CHROMIUM_ARGS, Dashboard, Watch

from tunelab.models.catalogue import Catalogue
from tunelab.settings import Settings
from tunelab.store import Store


@pytest.fixture(scope="module")
def chromium():
    """Per module, not per session: Playwright's sync API runs an event loop in this thread while it
    is open, and tests elsewhere call asyncio.run(), which refuses to run inside one."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


def tiny_home(tmp_path_factory, tiny_model_dir, name: str):
    home = tmp_path_factory.mktemp(name) / "home"
    store = Store(Settings(home=home, hub_offline=True))
    Catalogue(store).add("tiny", str(tiny_model_dir))
    store.dispose()
    return home


@pytest.fixture(scope="session")
def dashboard(tmp_path_factory, tiny_model_dir):
    server = Dashboard(tiny_home(tmp_path_factory, tiny_model_dir, "dashboard"))
    yield server
    server.stop()


@pytest.fixture
def watched(chromium):
    """A new page (laptop width) and its Watch; the test fails on any problem the Watch saw."""
    context = chromium.new_context(viewport={"width": 1280, "height": 860})
    page = context.new_page()
    watch = Watch(page)
    yield page, watch
    context.close()
    assert not watch.problems, "\n".join(watch.problems)
