"""The Collections page in a real browser: the ingest form's checks, files uploaded from the
browser and ingested by an ingest job (the dashboard server embeds with the packaged MiniLM), the
collection's documents listed, and one query searched in all three modes side by side with scores."""

from __future__ import annotations

from pathlib import Path

from browser_support import shot

NAME = "reg-help"
DOCS = {
    "returns.md": "# Returns policy\n\nYou can return any item within 30 days of delivery for a full refund. Items must "
                  "be unused and in their original packaging.\n\n## Refunds\n\nRefunds reach the original payment "
                  "method within 5 business days after the return arrives.\n",
    "shipping.md": "# Shipping\n\nStandard shipping takes 3 to 5 business days. Express shipping arrives the next "
                   "business day when ordered before 2 pm.\n\n## International\n\nWe ship to 40 countries; customs "
                   "duties are paid by the recipient.\n",
    "warranty.txt": "Every electronic device comes with a two-year warranty covering manufacturing defects. It does "
                    "not cover accidental damage such as drops or water.\n",
}


def test_ingest_uploaded_files_then_search_every_mode(watched, dashboard, tmp_path):
    page, _ = watched
    for name, text in DOCS.items():
        (tmp_path / name).write_text(text)
    page.goto(dashboard.url + "/collections")
    page.wait_for_load_state("networkidle")
    form = page.locator("#ingest-form")
    form.locator('button[type="submit"]').click()  # nothing given: messages next to the fields, no request
    assert "Name the collection" in form.inner_text() and "Choose files" in form.inner_text()
    form.locator('input[name="collection"]').fill("no spaces allowed")
    form.locator('textarea[name="sources"]').fill("relative/path")
    form.locator("summary").click()
    form.locator('input[name="chunk_size"]').fill("100")
    form.locator('input[name="chunk_overlap"]').fill("100")
    form.locator('button[type="submit"]').click()
    text = form.inner_text()
    assert "The name must be" in text and "neither an absolute path" in text and "smaller than the chunk size" in text
    shot(page, "collections-ingest-errors")

    form.locator('input[name="collection"]').fill(NAME)
    form.locator('textarea[name="sources"]').fill("")
    form.locator('input[name="chunk_size"]').fill("")
    form.locator('input[name="chunk_overlap"]').fill("")
    form.locator('input[name="files"]').set_input_files([str(tmp_path / n) for n in DOCS])
    form.locator('button[type="submit"]').click()
    form.locator("#ingest-status .badge.succeeded").wait_for(timeout=120_000)
    result = form.locator("#ingest-result").inner_text()
    assert all(n in result for n in DOCS), result
    page.locator(f'#collections tr[data-name="{NAME}"]').wait_for()
    assert page.locator(f'#collections tr[data-name="{NAME}"] td.num').first.inner_text() == "3"
    page.wait_for_function(f"document.getElementById('detail-title').textContent.startsWith('{NAME}')")
    uploads = Path(dashboard.home) / "rag" / "uploads"
    assert {p.name for p in uploads.rglob("*") if p.is_file()} >= set(DOCS)  # kept inside the home dir
    detail = page.locator("#detail").inner_text()
    assert all(n in detail for n in DOCS)
    shot(page, "collections-ingested")

    search = page.locator("#search-form")
    search.locator('select[name="collection"]').select_option(NAME)
    search.locator('input[name="query"]').fill("how long until my refund arrives")
    search.locator('button[type="submit"]').click()
    for mode in ("dense", "bm25", "hybrid"):
        page.locator(f'#results .mode-col[data-mode="{mode}"] .hit').first.wait_for()
    cols = {m: page.locator(f'#results .mode-col[data-mode="{m}"]') for m in ("dense", "bm25", "hybrid")}
    assert "cosine similarity" in cols["dense"].inner_text()
    assert "BM25 score" in cols["bm25"].inner_text()
    assert "reciprocal rank fusion" in cols["hybrid"].inner_text()
    for m, col in cols.items():
        top = col.locator(".hit").first
        assert "returns.md" in top.locator(".src").inner_text(), (m, top.inner_text())
        assert float(top.locator(".score").inner_text()) > 0
    assert cols["bm25"].locator(".hit mark").count() >= 1  # the query's words marked in the snippet
    assert "also: Dense #" in cols["hybrid"].locator(".hit").first.inner_text()
    shot(page, "collections-search")


def test_phone_width(chromium, dashboard):
    context = chromium.new_context(viewport={"width": 390, "height": 844}, color_scheme="dark")
    page = context.new_page()
    page.goto(dashboard.url + "/collections")
    page.wait_for_load_state("networkidle")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, "collections-phone-dark")
    context.close()
