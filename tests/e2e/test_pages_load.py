"""Every page of the dashboard loads in a real browser with no console error and no failed
request, at laptop and phone widths, light and dark; each is saved as a screenshot."""

from __future__ import annotations

import httpx
import pytest
from browser_support import shot

from tunelab.web.pages import PAGES


@pytest.mark.parametrize("path", list(PAGES))
def test_page_loads_clean(watched, dashboard, path):
    page, _ = watched
    page.goto(dashboard.url + path)
    page.wait_for_load_state("networkidle")
    title = PAGES[path][1]
    assert page.title() == f"{title} · TuneLab"
    assert page.locator("h1.page-title").inner_text() == title
    assert page.locator(f'.nav a.active:has-text("{title}")').count() == 1
    shot(page, "page" + (path.replace("/", "-") if path != "/" else "-home"))


def test_home_shows_the_base_model_device_and_the_queue(watched, dashboard):
    page, _ = watched
    jobs = httpx.get(dashboard.url + "/v1/jobs?limit=8").json()["data"]  # other tests may have run jobs
    page.goto(dashboard.url + "/")
    page.wait_for_function("document.getElementById('model').textContent === 'tiny'")
    assert "cpu" in page.locator("#device").inner_text()
    shown = page.locator("#jobs").inner_text()
    if jobs:
        assert jobs[0]["id"][:8] in shown
    else:
        assert "No jobs yet" in shown


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_phone_width_and_both_themes(chromium, dashboard, theme):
    context = chromium.new_context(viewport={"width": 390, "height": 844}, color_scheme=theme)
    page = context.new_page()
    page.goto(dashboard.url + "/")
    page.wait_for_function("document.getElementById('model').textContent === 'tiny'")
    # nothing wider than the screen: the nav scrolls inside itself
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    bg = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert (bg == "rgb(15, 18, 24)") == (theme == "dark"), bg
    shot(page, f"phone-home-{theme}")
    context.close()


def test_an_unknown_page_is_a_page_not_a_traceback(watched, dashboard):
    page, watch = watched
    watch.allow(404, r"/no-such-page$")
    resp = page.goto(dashboard.url + "/no-such-page")
    assert resp.status == 404
    assert "There is no page here." in page.locator("main").inner_text()
    assert page.locator("a", has_text="Back to the home page").count() == 1
    # the API's own errors stay JSON
    assert page.request.get(dashboard.url + "/v1/nothing").json()["error"]["type"] == "not_found_error"


def test_a_lost_connection_shows_and_the_page_catches_up(watched, dashboard):
    page, watch = watched
    page.goto(dashboard.url + "/")
    page.wait_for_function("document.getElementById('model').textContent === 'tiny'")
    page.context.set_offline(True)
    page.wait_for_selector("#conn.lost", timeout=15_000)  # the next poll fails: the dot turns red
    assert page.locator(".toast.error").first.inner_text().startswith("The server cannot be reached")
    page.context.set_offline(False)
    page.wait_for_selector("#conn:not(.lost)", timeout=15_000)  # the poll after it succeeds
    watch.problems[:] = [p for p in watch.problems if "ERR_INTERNET_DISCONNECTED" not in p]
