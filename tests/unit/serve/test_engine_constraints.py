"""Constrained decoding on the tiny (random) model: whatever it would say, choice, regex and a bounded
JSON schema always come out valid; unconstrained rows in the same batch are untouched; a schema
llguidance cannot compile is a ConstraintError."""

from __future__ import annotations

import asyncio
import json
import re

import jsonschema
import pytest
import torch
from engine_helpers import PROMPTS, collect, reference, request

from tunelab.engine.batching import BatchingEngine
from tunelab.engine.constraints import (
    ConstraintBackend,
    ConstraintError,
    apply_bitmask,
    constraint_key,
    new_bitmask,
    rust_regex_escape,
)
from tunelab.engine.sampling import SamplingParams
from tunelab.engine.types import Constraint

WORD = r"^[a-z ]{1,%d}$"
SCHEMA = {  # bounded: ASCII-only strings of limited length, so the longest valid output fits max_tokens
    "type": "object",
    "properties": {
        "label": {"type": "string", "enum": ["cat", "dog", "bird"]},
        "score": {"type": "integer", "minimum": 0, "maximum": 99},
        "tags": {"type": "array", "maxItems": 2, "items": {"type": "string", "pattern": WORD % 6}},
        "meta": {"type": "object", "properties": {"ok": {"type": "boolean"}, "note": {"type": "string",
                                                                                  "pattern": WORD % 8}},
                 "required": ["ok", "note"], "additionalProperties": False},
    },
    "required": ["label", "score", "tags", "meta"],
    "additionalProperties": False,
}
LONGEST = {"label": "bird", "score": 99, "tags": ["x" * 6] * 2, "meta": {"ok": False, "note": "x" * 8}}
MAX_TOKENS = len(json.dumps(LONGEST))  # every token is at least one byte


@pytest.fixture
def engine_and_backend(tiny):
    backend = ConstraintBackend.for_model(tiny)
    return BatchingEngine(tiny, adapter_paths=str, max_batch_size=16, constraint_backend=backend), backend


def sampled(n: int, max_tokens: int) -> list[SamplingParams]:
    return [SamplingParams(max_tokens=max_tokens, temperature=0.7 + 0.3 * (i % 4) / 3, seed=100 + i) for i in range(n)]


def run_all(engine, tok, params, constraint):
    async def go():
        outs = await asyncio.gather(*[collect(engine.generate(request(tok, f"r{i}", PROMPTS[i % 4], p,
                                                                      constraint=constraint)))
                                      for i, p in enumerate(params)])
        await engine.stop()
        return outs

    return asyncio.run(asyncio.wait_for(go(), timeout=60))


def test_choice_output_is_always_one_of_the_choices(engine_and_backend, tiny):
    engine, _ = engine_and_backend
    choices = ("yes", "no", "maybe so", "a.b|c (d)")
    outs = run_all(engine, tiny.tokenizer, sampled(24, 16), Constraint(kind="choice", choices=choices))
    assert all(o["text"] in choices and o["finish"] == "stop" for o in outs)
    assert len({o["text"] for o in outs}) > 1  # sampling really chose between them


def test_regex_output_always_matches(engine_and_backend, tiny):
    engine, _ = engine_and_backend
    pattern = r"[0-9]{3}-[A-Z]{2}( [a-z]{1,8})?"  # at most 15 characters: always complete in 16 tokens
    outs = run_all(engine, tiny.tokenizer, sampled(24, 16), Constraint(kind="regex", pattern=pattern))
    assert all(re.fullmatch(pattern, o["text"]) and o["finish"] == "stop" for o in outs), [o["text"] for o in outs]


def test_json_schema_output_always_parses_and_validates(engine_and_backend, tiny):
    engine, _ = engine_and_backend
    outs = run_all(engine, tiny.tokenizer, sampled(16, MAX_TOKENS), Constraint(kind="json_schema", schema=SCHEMA))
    for o in outs:
        jsonschema.validate(json.loads(o["text"]), SCHEMA)
        assert o["finish"] == "stop"


OPEN_SCHEMA = {  # unbounded strings and arrays: only closing in time keeps the output valid
    "type": "object",
    "properties": {"title": {"type": "string"}, "sizes": {"type": "array", "items": {"type": "integer"}},
                   "meta": {"type": "object", "properties": {"note": {"type": "string", "minLength": 2}},
                            "required": ["note"]}},
    "required": ["title", "sizes", "meta"],
}


@pytest.mark.parametrize("constraint, max_tokens", [
    (Constraint("json_object"), 24),
    (Constraint("json_schema", schema=OPEN_SCHEMA), 60),
])
def test_output_is_closed_in_time_when_max_tokens_would_cut_it(engine_and_backend, tiny, constraint, max_tokens):
    """The random tiny model never closes a string by itself: every output here ends because the
    engine closed it before max_tokens, and every one parses (and validates)."""
    engine, _ = engine_and_backend
    outs = run_all(engine, tiny.tokenizer, sampled(12, max_tokens), constraint)
    for o in outs:
        value = json.loads(o["text"])
        if constraint.schema:
            jsonschema.validate(value, constraint.schema)
        assert o["finish"] == "stop" and len(o["ids"]) <= max_tokens


def test_closing_plan_completes_an_open_json_prefix(engine_and_backend, tiny):
    _, backend = engine_and_backend
    m = backend.matcher(Constraint("json_object"))
    prefix = '{"a": [1, {"b": "fox \\'  # inside a string, right after a backslash
    for t in tiny.tokenizer(prefix, add_special_tokens=False)["input_ids"]:
        m.advance(t)
    plan = m.closing_plan(remaining=8)
    assert plan is not None
    text = prefix + tiny.tokenizer.decode(plan)
    assert json.loads(text) == {"a": [1, {"b": json.loads(text)["a"][1]["b"]}]}
    assert m.closing_plan(remaining=400) is None  # far from the end: not yet


def test_unconstrained_rows_beside_constrained_ones_are_unchanged(engine_and_backend, tiny):
    engine, _ = engine_and_backend
    greedy = SamplingParams(max_tokens=24, temperature=0)
    want = reference(tiny, PROMPTS[1], greedy).token_ids  # before the engine takes the model over
    letters = Constraint("regex", pattern="[a-z]{40}")

    async def go():
        tok = tiny.tokenizer
        outs = await asyncio.gather(
            collect(engine.generate(request(tok, "c", PROMPTS[0], greedy, constraint=letters))),
            collect(engine.generate(request(tok, "u", PROMPTS[1], greedy))),
            collect(engine.generate(request(tok, "j", PROMPTS[2], greedy, constraint=Constraint("json_object")))),
        )
        await engine.stop()
        return outs

    constrained, plain, _ = asyncio.run(go())
    assert plain["ids"] == want
    assert re.fullmatch("[a-z]{1,40}", constrained["text"])  # a valid prefix when max_tokens cut it
    assert constrained["finish"] == "length" or len(constrained["text"]) == 40


def test_uncompilable_constraints_raise_constraint_error(engine_and_backend, tiny):
    engine, backend = engine_and_backend
    bad = [Constraint("json_schema", schema={"type": "strnig"}), Constraint("json_schema", schema={"not": {}}),
           Constraint("json_schema", schema={"$ref": "#/definitions/missing"}), Constraint("regex", pattern="(a|b"),
           Constraint("choice", choices=())]
    for c in bad:
        with pytest.raises(ConstraintError):
            backend.compile(c)

    async def go():
        stream = engine.generate(request(tiny.tokenizer, "x", PROMPTS[0], SamplingParams(), constraint=bad[0]))
        with pytest.raises(ConstraintError, match="strnig"):
            await anext(stream)
        stats = engine.stats()
        await engine.stop()
        return stats

    assert asyncio.run(go()).queue_depth == 0


def test_compiled_constraints_are_cached_by_key(engine_and_backend):
    _, backend = engine_and_backend
    a = Constraint("json_schema", schema={"type": "object", "properties": {"x": {"type": "integer"}}})
    b = Constraint("json_schema", schema={"properties": {"x": {"type": "integer"}}, "type": "object"})
    assert constraint_key(a) == constraint_key(b)
    assert backend.compile(a) is backend.compile(b)
    assert backend.compile(Constraint("choice", choices=("x",))) is not backend.compile(a)


def test_matcher_forces_the_end_when_complete(engine_and_backend, tiny):
    _, backend = engine_and_backend
    m = backend.matcher(Constraint("choice", choices=("dog",)))
    for t in tiny.tokenizer("dog", add_special_tokens=False)["input_ids"]:
        assert not m.done
        m.advance(t)
    assert m.done and m.accepting
    with pytest.raises(ConstraintError):
        cat = tiny.tokenizer("cat", add_special_tokens=False)["input_ids"][0]
        backend.matcher(Constraint("choice", choices=("dog",))).advance(cat)


def test_apply_bitmask_sets_forbidden_logits_to_minus_inf():
    logits = torch.zeros((2, 40))
    mask = new_bitmask(2, 40)
    mask[0, 0] = 0b101  # tokens 0 and 2
    mask[1, 1] = 1 << 3  # token 35
    apply_bitmask(logits, mask)
    assert torch.isfinite(logits[0]).nonzero().flatten().tolist() == [0, 2]
    assert torch.isfinite(logits[1]).nonzero().flatten().tolist() == [35]
    mask = new_bitmask(1, 64)
    mask[0, 1] = -(2 ** 31)  # the sign bit: token 63
    logits = torch.zeros((1, 64))
    apply_bitmask(logits, mask)
    assert torch.isfinite(logits[0]).nonzero().flatten().tolist() == [63]


def test_rust_regex_escape_keeps_text_literal():
    text = "a.b|c (d) [e] {2} ^$ #&-~ \\ naïve"
    assert re.fullmatch(rust_regex_escape(text), text)
