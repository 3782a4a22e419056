"""The report of a hand-built result, read back the way a browser does (html.parser): the metrics
table holds the values with the best bold and deltas against the baseline, the charts are PNGs
embedded inline, data from examples is escaped, and report.json / examples.jsonl round-trip."""

import base64
import json
import math
from html.parser import HTMLParser

import pytest

from tunelab.eval.report import write_report
from tunelab.eval.results import EvalResult

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


class ReportParser(HTMLParser):
    """Collects metric cells, images, scripts, table rows of the examples and all text."""

    def __init__(self):
        super().__init__()
        self.cells, self.images, self.scripts, self.example_rows, self.text = [], [], 0, [], []
        self._cell = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "td" and "data-metric" in a:
            self._cell = {"metric": a["data-metric"], "value": a["data-value"], "best": "best" in a.get("class", ""),
                          "text": ""}
        elif tag == "img":
            self.images.append(a)
        elif tag == "script":
            self.scripts += 1
        elif tag == "tr" and "data-id" in a:
            self.example_rows.append((a["data-id"], "disagree" in (a.get("class") or "")))

    def handle_endtag(self, tag):
        if tag == "td" and self._cell is not None:
            self.cells.append(self._cell)
            self._cell = None

    def handle_data(self, data):
        self.text.append(data)
        if self._cell is not None:
            self._cell["text"] += data


def example(i, reference, outputs):
    return {"id": f"p{i}", "input": f"<script>alert({i})</script> product {i}", "reference": reference,
            "reference_text": reference, "outputs": {m: {"text": t, "correct": t == reference} for m, t in outputs.items()},
            "scores": {m: {"correct": float(t == reference)} for m, t in outputs.items()}}


@pytest.fixture
def result():
    return EvalResult(
        task="classify", split="test", models=["base", "shop-v1", "shop-v2"],
        metrics={"base": {"accuracy": 0.5, "f1": 0.25, "judge": 3.0, "judge_invalid": 2.0},
                 "shop-v1": {"accuracy": 0.75, "f1": 0.6, "judge": 4.5, "judge_invalid": 0.0},
                 "shop-v2": {"accuracy": 0.25, "f1": math.nan, "judge": 2.0, "judge_invalid": 1.0}},
        examples=[example(0, "Socks", {"base": "Socks", "shop-v1": "Socks", "shop-v2": "Socks"}),
                  example(1, "Shoes", {"base": "Boots", "shop-v1": "Shoes", "shop-v2": "Boots"}),
                  example(2, "Hats", {"base": "Hats", "shop-v1": "Hats", "shop-v2": "Caps & <Hats>"})],
        breakdowns={"per_class": {"title": "Per-class F1", "metric": "f1", "label_name": "category",
                                  "labels": ["Socks", "Shoes", "Hats"], "support": [1, 1, 1],
                                  "values": {"base": [1.0, 0.0, 1.0], "shop-v1": [1.0, 1.0, 1.0],
                                             "shop-v2": [1.0, 0.0, 0.0]}}},
        params={"limit": 3}, duration_s=2.5, run_id="eval-classify-test",
        gates=[{"gate": "f1 >= baseline + 0.02", "model": "shop-v1", "passed": True, "left": 0.6, "right": 0.27,
                "op": ">=", "detail": "f1 0.6 >= baseline f1 0.25 + 0.02"}],
    )


def test_report_files_and_metrics_table(result, tmp_path):
    paths = write_report(result, tmp_path / "out")
    assert set(paths) == {"html", "json", "examples"} and all(p.is_file() for p in paths.values())
    page = ReportParser()
    page.feed(paths["html"].read_text(encoding="utf-8"))

    cells = {(c["metric"], i // 4): c for i, c in enumerate(page.cells)}  # 4 metrics per model row
    assert len(page.cells) == 12
    for row, model in enumerate(result.models):
        for metric, value in result.metrics[model].items():
            cell = cells[(metric, row)]
            if math.isnan(value):
                assert cell["value"] == "" and cell["text"].startswith("—")
            else:
                assert float(cell["value"]) == value
    best = {(c["metric"], i // 4) for i, c in enumerate(page.cells) if c["best"]}
    # higher is better for scores, lower for the count of unusable verdicts; NaN is never best
    assert best == {("accuracy", 1), ("f1", 1), ("judge", 1), ("judge_invalid", 1)}
    assert "+0.2500 vs baseline" in cells[("accuracy", 1)]["text"]
    assert "-0.2500 vs baseline" in cells[("accuracy", 2)]["text"]
    assert "vs baseline" not in cells[("accuracy", 0)]["text"]

    text = "".join(page.text)
    assert "f1 >= baseline + 0.02" in text and "pass" in text
    assert "Per-class F1" in text


def test_charts_are_inline_pngs(result, tmp_path):
    page = ReportParser()
    page.feed(write_report(result, tmp_path)["html"].read_text(encoding="utf-8"))
    assert len(page.images) == 4  # metrics, other metrics (judge), deltas, per-class
    for img in page.images:
        prefix = "data:image/png;base64,"
        assert img["src"].startswith(prefix) and img["alt"]
        png = base64.b64decode(img["src"][len(prefix):], validate=True)
        assert png.startswith(PNG_MAGIC) and len(png) > 2000


def test_examples_are_escaped_and_disagreements_marked(result, tmp_path):
    html = write_report(result, tmp_path)["html"].read_text(encoding="utf-8")
    page = ReportParser()
    page.feed(html)
    assert page.scripts == 0  # the <script> in the inputs is text, not a tag
    assert "&lt;script&gt;alert(0)&lt;/script&gt;" in html and "Caps &amp; &lt;Hats&gt;" in html
    # first the side-by-side table (all three), then the disagreements (p1 and p2 only)
    assert page.example_rows == [("p0", False), ("p1", True), ("p2", True), ("p1", True), ("p2", True)]
    assert "2 of 3 examples" in "".join(page.text)


def test_json_and_examples_round_trip(result, tmp_path):
    paths = write_report(result, tmp_path)
    data = json.loads(paths["json"].read_text(encoding="utf-8"))  # strict JSON: NaN written as null
    assert data["metrics"]["shop-v2"]["f1"] is None
    back = EvalResult.from_dict(data)
    assert back.models == result.models and back.gates == result.gates and back.run_id == result.run_id
    assert back.metrics["shop-v1"] == result.metrics["shop-v1"]
    lines = paths["examples"].read_text(encoding="utf-8").splitlines()
    assert [json.loads(line) for line in lines] == result.examples


def test_example_limit_and_a_single_model(tmp_path):
    single = EvalResult("qa", "test", ["only"], {"only": {"f1": 0.5}},
                        examples=[example(i, "x", {"only": "x"}) for i in range(5)], params={"report_examples": 2})
    page = ReportParser()
    page.feed(write_report(single, tmp_path)["html"].read_text(encoding="utf-8"))
    assert [r[0] for r in page.example_rows] == ["p0", "p1"]
    assert [c["best"] for c in page.cells] == [False]  # nothing to compare with
    assert len(page.images) == 1  # no delta chart without a candidate
