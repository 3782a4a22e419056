"""The OpenAI-compatible server as a client sees it: a real uvicorn server on loopback serving the
tiny model with two LoRA adapters (engine: auto), driven by the official `openai` client, with the
library's own generation (`tunelab.engine.generation`) as the reference for exact text."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import numpy as np
import openai
import pytest
from serve_harness import ServerThread, make_lora, metric_value

from tunelab.adapters import AdapterRegistry
from tunelab.engine.generation import SamplingParams, generate_text
from tunelab.models.catalogue import Catalogue
from tunelab.models.loader import load_model
from tunelab.serve.app import create_app
from tunelab.settings import Settings
from tunelab.store import Store

MAX_BODY = 64 * 1024
HELLO = [{"role": "user", "content": "Hello! How can I help you today?"}]


@pytest.fixture(scope="module", params=["auto", "sequential"])
def served(request, tmp_path_factory, tiny_model_dir):
    """The server under test, once with the default engine (batching when installed) and once with
    the sequential one: the API must not depend on the engine."""
    home = tmp_path_factory.mktemp("serve-api") / "home"
    settings = Settings(home=home, hub_offline=True, max_request_bytes=MAX_BODY)
    store = Store(settings)
    Catalogue(store).add("tiny", str(tiny_model_dir))
    registry = AdapterRegistry(store, settings)
    for name, seed in (("shop-a", 1), ("shop-b", 2)):
        registry.register(name, kind="lora", path=make_lora(tiny_model_dir, home / "loras" / name, seed=seed),
                          base_model="tiny")
    server = ServerThread(create_app(settings, model="tiny", engine=request.param))
    server.reference = load_model("tiny", settings, store=store)  # the library's generation, for exact text
    server.engine = request.param
    yield server
    server.stop()
    store.dispose()


@pytest.fixture(scope="module")
def client(served):
    return openai.OpenAI(base_url=served.v1, api_key="not-needed", max_retries=0, timeout=60)


def chat(client, model="tiny", messages=HELLO, **kw):
    kw.setdefault("max_tokens", 12)
    kw.setdefault("temperature", 0)
    return client.chat.completions.create(model=model, messages=messages, **kw)


def reference_chat_text(served, max_tokens: int, **sampling) -> str:
    ref = served.reference
    ids = ref.tokenizer(ref.chat_prompt(HELLO), add_special_tokens=False)["input_ids"]
    return generate_text(ref, ids, SamplingParams(max_tokens=max_tokens, **sampling)).text


def test_models_lists_the_base_its_adapters_and_the_embedding_model(client):
    models = client.models.list().data
    ids = [m.id for m in models]
    assert ids[:3] == ["tiny", "shop-a", "shop-b"]
    assert any("MiniLM" in i for i in ids)
    assert all(m.object == "model" for m in models)
    adapter = client.models.retrieve("shop-a")
    assert adapter.id == "shop-a" and adapter.model_extra["parent"] == "tiny"


def test_chat_completion_is_the_library_generation(served, client):
    r = chat(client, max_tokens=12)
    assert r.object == "chat.completion" and r.model == "tiny" and r.id.startswith("chatcmpl-")
    choice = r.choices[0]
    assert choice.index == 0 and choice.message.role == "assistant"
    assert choice.message.content == reference_chat_text(served, 12, temperature=0)
    ref = served.reference
    prompt_len = len(ref.tokenizer(ref.chat_prompt(HELLO), add_special_tokens=False)["input_ids"])
    assert r.usage.prompt_tokens == prompt_len
    assert r.usage.total_tokens == prompt_len + r.usage.completion_tokens
    assert choice.finish_reason == "length" and r.usage.completion_tokens == 12


def test_completions_plain_and_echo(served, client):
    prompt = "The quick brown fox"
    ref = served.reference
    expected = generate_text(ref, ref.tokenizer(prompt)["input_ids"], SamplingParams(max_tokens=10, temperature=0))
    r = client.completions.create(model="tiny", prompt=prompt, max_tokens=10, temperature=0)
    assert r.object == "text_completion" and r.choices[0].text == expected.text
    echoed = client.completions.create(model="tiny", prompt=prompt, max_tokens=10, temperature=0, echo=True)
    assert echoed.choices[0].text == prompt + expected.text
    two = client.completions.create(model="tiny", prompt=[prompt, "Hello"], max_tokens=4, temperature=0)
    assert [c.index for c in two.choices] == [0, 1] and two.choices[0].text == expected.text[: len(two.choices[0].text)]


def test_streaming_chat_is_sent_as_openai_sends_it(served, client):
    body = {"model": "tiny", "messages": HELLO, "max_tokens": 12, "temperature": 0, "stream": True,
            "stream_options": {"include_usage": True}}
    with httpx.stream("POST", served.v1 + "/chat/completions", json=body, timeout=60) as resp:
        assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/event-stream")
        raw = resp.read().decode()
    events = [e for e in raw.split("\n\n") if e]
    assert all(e.startswith("data: ") for e in events)
    assert events[-1] == "data: [DONE]"
    chunks = [json.loads(e[len("data: "):]) for e in events[:-1]]
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert all(c["object"] == "chat.completion.chunk" and c["id"] == chunks[0]["id"] for c in chunks)
    finish = chunks[-2]["choices"][0]
    assert finish["delta"] == {} and finish["finish_reason"] == "length"
    usage = chunks[-1]
    assert usage["choices"] == [] and usage["usage"]["completion_tokens"] == 12
    assert all(c["usage"] is None for c in chunks[:-1])
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks[1:-2])
    assert text == reference_chat_text(served, 12, temperature=0)

    # the same through the official client
    pieces, roles, usage_seen = [], [], None
    for chunk in chat(client, stream=True, stream_options={"include_usage": True}):
        if chunk.usage is not None:
            usage_seen = chunk.usage
        for c in chunk.choices:
            roles += [c.delta.role] if c.delta.role else []
            pieces.append(c.delta.content or "")
    assert roles == ["assistant"] and "".join(pieces) == text and usage_seen.completion_tokens == 12
    # without include_usage no chunk carries a usage key
    with httpx.stream("POST", served.v1 + "/chat/completions", json={**body, "stream_options": None}) as resp:
        assert '"usage"' not in resp.read().decode()


def test_streaming_completions(client):
    full = client.completions.create(model="tiny", prompt="Organic green tea", max_tokens=8, temperature=0)
    parts = [c.choices[0].text for c in client.completions.create(
        model="tiny", prompt="Organic green tea", max_tokens=8, temperature=0, stream=True) if c.choices]
    assert "".join(parts) == full.choices[0].text


def test_n_choices_with_a_seed(client):
    r = chat(client, n=2, temperature=1.0, seed=3, max_tokens=10)
    assert [c.index for c in r.choices] == [0, 1]
    assert r.choices[0].message.content != r.choices[1].message.content  # choice j samples with seed + j
    assert r.usage.completion_tokens == 20
    again = chat(client, n=2, temperature=1.0, seed=3, max_tokens=10)
    assert [c.message.content for c in again.choices] == [c.message.content for c in r.choices]
    streamed = {0: "", 1: ""}
    for chunk in chat(client, n=2, temperature=1.0, seed=3, max_tokens=10, stream=True):
        for c in chunk.choices:
            streamed[c.index] += c.delta.content or ""
    assert [streamed[0], streamed[1]] == [c.message.content for c in r.choices]


def test_stop_string_cuts_the_text_streamed_or_not(client):
    full = chat(client, max_tokens=30).choices[0].message.content
    assert len(full) > 10
    stop = full[6:9]
    cut = full[: full.find(stop)]
    r = chat(client, max_tokens=30, stop=[stop])
    assert r.choices[0].message.content == cut and r.choices[0].finish_reason == "stop"
    streamed = "".join(c.choices[0].delta.content or "" for c in chat(client, max_tokens=30, stop=stop, stream=True)
                       if c.choices)
    assert streamed == cut  # nothing of the stop string leaked out while it was incomplete


def test_same_seed_same_text(served, client):
    a = chat(client, temperature=1.0, seed=11, max_tokens=16).choices[0].message.content
    b = chat(client, temperature=1.0, seed=11, max_tokens=16).choices[0].message.content
    c = chat(client, temperature=1.0, seed=12, max_tokens=16).choices[0].message.content
    assert a == b != c
    assert a == reference_chat_text(served, 16, temperature=1.0, seed=11)


def test_adapters_concurrently_give_what_each_gives_alone(client):
    alone = {m: chat(client, model=m, max_tokens=12).choices[0].message.content for m in ("tiny", "shop-a", "shop-b")}
    assert len(set(alone.values())) == 3  # base, a and b all differ
    order = ["shop-a", "shop-b", "tiny", "shop-b", "shop-a", "tiny"]
    with ThreadPoolExecutor(len(order)) as pool:
        together = list(pool.map(lambda m: chat(client, model=m, max_tokens=12).choices[0].message.content, order))
    assert together == [alone[m] for m in order]


def test_logprobs(client):
    r = chat(client, max_tokens=5, logprobs=True, top_logprobs=3)
    content = r.choices[0].logprobs.content
    assert len(content) == r.usage.completion_tokens == 5
    for entry in content:
        assert entry.logprob <= 0 and len(entry.top_logprobs) == 3
        assert entry.top_logprobs[0].logprob >= entry.logprob - 1e-6  # greedy: the chosen one is the top one
    c = client.completions.create(model="tiny", prompt="Hello", max_tokens=4, temperature=0, logprobs=2)
    assert len(c.choices[0].logprobs.tokens) == 4 and all(len(t) == 2 for t in c.choices[0].logprobs.top_logprobs)


def test_embeddings(client):
    model = next(m.id for m in client.models.list().data if "MiniLM" in m.id)
    texts = ["red running shoes, size 42", "red running shoes, size 42", "organic green tea, 100 bags"]
    r = client.embeddings.create(model=model, input=texts)  # the client asks for base64 by default
    vectors = np.array([d.embedding for d in r.data])
    assert vectors.shape == (3, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert vectors[0] @ vectors[1] == pytest.approx(1.0, abs=1e-5)
    assert vectors[0] @ vectors[2] < 0.9
    as_floats = client.embeddings.create(model=model, input=texts[0], encoding_format="float")
    assert np.allclose(as_floats.data[0].embedding, vectors[0], atol=1e-6)
    assert r.usage.prompt_tokens > 0
    with pytest.raises(openai.NotFoundError):
        client.embeddings.create(model="text-embedding-3-small", input="x")


def test_wrong_types_and_limits_are_400_in_openai_shape(served, client):
    url = served.v1 + "/chat/completions"
    bad = httpx.post(url, json={"model": "tiny", "messages": HELLO, "max_tokens": "many"})
    assert bad.status_code == 400
    err = bad.json()["error"]
    assert err["type"] == "invalid_request_error" and err["param"] == "max_tokens" and "max_tokens" in err["message"]
    assert set(err) == {"message", "type", "param", "code"}
    assert httpx.post(url, json={"model": "tiny", "messages": "hi"}).json()["error"]["param"] == "messages"
    assert httpx.post(url, content=b"{not json", headers={"content-type": "application/json"}).status_code == 400
    # unknown fields are ignored, as OpenAI does
    ok = httpx.post(url, json={"model": "tiny", "messages": HELLO, "max_tokens": 2, "temperature": 0, "x_unknown": 1})
    assert ok.status_code == 200
    with pytest.raises(openai.BadRequestError) as exc:
        chat(client, max_tokens=100_000)
    assert "4096" in exc.value.message and exc.value.body["param"] == "max_tokens"
    with pytest.raises(openai.BadRequestError, match="context length is 4096"):
        client.completions.create(model="tiny", prompt=[5] * 4000, max_tokens=200)
    with pytest.raises(openai.BadRequestError, match="temperature"):
        chat(client, temperature=3)


def test_unknown_model_is_404_listing_what_exists(client):
    with pytest.raises(openai.NotFoundError) as exc:
        chat(client, model="no-such-model")
    assert "tiny" in exc.value.message and "shop-a" in exc.value.message and "shop-b" in exc.value.message
    assert exc.value.body["code"] == "model_not_found"


def test_oversized_body_is_413(served):
    big = {"model": "tiny", "messages": [{"role": "user", "content": "x" * (MAX_BODY + 1)}]}
    r = httpx.post(served.v1 + "/chat/completions", json=big)
    assert r.status_code == 413 and str(MAX_BODY) in r.json()["error"]["message"]

    def chunks():  # no Content-Length: the limit still holds
        for _ in range(MAX_BODY // 4096 + 2):
            yield b" " * 4096

    r = httpx.post(served.v1 + "/chat/completions", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413


def test_structured_output(client):
    labels = ["Apparel & Accessories", "Home & Garden", "Electronics"]
    r = chat(client, max_tokens=16, extra_body={"tunelab_choices": labels})
    assert r.choices[0].message.content in labels
    r = chat(client, max_tokens=16, extra_body={"tunelab_regex": "[0-9]{3}"})
    assert len(r.choices[0].message.content) == 3 and r.choices[0].message.content.isdigit()
    schema = {"type": "object", "properties": {"in_stock": {"type": "boolean"}}, "required": ["in_stock"],
              "additionalProperties": False}
    r = chat(client, max_tokens=32, response_format={"type": "json_schema",
                                                     "json_schema": {"name": "stock", "schema": schema}})
    assert isinstance(json.loads(r.choices[0].message.content)["in_stock"], bool)
    with pytest.raises(openai.BadRequestError, match="at most one"):
        chat(client, response_format={"type": "json_object"}, extra_body={"tunelab_choices": labels})
    with pytest.raises(openai.BadRequestError, match="tunelab_regex"):
        chat(client, extra_body={"tunelab_regex": "(unclosed"})


def test_adapter_load_and_unload(served):
    url = served.v1 + "/adapters"
    r = httpx.post(url + "/load", json={"name": "shop-b"})
    assert r.status_code == 200 and "shop-b" in r.json()["loaded"]
    r = httpx.post(url + "/unload", json={"name": "shop-b"})
    assert r.status_code == 200 and "shop-b" not in r.json()["loaded"]
    r = httpx.post(url + "/unload", json={"name": "shop-b"})
    assert r.status_code == 404 and "not loaded" in r.json()["error"]["message"]
    assert httpx.post(url + "/load", json={"name": "nope"}).status_code == 404
    assert httpx.post(url + "/load", json={"name": "tiny"}).status_code == 400
    assert httpx.get(url).json()["available"] == ["shop-a", "shop-b"]


def test_metrics_count_requests_tokens_and_latency(served, client):
    chat(client, max_tokens=3)
    httpx.post(served.v1 + "/chat/completions", json={"model": "nope", "messages": HELLO})
    text = httpx.get(served.url + "/metrics").text
    assert metric_value(text, "tunelab_requests_total", route="/v1/chat/completions", status="200") >= 1
    assert metric_value(text, "tunelab_requests_total", route="/v1/chat/completions", status="404") >= 1
    assert metric_value(text, "tunelab_completion_tokens_total", model="tiny") >= 3
    assert metric_value(text, "tunelab_prompt_tokens_total", model="tiny") > 0
    assert metric_value(text, "tunelab_time_to_first_token_seconds_count", model="tiny") >= 1
    assert metric_value(text, "tunelab_request_latency_seconds_count", route="/v1/chat/completions") >= 2
    for gauge in ("tunelab_queue_depth", "tunelab_running_requests", "tunelab_loaded_adapters"):
        assert f"\n{gauge} " in text


def test_metrics_show_the_prefix_cache_reused(served, client):
    system = [{"role": "system", "content": "You answer questions about bottles, briefly and politely. " * 4}]
    hits = metric_value(httpx.get(served.url + "/metrics").text, "tunelab_prefix_cache_hits")
    for question in ("Which bottle keeps tea hot?", "Is the steel bottle dishwasher safe?"):
        chat(client, messages=system + [{"role": "user", "content": question}], max_tokens=2)
    text = httpx.get(served.url + "/metrics").text
    if served.engine == "sequential":  # no prefix cache: the gauges stay at zero
        assert metric_value(text, "tunelab_prefix_cache_hits") == metric_value(text, "tunelab_prefix_cache_bytes") == 0
        return
    assert metric_value(text, "tunelab_prefix_cache_hits") >= hits + 1
    assert metric_value(text, "tunelab_prefix_cache_hit_tokens") >= 32
    assert 0 < metric_value(text, "tunelab_prefix_cache_bytes") <= metric_value(text, "tunelab_prefix_cache_budget_bytes")


def test_hanging_up_mid_stream_frees_the_engine(served):
    body = {"model": "tiny", "messages": HELLO, "max_tokens": 3000, "temperature": 0, "stream": True,
            "tunelab_loop_guard": False}
    with httpx.stream("POST", served.v1 + "/chat/completions", json=body, timeout=60) as resp:
        content = 0
        lines = resp.iter_lines()  # held: dropping it would close the connection right away
        for line in lines:
            content += '"content"' in line and '"finish_reason":null' in line
            if content == 4:
                break
        assert content == 4 and served.health()["running"] == 1  # still generating when we hang up
    for _ in range(150):  # well under the time 3000 tokens take
        health = served.health()
        if health["running"] == 0 and health["queue_depth"] == 0:
            break
        time.sleep(0.02)
    assert health["running"] == 0 and health["queue_depth"] == 0
