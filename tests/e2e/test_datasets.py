"""The Datasets page in a real browser: a malformed upload shows its line and field against the file
(and registers nothing), a wrong file type is refused before anything is sent, and a good upload
lists the dataset and opens its statistics (token lengths as a histogram) and records, page by page."""

from __future__ import annotations

import json
import uuid

from browser_support import shot


def chat_rows(n: int) -> list[str]:
    return [json.dumps({"messages": [{"role": "user", "content": f"Question {i}: " + "is it waterproof? " * (i % 6)},
                                     {"role": "assistant", "content": f"Answer {i}: " + "yes, to 50 m. " * (i % 9)}]})
            for i in range(n)]


def test_a_malformed_upload_shows_its_line_and_field(watched, dashboard, tmp_path):
    page, watch = watched
    watch.allow(400, r"/v1/datasets$")  # the server's refusal is what the page shows
    rows = chat_rows(6)
    rows[3] = '{"messages": [{"role": "user", "content": "Is it blue?"}, {"role": "assistant"}]}'
    path = tmp_path / "shop-faq.jsonl"
    path.write_text("\n".join(rows) + "\n")
    page.goto(dashboard.url + "/datasets")
    page.set_input_files("#file", str(path))
    page.fill("#name", "faq-" + uuid.uuid4().hex[:6])
    page.click("#upload-button")
    box = page.locator("#upload-error")
    box.wait_for()
    assert box.locator(".where").inner_text() == "line 4, field messages[1].content"
    assert box.locator(".reason").inner_text() == "line 4, field messages[1].content: missing"
    assert box.locator(".excerpt .bad").inner_text() == "4" + rows[3]  # the line number, then the line itself
    assert box.locator(".excerpt > div").count() == 5  # two lines either side
    assert page.locator("#list").inner_text().count("faq-") == 0
    shot(page, "datasets-upload-error")

    sent = []
    page.on("request", lambda r: r.method == "POST" and sent.append(r.url))
    (tmp_path / "notes.txt").write_text("hello")
    page.set_input_files("#file", str(tmp_path / "notes.txt"))
    page.click("#upload-button")
    assert "A .jsonl, .json, .csv, .tsv, .parquet file" in page.locator("#file-error").inner_text()
    page.fill("#name", "bad name!")
    page.click("#upload-button")
    assert "letters, digits" in page.locator("#name-error").inner_text()
    assert sent == []


def test_upload_list_statistics_and_records(watched, dashboard, tmp_path, chromium):
    page, _ = watched
    name = "waterproof-" + uuid.uuid4().hex[:6]
    path = tmp_path / f"{name}.jsonl"
    path.write_text("\n".join(chat_rows(27)) + "\n")
    page.goto(dashboard.url + "/datasets")
    page.set_input_files("#file", str(path))
    page.click("#upload-button")
    page.wait_for_selector(f'#list tr[data-name="{name}"].selected')
    assert page.url.endswith("#" + name)
    page.wait_for_function("document.getElementById('records-range').textContent === '1–10 of 27'")
    assert page.locator("#records .record").count() == 10
    assert "Question 0" in page.locator("#records .record").first.inner_text()
    page.click("#rec-next"); page.click("#rec-next")  # noqa: E702
    page.wait_for_function("document.getElementById('records-range').textContent === '21–27 of 27'")
    assert page.locator("#rec-next").is_disabled()

    with dashboard.client() as c:
        stats = c.get(f"/v1/datasets/{name}/stats", params={"bins": 20, "max_seq_len": 40}).json()
    page.wait_for_selector("#histogram canvas")
    assert page.locator("#stats-unit").inner_text() == "in tokens of tiny"
    assert page.locator("#stats .chip").first.inner_text() == "chat: 27"
    assert page.get_attribute("#histogram", "data-bins") == str(len(stats["histogram"]["counts"]))
    cells = page.locator("#stats table.lengths td").all_inner_texts()
    assert cells[0] == str(stats["lengths"]["min"]) and cells[-1] == str(stats["lengths"]["max"])
    page.fill("#max-len", "40")
    page.dispatch_event("#max-len", "change")
    page.wait_for_function("t => document.getElementById('over').textContent === t",
                           arg=f"{stats['over_max_seq_len']} of 27")
    shot(page, "datasets-detail")

    phone = chromium.new_context(viewport={"width": 390, "height": 844}, color_scheme="dark")
    small = phone.new_page()
    small.goto(f"{dashboard.url}/datasets#{name}")
    small.wait_for_selector("#histogram canvas")
    small.wait_for_function("document.getElementById('records-range').textContent === '1–10 of 27'")
    assert small.evaluate("document.documentElement.scrollWidth") <= 390
    shot(small, "datasets-phone-dark")
    phone.close()
