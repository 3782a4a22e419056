"""The Evals page in a real browser: two evaluation runs stored in the dashboard's home compared
side by side (metrics with deltas against the first column, a bar chart per metric, gate results,
per-example outputs with the differing words highlighted), picked from the runs table; and the
start form: its checks, the server's message on a gate it cannot parse, and the eval job it submits."""

from __future__ import annotations

import pytest
from browser_support import shot

from tunelab.eval.report import write_report
from tunelab.eval.results import EvalResult
from tunelab.eval.runs import save_run
from tunelab.settings import Settings
from tunelab.store import Store

A, B = "reg-eval-a", "reg-eval-b"
EXAMPLES = [("e1", "Sony wireless noise cancelling headphones", "Electronics > Audio > Headphones"),
            ("e2", "Organic green tea, 100 bags", "Food > Beverages > Tea")]


@pytest.fixture(scope="module")
def stored(dashboard, tmp_path_factory):
    """Run A: the tiny base and an adapter; run B: a merged adapter; outputs differ by a word or two."""
    settings = Settings(home=dashboard.home, hub_offline=True)
    store = Store(settings)
    reports = tmp_path_factory.mktemp("eval-reports")

    def save(run_id, models, metrics, outputs, gates):
        examples = [{"id": i, "input": text, "reference": ref, "reference_text": ref,
                     "outputs": {m: {"text": outs[k]} for m, outs in outputs.items()},
                     "scores": {m: {"accuracy": float(outs[k] == ref)} for m, outs in outputs.items()}}
                    for k, (i, text, ref) in enumerate(EXAMPLES)]
        result = EvalResult(task="classify", split="test", models=models, metrics=metrics, examples=examples,
                            run_id=run_id, duration_s=2.0, gates=gates)
        save_run(store, result, report_dir=str(write_report(result, reports / run_id)["json"].parent))

    save(A, ["tiny", "shop-sft"], {"tiny": {"accuracy": 0.5, "macro_f1": 0.25}, "shop-sft": {"accuracy": 0.75, "macro_f1": 0.5}},
         {"tiny": ["Electronics > Audio", "Food > Snacks"],
          "shop-sft": ["Electronics > Audio > Headphones", "Food > Beverages > Tea"]},
         [{"gate": "accuracy >= baseline", "model": "shop-sft", "passed": True, "left": 0.75, "right": 0.5, "op": ">=",
           "detail": "accuracy 0.75 >= 0.5"}])
    save(B, ["shop-merged"], {"shop-merged": {"accuracy": 0.625, "macro_f1": 0.375}},
         {"shop-merged": ["Electronics > Audio > Headphones", "Food > Beverages"]},
         [{"gate": "accuracy >= 0.7", "model": "shop-merged", "passed": False, "left": 0.625, "right": 0.7, "op": ">=",
           "detail": "accuracy 0.625 >= 0.7"}])
    yield
    store.dispose()


def test_compare_two_runs_picked_in_the_table(watched, dashboard, stored):
    page, _ = watched
    page.goto(dashboard.url + "/evals")
    page.locator(f'#runs tr[data-id="{A}"]').wait_for()
    page.locator(f'#runs input.run-pick[value="{A}"]').check()
    page.locator(f'#runs input.run-pick[value="{B}"]').check()
    page.locator("#compare-btn").click()
    page.wait_for_url(f"**/evals#compare={A},{B}")
    page.locator("#metrics table").wait_for()
    metrics = page.locator("#metrics").inner_text().lower()  # headers are shown upper case
    assert "tiny (baseline)" in metrics and "shop-sft" in metrics and "shop-merged" in metrics
    assert "▲ +0.2500" in metrics and "▲ +0.1250" in metrics  # accuracy deltas against tiny
    assert page.locator("#charts .chart-box canvas").count() == 2  # one chart per metric
    assert page.locator("#charts .chart-box[data-metric='macro_f1']").count() == 1
    gates = page.locator("#gates").inner_text()
    assert "accuracy >= baseline" in gates and "accuracy >= 0.7" in gates
    assert page.locator("#gates .badge.pass").count() == 1 and page.locator("#gates .badge.fail").count() == 1
    # e1: shop-sft and shop-merged add "> Headphones"; e2: the merged one lacks "> Tea"
    e1 = page.locator('#examples .example[data-id="e1"]')
    assert e1.locator(f'.output[data-column="{A}/shop-sft"] mark.diff-add').inner_text() == "> Headphones"
    assert e1.locator(f'.output[data-column="{A}/tiny"] mark').count() == 0  # the baseline itself is plain
    e2 = page.locator('#examples .example[data-id="e2"]')
    assert e2.locator(f'.output[data-column="{B}/shop-merged"] del.diff-del').inner_text() == "Snacks"
    assert e2.locator(f'.output[data-column="{B}/shop-merged"] mark.diff-add').inner_text() == "Beverages"
    shot(page, "evals-compare")

    page.reload()  # the comparison is in the URL: it survives a reload
    page.locator("#metrics table").wait_for()
    assert page.locator("#compare-head .col-chip").count() == 3


def test_start_form_checks_then_runs_an_eval_job(watched, dashboard):
    page, watch = watched
    page.goto(dashboard.url + "/evals")
    form = page.locator("#eval-form")
    page.locator('#eval-form select[name="baseline"] option[value="tiny"]').wait_for(state="attached")
    form.locator('input[name="limit"]').fill("0")
    form.locator('textarea[name="gate"]').fill("accuracy")
    form.locator('button[type="submit"]').click()
    text = form.inner_text()
    assert "A whole number of examples" in text and "Line 1: a gate compares" in text
    shot(page, "evals-form-errors")

    watch.allow(400, r"/v1/jobs$")  # the gate below is refused by the server, on purpose
    form.locator('input[name="limit"]').fill("1")
    form.locator('textarea[name="gate"]').fill("f1 >= baseline +")
    form.locator('button[type="submit"]').click()
    page.locator('#eval-form [aria-invalid="true"][name="gate"]').wait_for()
    assert "ends too early" in form.inner_text()

    form.locator('select[name="task"]').select_option("qa")
    form.locator('select[name="baseline"]').select_option("tiny")
    form.locator('textarea[name="gate"]').fill("f1 >= 0")
    form.locator('button[type="submit"]').click()
    page.locator("#eval-status a").wait_for()
    page.locator("#eval-jobs td", has_text="qa: tiny").first.wait_for()
    job_id = page.locator("#eval-status a").get_attribute("href").rsplit("/", 1)[-1]
    with dashboard.client() as c:
        job = c.get(f"/v1/jobs/{job_id}").json()
        assert job["config"]["eval"]["models"] == ["tiny"] and job["config"]["eval"]["gate"] == ["f1 >= 0"]
        assert job["config"]["eval"]["limit"] == 1
        shot(page, "evals-job-submitted")
        # running it is the job worker's part (tests/integration/test_jobs_worker.py); free the shared worker
        c.post(f"/v1/jobs/{job_id}/cancel")
    page.locator("#eval-status .badge.cancelled").wait_for(timeout=60_000)


def test_phone_width(chromium, dashboard, stored):
    context = chromium.new_context(viewport={"width": 390, "height": 844}, color_scheme="dark")
    page = context.new_page()
    page.goto(dashboard.url + f"/evals#compare={A},{B}")
    page.locator("#metrics table").wait_for()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, "evals-phone-dark")
    context.close()
