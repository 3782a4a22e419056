"""Constrained decoding on the packaged default model (SmolLM2-135M-Instruct) through the batching
engine: 50 sampled JSON outputs for a nested schema all parse and validate, choice and regex outputs
always match, and free JSON objects parse, also where the model would ramble past max_tokens (the
engine closes the output in time)."""

from __future__ import annotations

import asyncio
import json
import re

import jsonschema
import pytest

from tunelab.engine.batching import BatchingEngine
from tunelab.engine.sampling import SamplingParams
from tunelab.engine.types import Constraint, GenRequest

pytestmark = pytest.mark.slow

TEXT = r"^[A-Za-z0-9 ,.'-]{1,%d}$"  # ASCII only: one token is at least one character
SCHEMA = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "pattern": TEXT % 24},
        "category": {"type": "string", "enum": ["electronics", "clothing", "home", "food", "sports"]},
        "price": {"type": "object", "properties": {
            "amount": {"type": "integer", "minimum": 0, "maximum": 9999},
            "currency": {"type": "string", "enum": ["USD", "EUR", "GBP"]}},
            "required": ["amount", "currency"], "additionalProperties": False},
        "attributes": {"type": "array", "minItems": 1, "maxItems": 2, "items": {
            "type": "object",
            "properties": {"key": {"type": "string", "pattern": TEXT % 10}, "value": {"type": "string",
                                                                                   "pattern": TEXT % 16}},
            "required": ["key", "value"], "additionalProperties": False}},
        "in_stock": {"type": "boolean"},
    },
    "required": ["name", "category", "price", "attributes", "in_stock"],
    "additionalProperties": False,
}
# A modest budget: the shortest valid output takes ~45 tokens, typical ones 70-90, the longest the schema
# allows 248 bytes; a sample heading past 100 tokens is closed in time by the engine.
MAX_TOKENS = 100
PRODUCTS = ["wireless earbuds", "a wool winter coat", "a stainless steel water bottle", "running shoes",
            "organic green tea", "a kitchen knife set", "a yoga mat", "a desk lamp", "a phone charger",
            "a cotton t-shirt"]
REVIEWS = ["I love it, works perfectly.", "Broke after two days. Awful.", "It is fine, nothing special.",
           "Best purchase this year!", "Arrived late and scratched."]
LABELS = ("positive", "negative", "neutral")
SKU = r"[A-Z]{3}-[0-9]{4}"


def prompt_ids(model, text: str) -> list[int]:
    chat = model.chat_prompt([{"role": "user", "content": text}])
    return model.tokenizer(chat, add_special_tokens=False)["input_ids"]


async def run(engine, reqs: list[GenRequest]) -> list[dict]:
    async def one(req):
        events = [ev async for ev in engine.generate(req)]
        return {"text": "".join(e.text for e in events), "finish": events[-1].finish_reason,
                "tokens": events[-1].completion_tokens}

    return await asyncio.gather(*[one(r) for r in reqs])


def test_constrained_outputs_always_parse_and_validate(default_model):
    model = default_model
    schema_reqs = [
        GenRequest(f"json{i}", prompt_ids(model, f"Describe {PRODUCTS[i % len(PRODUCTS)]} as a JSON product record "
                                                 "with name, category, price, attributes and in_stock."),
                   SamplingParams(max_tokens=MAX_TOKENS, temperature=0.7 + 0.1 * (i % 4), seed=1000 + i),
                   constraint=Constraint("json_schema", schema=SCHEMA))
        for i in range(50)
    ]
    choice_reqs = [
        GenRequest(f"choice{i}", prompt_ids(model, f"Is this review positive, negative or neutral? {r}"),
                   SamplingParams(max_tokens=8, temperature=0.9, seed=i),
                   constraint=Constraint("choice", choices=LABELS))
        for i, r in enumerate(REVIEWS)
    ]
    regex_reqs = [
        GenRequest(f"sku{i}", prompt_ids(model, f"Invent a stock keeping unit code for {p}."),
                   SamplingParams(max_tokens=12, temperature=1.0, seed=i), constraint=Constraint("regex", pattern=SKU))
        for i, p in enumerate(PRODUCTS[:5])
    ]
    object_reqs = [  # greedy, this prompt makes the model write on inside a string past 96 tokens
        GenRequest(f"obj{i}", prompt_ids(model, f"Describe {p} in JSON with two short fields."),
                   SamplingParams(max_tokens=96, temperature=0), constraint=Constraint("json_object"))
        for i, p in enumerate(PRODUCTS[:3])
    ]

    async def go():
        engine = BatchingEngine(model, adapter_paths=str, max_batch_size=64, max_queue=64)
        await engine.start()
        outs = await run(engine, schema_reqs + choice_reqs + regex_reqs + object_reqs)
        await engine.stop()
        return outs

    outs = asyncio.run(go())
    schema_outs, rest = outs[:50], outs[50:]
    choice_outs, regex_outs, object_outs = rest[:5], rest[5:10], rest[10:]
    for o in schema_outs:
        jsonschema.validate(json.loads(o["text"]), SCHEMA)
        assert o["finish"] == "stop"
    assert len({o["text"] for o in schema_outs}) > 40  # 50 different samples, not one answer repeated
    assert all(o["text"] in LABELS for o in choice_outs), choice_outs
    assert all(re.fullmatch(SKU, o["text"]) for o in regex_outs), regex_outs
    for o in object_outs:
        assert o["finish"] == "stop" and isinstance(json.loads(o["text"]), dict), o
