"""Traces without a server: redaction rules (Luhn-checked cards, e-mails, phones, user regexes),
the TUNELAB_TRACE policy, retention (max rows and max age, pruned on write) and an OpenTelemetry
span per traced request (the SDK's in-memory exporter)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from tunelab.data.redact import Redactor, luhn_ok
from tunelab.data.traces import TracePolicy, trace_record
from tunelab.engine.types import Constraint, TokenEvent
from tunelab.serve.tracing import CALLER, Tracer
from tunelab.settings import Settings
from tunelab.store import TRACES


def test_luhn_against_known_numbers():
    assert luhn_ok("4111111111111111") and luhn_ok("79927398713") and luhn_ok("378282246310005")
    assert not luhn_ok("4111111111111112") and not luhn_ok("79927398710")


@pytest.mark.parametrize(("text", "expected"), [
    ("write to jane.doe+shop@mail.example.co.uk today", "write to [EMAIL] today"),
    ("card 4111 1111 1111 1111.", "card [CARD]."),
    ("amex 3782-822463-10005", "amex [CARD]"),
    ("not a card 4111 1111 1111 1112", "not a card 4111 1111 1111 1112"),  # fails Luhn, too long for a phone
    ("call +1 (555) 123-4567 or 020 7946 0958", "call [PHONE] or [PHONE]"),
    ("size 42, 3 items for 12.99, year 2024, sku 123456", "size 42, 3 items for 12.99, year 2024, sku 123456"),
    ("ISBN 978-3-16-148410-0", "ISBN 978-3-16-148410-0"),
])
def test_builtin_rules(text, expected):
    assert Redactor().redact(text) == expected


def test_user_regexes_and_nested_values():
    r = Redactor([r"ORD-\d+", r"(?i)secret\w*"])
    value = {"messages": [{"role": "user", "content": "ORD-991 is SECRETive, mail a@b.io"}], "n": 3}
    assert r.redact_value(value) == {"messages": [{"role": "user", "content": "[REDACTED] is [REDACTED], mail [EMAIL]"}],
                                     "n": 3}


def test_policy_and_settings():
    p = TracePolicy.parse("model:shop, key:ci")
    assert p.wants("shop", None, None) and p.wants("tiny", "shop", None) and p.wants("tiny", None, "ci")
    assert not p.wants("tiny", None, "ops") and not TracePolicy.parse("").enabled
    assert TracePolicy.parse("all").wants("x", None, None)
    with pytest.raises(ValidationError, match="not 'all', 'model:NAME' or 'key:NAME'"):
        Settings(trace="models:shop")
    with pytest.raises(ValidationError, match="not a valid regex"):
        Settings(trace_redact=["(unclosed"])
    assert trace_record([{"role": "user", "content": "hi"}], "hello") == {
        "messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]}


def add(store, n: int, **kw):
    return [TRACES.add_pruned(store, id=f"t{n}-{i}", kind="chat", model="m", prompt=[], response=str(i), **kw)
            for i in range(n)]


def test_retention_by_rows_and_age(any_store):
    store = any_store
    add(store, 5, max_rows=3, older_than=None)
    rows, total = TRACES.page(store)
    assert total == 3 and [r.response for r in rows] == ["4", "3", "2"]
    old = datetime.now(UTC) - timedelta(days=40)
    TRACES.add_pruned(store, max_rows=None, older_than=None, id="old", kind="chat", model="m", prompt=[],
                      response="old", created_at=old)
    assert TRACES.page(store)[1] == 4
    _, pruned = TRACES.add_pruned(store, max_rows=None, older_than=datetime.now(UTC) - timedelta(days=30),
                                  id="new", kind="chat", model="m", prompt=[], response="new")
    assert pruned == 1 and TRACES.by_key(store, "old") is None and TRACES.page(store)[1] == 4


def test_tracer_writes_one_redacted_trace_and_a_span(settings, store):
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    tracer = Tracer(store, settings.model_copy(update={"trace": "key:ci", "otel": True}))
    assert tracer.begin("chat", "tiny", None, []) is None  # local caller, no rule for it
    token = CALLER.set("ci")
    try:
        handle = tracer.begin("chat", "tiny", None, [{"role": "user", "content": "me@x.org"}],
                              constraint=Constraint(kind="choice", choices=("a", "b")))
    finally:
        CALLER.reset(token)
    handle.prompt_tokens = 7
    for ev in (TokenEvent(1, "mail ", completion_tokens=1), TokenEvent(2, "a@b.cd", completion_tokens=2,
                                                                         finish_reason="stop")):
        handle.on_event(0, ev)

    async def finish_twice():
        await handle.finish()
        await handle.finish()

    asyncio.run(finish_twice())
    rows, total = TRACES.page(store)
    assert total == 1
    row = rows[0]
    assert (row.caller, row.response, row.prompt[0]["content"]) == ("ci", "mail [EMAIL]", "[EMAIL]")
    assert (row.prompt_tokens, row.completion_tokens, row.finish_reason) == (7, 2, "stop")
    assert row.constraint == {"kind": "choice", "choices": ["a", "b"]}
    [span] = exporter.get_finished_spans()
    assert span.name == "tunelab.chat" and span.attributes["tunelab.trace_id"] == row.id
    assert span.attributes["gen_ai.usage.output_tokens"] == 2 and span.attributes["gen_ai.request.model"] == "tiny"
