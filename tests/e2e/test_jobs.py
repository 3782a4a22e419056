"""The Jobs pages in a real browser, as a user drives them: a training job on the tiny model, from a
dataset uploaded through the Datasets page and a recipe filled in on the Train form, whose loss
chart grows while it runs and is still live after a reload, with its log; then the queue: jobs
reordered with the arrows and by dragging, a waiting job cancelled and retried, a cancelled training
run resumed in a new job."""

from __future__ import annotations

import json
import time
import uuid

from browser_support import shot

from tunelab.store.jobs_repo import DONE

# Enough steps that the page sees the chart at two sizes while the job runs, even on a fast CPU (32 steps
# of the tiny model once ended before the page's first look at a running job).
STEPS = 240
POINTS = "Number(document.querySelector('#chart-loss').closest('figure').dataset.points)"


def small_chat(n: int) -> str:
    rows = [{"messages": [{"role": "user", "content": f"Which bottle keeps drinks cold? Case {i}."},
                          {"role": "assistant", "content": "The stainless steel water bottle, 750 ml."}]}
            for i in range(n)]
    return "".join(json.dumps(r) + "\n" for r in rows)


def upload_through_the_page(page, url: str, tmp_path, name: str, n: int = 16) -> None:
    path = tmp_path / f"{name}.jsonl"
    path.write_text(small_chat(n))
    page.goto(url + "/datasets")
    page.set_input_files("#file", str(path))
    assert page.input_value("#name") == name  # suggested from the file's name
    page.click("#upload-button")
    page.wait_for_selector(f'#list tr[data-name="{name}"]')
    page.wait_for_function("document.getElementById('records-range').textContent.includes('of')")


def wait_job(client, job_id: str, statuses, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        job = client.get(f"/v1/jobs/{job_id}").json()
        if job["status"] in statuses:
            return job
        assert time.monotonic() < deadline, f"{job_id} still {job['status']}"
        time.sleep(0.5)


def wait_steps(client, job_id: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while True:
        run_id = client.get(f"/v1/jobs/{job_id}").json()["result"].get("run_id")
        run = client.get(f"/v1/runs/{run_id}") if run_id else None
        if run is not None and run.status_code == 200 and run.json()["step"] >= 1:
            return
        assert time.monotonic() < deadline, f"{job_id} trained no step in {timeout} s"
        time.sleep(0.5)


def test_training_from_the_form_charts_live_and_after_a_reload(watched, dashboard, tmp_path, chromium):
    page, _ = watched
    name = "bottles-" + uuid.uuid4().hex[:6]
    upload_through_the_page(page, dashboard.url, tmp_path, name)
    page.click(f'#list tr[data-name="{name}"] a:has-text("Train on it")')
    page.wait_for_selector("#f-dataset")
    assert page.input_value("#f-dataset") == name
    for folded in ("Evaluation and checkpoints", "Output and tracking"):
        page.click(f"summary:has-text('{folded}')")
    every = str(STEPS // 4)
    for field, value in [("base_model", "tiny"), ("max_steps", str(STEPS)), ("batch_size", "2"), ("max_seq_len", "64"),
                         ("save_every", every), ("eval_every", every), ("adapter_name", name + "-sft")]:
        page.locator(f"#f-{field}").fill(value)
    page.wait_for_function(f"document.getElementById('yaml').textContent.includes('max_steps: {STEPS}')")
    page.click("#submit")
    page.wait_for_url("**/jobs/job-*", timeout=30_000)
    job_id = page.url.rsplit("/", 1)[1]

    # Count the loss chart's points as they come, while the job says it is running: two counts.
    page.wait_for_function(f"""() => {{
        const n = {POINTS}, running = document.getElementById('job-status').textContent === 'running';
        window.seen = window.seen || [];
        if (running && n > 0 && !window.seen.includes(n)) window.seen.push(n);
        return window.seen.length >= 2 || document.getElementById('job-status').textContent === 'succeeded';
    }}""", timeout=180_000, polling=100)
    seen = page.evaluate("window.seen")
    assert len(seen) >= 2 and seen[1] > seen[0], f"the chart did not grow while the job ran: {seen}"
    second = seen[-1]
    assert "train: step" in page.locator("#log").inner_text()
    shot(page, "job-running")

    page.reload()  # the charts come back from the stored series and keep growing
    page.wait_for_function(f"{POINTS} >= {second}", timeout=30_000)
    page.wait_for_function(f"{POINTS} > {second} || "
                           "document.getElementById('job-status').textContent === 'succeeded'", timeout=120_000)
    page.wait_for_function("document.getElementById('job-status').textContent === 'succeeded'", timeout=180_000)
    page.wait_for_function(f"{POINTS} === {STEPS}", timeout=30_000)
    assert page.locator("#log").inner_text().count("Registered lora adapter") == 1
    eval_points = page.evaluate("document.querySelector('#chart-loss').closest('figure').querySelectorAll"
                                "('.u-series').length")
    assert eval_points == 3  # step, train, eval: the eval series is drawn too
    assert page.locator(f'#job-facts a:has-text("{name}-sft")').count() == 1
    shot(page, "job-succeeded")
    page.check("#log-scale")
    page.wait_for_timeout(300)
    shot(page, "job-log-scale", full_page=False)
    with dashboard.client() as c:
        run = c.get(f"/v1/runs/{c.get(f'/v1/jobs/{job_id}').json()['result']['run_id']}").json()
    assert len(run["metrics"]["train_loss"]) == STEPS and {"lr", "tokens_per_s"} <= set(run["metrics"])

    phone = chromium.new_context(viewport={"width": 390, "height": 844}, color_scheme="dark")
    small = phone.new_page()
    small.goto(f"{dashboard.url}/jobs/{job_id}")
    small.wait_for_function(f"{POINTS} === {STEPS}")
    assert small.evaluate("document.documentElement.scrollWidth") <= 390
    shot(small, "job-phone-dark")
    phone.close()


def test_queue_reorder_cancel_retry_and_resume(watched, dashboard):
    page, _ = watched
    client = dashboard.client()
    name = "blocker-" + uuid.uuid4().hex[:6]
    r = client.post("/v1/datasets", data={"name": name}, files={"file": (f"{name}.jsonl", small_chat(12))})
    assert r.status_code == 201, r.text
    blocker = client.post("/v1/jobs", json={"kind": "train", "config": {"recipe": {
        "dataset": name, "base_model": "tiny", "max_steps": 5000, "batch_size": 2, "max_seq_len": 64,
        "save_every": 1000}}}).json()
    # Outputs in the dashboard's home: the server refuses a path outside it (TUNELAB_ALLOWED_PATHS).
    waiting = [client.post("/v1/jobs", json={"kind": "export", "config": {
        "adapter": f"nothing-{k}", "out": str(dashboard.home / "exports" / k)}}).json()["id"] for k in "abc"]
    try:
        wait_job(client, blocker["id"], {"running"})
        page.goto(dashboard.url + "/jobs")

        def order() -> list[str]:
            return page.eval_on_selector_all("#queue tr.waiting", "rows => rows.map(r => r.dataset.job)")

        def wait_order(expected: list[str]) -> None:
            page.wait_for_function("ids => [...document.querySelectorAll('#queue tr.waiting')]"
                                   ".map(r => r.dataset.job).join() === ids.join()", arg=expected, timeout=15_000)

        wait_order(waiting)
        a, b, c = waiting
        page.click(f'#queue tr[data-job="{a}"] button[data-action="down"]')
        wait_order([b, a, c])
        page.click(f'#queue tr[data-job="{c}"] button[data-action="up"]')
        wait_order([b, c, a])
        page.drag_and_drop(f'#queue tr[data-job="{a}"] .handle', f'#queue tr[data-job="{b}"]')
        wait_order([a, b, c])
        queued = sorted((j for j in client.get("/v1/jobs?status=queued").json()["data"] if j["id"] in waiting),
                        key=lambda j: j["position"])
        assert [j["id"] for j in queued] == order() == [a, b, c]  # the server's queue, not only the page
        assert page.locator(f'#queue tr[data-job="{blocker["id"]}"] .badge').inner_text() == "running"
        shot(page, "jobs-queue")

        page.click(f'#queue tr[data-job="{b}"] button[data-action="cancel"]')
        wait_order([a, c])
        row = page.locator(f'#history tr[data-job="{b}"]')
        row.locator(".badge:has-text('cancelled')").wait_for()
        row.locator('button[data-action="retry"]').click()
        wait_order([a, c, b])  # a retried job waits at the end
        page.click("#status-filter button:has-text('queued')")
        page.wait_for_function("[...document.querySelectorAll('#history .badge')].every(b => b.textContent === 'queued')")
        for job_id in (a, b, c):
            page.locator(f'#history tr[data-job="{job_id}"]').wait_for()
        shot(page, "jobs-filtered-queued")

        wait_steps(client, blocker["id"])  # a run that has trained a step is one worth resuming
        page.click(f'#queue tr[data-job="{blocker["id"]}"] button[data-action="cancel"]')
        wait_job(client, blocker["id"], {"cancelled"}, timeout=60)
        # The next in line starts and fails (there is no such adapter): its page says why.
        wait_job(client, a, {"failed"}, timeout=60)
        page.goto(f"{dashboard.url}/jobs/{a}")
        page.locator("#job-error:has-text(\"Unknown adapter 'nothing-a'\")").wait_for()
        assert page.locator('#job-actions button[data-action="retry"]').count() == 1
        page.wait_for_function("document.getElementById('log').textContent.includes('UnknownAdapterError')")
        shot(page, "job-failed")

        page.goto(dashboard.url + "/jobs")
        page.click("#status-filter button:has-text('cancelled')")
        resume = page.locator(f'#history tr[data-job="{blocker["id"]}"] button[data-action="resume"]')
        resume.click()
        run_id = client.get(f"/v1/jobs/{blocker['id']}").json()["result"]["run_id"]
        deadline = time.monotonic() + 15
        while not (resumed := [j for j in client.get("/v1/jobs?kind=train").json()["data"]
                               if j["config"] == {"resume": run_id}]):
            assert time.monotonic() < deadline, "no resume job was submitted"
            time.sleep(0.3)
        waiting.append(resumed[0]["id"])
        shot(page, "jobs-cancelled-resumable")
    finally:
        for job_id in [*waiting, blocker["id"]]:
            client.post(f"/v1/jobs/{job_id}/cancel")
        for job_id in [*waiting, blocker["id"]]:
            wait_job(client, job_id, DONE, timeout=60)
        client.close()


def test_an_unknown_job_says_so(watched, dashboard):
    page, watch = watched
    watch.allow(404, r"/v1/jobs/job-nope$")
    page.goto(dashboard.url + "/jobs/job-nope")
    page.locator("#job:has-text(\"No job 'job-nope'\")").wait_for()
    assert page.locator("#charts-card").is_hidden()
