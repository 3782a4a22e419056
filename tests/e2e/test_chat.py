"""The chat playground in a real browser against `tunelab serve` (tiny model, two random LoRA adapters):
tokens appear one after another while the answer streams; Stop ends the stream and the server stops
generating; two adapters answer side by side at once; blind mode hides the names until the vote;
ratings, edits and votes become feedback records, "Build preference dataset" registers their pairs,
and "Train DPO" runs a DPO job with its gate whose adapter then loads into the server."""

from __future__ import annotations

import json
import re
import time

import pytest
from browser_support import shot as save_shot

from tests.integration.serve_harness import make_lora, metric_value
from tunelab.adapters import AdapterRegistry
from tunelab.data.loader import load_dataset
from tunelab.rag import ingest
from tunelab.settings import Settings
from tunelab.store import Store

THREAD_TEXT = "document.getElementById('thread').innerText"


@pytest.fixture(scope="module")
def chat_server(dashboard, tiny_model_dir):
    """The shared dashboard with adapters chat-a and chat-b registered in its home, and a collection."""
    settings = Settings(home=dashboard.home, hub_offline=True)
    store = Store(settings)
    registry = AdapterRegistry(store, settings)
    for seed, name in ((1, "chat-a"), (2, "chat-b")):
        if not registry.exists(name):
            registry.register(name, kind="lora", base_model="tiny",
                              path=make_lora(tiny_model_dir, dashboard.home / "loras" / name, seed=seed))
    store.dispose()
    return dashboard


def shot(page, name):
    page.evaluate("window.scrollTo(0, 0)")  # sticky bars where they belong in a full-page picture
    save_shot(page, name)


def open_chat(page, server):
    page.goto(server.url + "/chat")
    page.wait_for_function("document.querySelector('#models select')?.options.length > 2")


def set_value(page, selector, value):
    page.fill(selector, str(value))


def pick_models(page, names):
    for i, name in enumerate(names):
        if i >= page.locator("#models select").count():
            page.click("#add-model")
        page.locator("#models select").nth(i).select_option(name)


def send(page, text):
    page.fill("#prompt", text)
    page.press("#prompt", "Enter")


def wait_answered(page, timeout=60_000):
    page.wait_for_function("document.querySelectorAll('.answer').length > 0 && "
                           "!document.querySelector('.answer.streaming')", timeout=timeout)


def feedback(server):
    with server.client() as c:
        return c.get("/v1/feedback", params={"limit": 500}).json()["data"]


def test_empty_playground(watched, chat_server):
    page, _ = watched
    open_chat(page, chat_server)
    options = page.locator("#models select option").all_inner_texts()
    assert {"tiny", "chat-a", "chat-b"} <= set(options)
    assert "Ask something" in page.locator("#thread").inner_text()
    assert page.locator("#conv-list li").count() == 1
    assert page.locator("#stop").is_hidden()
    page.wait_for_function("document.getElementById('fb-only').options.length > 0 && "
                           "document.querySelector('#feedback-panel .empty, #feedback-panel table')")
    if feedback(chat_server):  # a shared server: other tests may have given feedback already
        assert page.locator("#feedback-panel tbody tr").count() >= 1
    else:
        assert "No feedback yet" in page.locator("#feedback-panel").inner_text()
    shot(page, "chat-empty")


def test_tokens_appear_one_after_another(watched, chat_server):
    page, _ = watched
    open_chat(page, chat_server)
    set_value(page, "#temperature", 1.0)
    set_value(page, "#max_tokens", 40)
    set_value(page, "#seed", 7)
    # every change of the answer's text, as the page sees it while the stream runs
    page.evaluate("""() => {
      window.__lengths = [];
      new MutationObserver(() => {
        const a = document.querySelector('.answer');
        if (a) window.__lengths.push([a.querySelector('.answer-text').textContent.length, a.classList.contains('streaming')]);
      }).observe(document.getElementById('thread'), {subtree: true, childList: true, characterData: true});
    }""")
    page.fill("#prompt", "Hello")
    page.press("#prompt", "Shift+Enter")  # a new line, not a send
    page.type("#prompt", "there")
    assert page.input_value("#prompt") == "Hello\nthere"
    assert page.locator(".answer").count() == 0
    page.press("#prompt", "Enter")
    wait_answered(page)
    assert page.locator(".msg-user").inner_text() == "Hello\nthere"
    lengths = page.evaluate("window.__lengths")
    growing = sorted({n for n, streaming in lengths if streaming and n > 0})
    final = len(page.locator(".answer .answer-text").first.text_content())
    assert final > 0 and len(growing) >= 5, lengths  # seen at five or more lengths before the end
    assert growing[-1] <= final
    assert re.search(r"\b\d+ tokens\b", page.locator(".answer .meta").inner_text())
    assert page.input_value("#prompt") == ""


def test_stop_cancels_the_stream_and_the_server_stops(watched, chat_server):
    page, _ = watched
    open_chat(page, chat_server)
    set_value(page, "#temperature", 0)  # greedy, and (loop guard off below) long
    set_value(page, "#max_tokens", 3000)

    def no_loop_guard(route):  # the tiny model repeats itself: the loop guard would end its answer first
        body = json.loads(route.request.post_data or "{}")
        route.continue_(post_data=json.dumps({**body, "tunelab_loop_guard": False}))

    page.route("**/v1/chat/completions", no_loop_guard)
    with chat_server.client() as c:
        before = metric_value(c.get("/metrics").text, "tunelab_requests_cancelled_total")
    send(page, "Tell me a long story")
    page.wait_for_function("document.querySelector('.answer.streaming .answer-text')?.textContent.length > 30")
    assert page.locator("#stop").is_visible() and page.locator("#send").is_hidden()
    shot(page, "chat-streaming")
    page.click("#stop")
    wait_answered(page)
    assert "stopped" in page.locator(".answer .meta").inner_text()
    stopped_at = len(page.locator(".answer .answer-text").text_content())
    assert page.locator("#send").is_visible()
    deadline = time.monotonic() + 15
    with chat_server.client() as c:
        while True:
            cancelled = metric_value(c.get("/metrics").text, "tunelab_requests_cancelled_total")
            idle = c.get("/health").json()["running"] == 0
            if (cancelled > before and idle) or time.monotonic() > deadline:
                break
            time.sleep(0.2)
    assert cancelled == before + 1 and idle
    time.sleep(0.5)
    assert len(page.locator(".answer .answer-text").text_content()) == stopped_at


def test_side_by_side_answers_stream_at_once_and_a_pick_is_feedback(watched, chat_server):
    page, _ = watched
    open_chat(page, chat_server)
    pick_models(page, ["chat-a", "chat-b"])
    set_value(page, "#temperature", 0)
    set_value(page, "#max_tokens", 60)
    page.evaluate("""() => {
      window.__both = false;
      new MutationObserver(() => {
        if (document.querySelectorAll('.answer.streaming').length === 2) window.__both = true;
      }).observe(document.getElementById('thread'), {subtree: true, childList: true, characterData: true, attributes: true});
    }""")
    send(page, "Recommend a water bottle")
    wait_answered(page)
    assert page.evaluate("window.__both")
    heads = page.locator(".answer .name").all_inner_texts()
    assert heads == ["chat-a", "chat-b"]
    texts = page.locator(".answer .answer-text").all_text_contents()
    assert texts[0] and texts[1] and texts[0] != texts[1]  # two adapters, two answers
    assert "Which answer is better?" in page.locator(".vote-bar").inner_text()
    shot(page, "chat-side-by-side")
    page.locator(".answer").nth(1).get_by_role("button", name="This one is better").click()
    page.wait_for_selector(".answer.winner")
    assert page.locator(".answer.winner .name").inner_text() == "chat-b"
    page.wait_for_function("document.querySelector('.answer.winner .meta').textContent.includes('feedback saved')")
    record = next(f for f in feedback(chat_server) if f["choice"] is not None and f["answers"][1]["text"] == texts[1])
    assert [a["adapter"] for a in record["answers"]] == ["chat-a", "chat-b"]
    assert record["choice"] == 1 and all(a["model"] == "tiny" for a in record["answers"])
    assert record["messages"][-1] == {"role": "user", "content": "Recommend a water bottle"}


def test_blind_mode_hides_the_names_until_the_vote(watched, chat_server):
    page, _ = watched
    open_chat(page, chat_server)
    pick_models(page, ["chat-a", "chat-b"])
    page.check("#blind")
    set_value(page, "#temperature", 0)
    set_value(page, "#max_tokens", 24)
    send(page, "Which shoes for running?")
    wait_answered(page)
    assert page.locator(".answer .name").all_inner_texts() == ["Model A", "Model B"]
    thread = page.evaluate(THREAD_TEXT)
    assert "chat-a" not in thread and "chat-b" not in thread
    assert "names show once you pick" in thread
    shot(page, "chat-blind")
    picked_text = page.locator(".answer .answer-text").nth(0).text_content()
    page.get_by_role("button", name="A is better").click()
    page.wait_for_selector(".answer.winner")
    revealed = page.locator(".answer .name").all_inner_texts()
    assert sorted(revealed) == ["chat-a", "chat-b"]
    winner = page.locator(".answer.winner .name").inner_text()
    assert winner == revealed[0]
    page.wait_for_function("document.querySelector('.answer.winner .meta').textContent.includes('feedback saved')")
    record = next(f for f in feedback(chat_server) if f["choice"] is not None
                  and f["messages"][-1]["content"] == "Which shoes for running?")
    assert record["choice"] == 0 and record["answers"][0]["adapter"] == winner
    assert record["answers"][0]["text"] == picked_text
    shot(page, "chat-blind-revealed")


def test_rating_and_edit_become_a_dataset_and_a_dpo_adapter_that_loads(watched, chat_server):
    page, _ = watched
    open_chat(page, chat_server)
    pick_models(page, ["chat-a"])
    set_value(page, "#temperature", 0.8)
    set_value(page, "#max_tokens", 16)
    page.fill("#system", "You are a shop assistant.")
    for i, question in enumerate(["Is the bottle steel?", "Do the earbuds have a case?"]):
        send(page, question)
        wait_answered(page)
        answer = page.locator(".answer").nth(i)
        answer.get_by_role("button", name="Rate up" if i == 0 else "Rate down").click()
        page.wait_for_function(f"document.querySelectorAll('.answer')[{i}].querySelector('.meta').textContent.includes('feedback saved')")
        answer.get_by_role("button", name="✎ Edit").click()
        page.fill(f".answer >> nth={i} >> textarea", f"Better answer number {i + 1}: yes, it is.")
        page.locator(".answer").nth(i).get_by_role("button", name="Save as the better answer").click()
        page.wait_for_function(f"document.querySelectorAll('.answer')[{i}].querySelector('.answer-text').textContent.startsWith('Better answer number {i + 1}')")
    mine = [f for f in feedback(chat_server) if f["messages"][-1]["content"] in ("Is the bottle steel?", "Do the earbuds have a case?")]
    ratings = sorted(f["rating"] for f in mine if f["rating"] is not None)
    edits = sorted(f["edit"] for f in mine if f["edit"] is not None)
    assert ratings == [-1, 1] and edits == ["Better answer number 1: yes, it is.", "Better answer number 2: yes, it is."]
    second = next(f for f in mine if f["edit"] and f["edit"].startswith("Better answer number 2"))
    # the second turn's prompt is the whole conversation so far, with the first answer as edited
    assert [m["role"] for m in second["messages"]] == ["system", "user", "assistant", "user"]
    assert second["messages"][2]["content"] == "Better answer number 1: yes, it is."
    assert second["answers"] == [{"model": "tiny", "adapter": "chat-a", "text": second["answers"][0]["text"]}]

    panel = page.locator("#feedback-panel")
    page.wait_for_function("document.getElementById('fb-only').options.length > 1")
    page.select_option("#fb-only", "chat-a")
    page.fill("#fb-dataset-name", "chat-prefs")
    page.click("#fb-build")
    page.wait_for_function("document.getElementById('fb-built').textContent.includes('Registered chat-prefs')")
    with chat_server.client() as c:
        ds = next(d for d in c.get("/v1/datasets").json()["data"] if d["name"] == "chat-prefs")
    assert ds["format"] == "preference" and ds["num_records"] >= 2
    assert page.input_value("#fb-dataset") == "chat-prefs" and page.input_value("#fb-parent") == "chat-a"
    page.fill("#fb-new-name", "chat-a-dpo")
    page.fill("#fb-steps", "2")
    page.click("#fb-train")
    page.wait_for_selector("#fb-job a[href^='/jobs/']")
    job_id = page.locator("#fb-job a").get_attribute("href").rsplit("/", 1)[1]
    shot(page, "chat-feedback-training")
    page.wait_for_function("document.querySelector('#fb-job .badge')?.textContent === 'succeeded'", timeout=240_000)
    with chat_server.client() as c:
        job = c.get(f"/v1/jobs/{job_id}").json()
    assert job["config"]["recipe"]["recipe"] == "dpo" and job["config"]["recipe"]["sft_adapter"] == "chat-a"
    assert job["result"]["adapter"] == "chat-a-dpo" and job["result"]["gates_passed"] is True
    assert "pass" in panel.locator("#fb-gate .badge").first.inner_text()
    page.click("#fb-load")
    page.wait_for_function("document.getElementById('fb-load').textContent.includes('loaded')")
    with chat_server.client() as c:
        assert "chat-a-dpo" in c.get("/v1/adapters").json()["loaded"]
    shot(page, "chat-feedback-panel")


def test_grounded_answers_list_numbered_sources(watched, chat_server, tmp_path):
    page, _ = watched
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "returns.md").write_text("# Returns\n\nUnworn items can be returned within 30 days for a full refund.")
    (docs / "bottle.md").write_text("# Trail bottle\n\nThe Trail bottle holds 750 ml and keeps drinks cold for 24 hours.")
    settings = Settings(home=chat_server.home, hub_offline=True)
    store = Store(settings)
    ingest([docs], "chat-docs", settings=settings, store=store, progress=False)  # the packaged MiniLM
    store.dispose()
    open_chat(page, chat_server)
    page.wait_for_function("[...document.getElementById('collection').options].some(o => o.value === 'chat-docs')")
    page.select_option("#collection", "chat-docs")
    set_value(page, "#rag_k", 2)
    set_value(page, "#max_tokens", 12)
    send(page, "How long is the return window?")
    wait_answered(page)
    items = page.locator(".answer .sources li")
    assert items.count() == 2
    assert "returns.md" in items.first.inner_text() or "Returns" in items.first.inner_text()
    assert page.locator(".answer .sources ol li").first.get_attribute("value") == "1"
    assert "RAG: chat-docs" in page.locator(".answer-head").inner_text()
    shot(page, "chat-rag")


def test_structured_output_checks_the_schema_first(watched, chat_server):
    page, _ = watched
    open_chat(page, chat_server)
    page.fill("#schema", "{not json")
    set_value(page, "#max_tokens", 40)
    send(page, "Describe the bottle")
    assert "Not valid JSON" in page.locator('.field-error[data-for="schema"]').inner_text()
    assert page.locator(".answer").count() == 0  # nothing was sent
    schema = {"type": "object", "properties": {"name": {"type": "string"}, "litres": {"type": "number"}},
              "required": ["name", "litres"]}
    page.fill("#schema", json.dumps(schema))
    send(page, "Describe the bottle")
    wait_answered(page)
    assert page.locator('.field-error[data-for="schema"]').inner_text() == ""
    text = page.locator(".answer .answer-text").text_content()
    value = json.loads(text)
    assert set(value) >= {"name", "litres"}
    assert "valid JSON" in page.locator(".answer .meta").inner_text()


def test_conversations_survive_a_reload_and_export(watched, chat_server, tmp_path):
    page, _ = watched
    open_chat(page, chat_server)
    set_value(page, "#max_tokens", 8)
    set_value(page, "#temperature", 0)  # greedy: sampled, the random tiny model can answer EOS first (no answer to export)
    send(page, "First conversation")
    wait_answered(page)
    page.click("#new-conv")
    assert "Ask something" in page.locator("#thread").inner_text()
    send(page, "Second conversation")
    wait_answered(page)
    page.reload()
    page.wait_for_function("document.querySelectorAll('#conv-list li').length === 2")
    assert page.locator("#conv-list li.current").inner_text().startswith("Second conversation")
    page.locator("#conv-list li", has_text="First conversation").locator("button").click()
    assert page.locator(".msg-user").inner_text() == "First conversation"
    with page.expect_download() as dl:
        page.click("#export-jsonl")
    assert dl.value.suggested_filename == "tunelab-chats.jsonl"
    dl.value.save_as(tmp_path / "chats.jsonl")
    lines = [json.loads(x) for x in (tmp_path / "chats.jsonl").read_text().splitlines()]
    assert sorted(r["messages"][0]["content"] for r in lines) == ["First conversation", "Second conversation"]
    assert all([m["role"] for m in r["messages"]] == ["user", "assistant"] for r in lines)
    exported = load_dataset(tmp_path / "chats.jsonl", "messages")  # the export is a chat dataset TuneLab trains on
    assert len(exported.records) == 2
    with page.expect_download() as dl:
        page.click("#export-json")
    whole = json.loads(open(dl.value.path()).read())
    assert whole["turns"][0]["user"] == "First conversation" and whole["turns"][0]["answers"][0]["model"] == "tiny"
    page.click("#delete-conv")
    page.click("#delete-conv")  # the second click confirms
    assert page.locator("#conv-list li").count() == 1


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_phone_width(chromium, chat_server, theme):
    context = chromium.new_context(viewport={"width": 390, "height": 844}, color_scheme=theme)
    page = context.new_page()
    open_chat(page, chat_server)
    assert page.locator("#max_tokens").is_hidden()  # the settings fold away on a phone
    page.click("#settings-box summary")
    set_value(page, "#max_tokens", 20)
    pick_models(page, ["chat-a", "chat-b"])
    send(page, "Hi")
    wait_answered(page)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, f"chat-phone-{theme}")
    context.close()


def test_a_link_with_a_model_opens_a_conversation_with_it(watched, chat_server):
    """The Adapters page's "Chat with it" is /chat?model=NAME."""
    page, _ = watched
    page.goto(chat_server.url + "/chat?model=chat-b")
    page.wait_for_function("document.querySelector('#models select') && "
                           "document.querySelector('#models select').value === 'chat-b'")
    assert page.locator("#models select").count() == 1
    assert page.evaluate("location.search") == ""  # a reload keeps the conversation, not the link
