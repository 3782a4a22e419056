"""Every page of the dashboard loads in a real browser with no console error and no failed
request, at laptop and phone widths, light and dark; each is saved as a screenshot."""

from __future__ import annotations

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


def test_home_shows_the_base_model_device_and_empty_queue(watched, dashboard):
    page, _ = watched
    page.goto(dashboard.url + "/")
    page.wait_for_function("document.getElementById('model').textContent === 'tiny'")
    assert "cpu" in page.locator("#device").inner_text()
    # the dashboard is shared by every browser test: the queue may hold their jobs by now
    page.wait_for_function("document.querySelector('#jobs table, #jobs .empty') !== null")


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
