"""extract on the tiny (random) model through a real batching engine: the reply always parses and
validates against the attribute schema, keys in spec order, even with a tiny token budget; an
upstream that ignores the schema gives all-null values marked invalid; errors name the record."""

from __future__ import annotations

import json

import jsonschema
import pytest
from ecommerce_task_helpers import IgnoresConstraintModel, engine_model, run

from tunelab.tasks.ecommerce.attributes import AttributeSchemaError, attribute_json_schema, null_values
from tunelab.tasks.ecommerce.extract import extract, extract_many, parse_extraction

SPEC = {"Color": "string", "Weight (g)": "number", "Pack Size": "integer", "Waterproof": "boolean",
        "Size": ["S", "M", "L"]}
TEXTS = ["Men's running shoes, breathable mesh, size 42, colour blue.",
         "Stainless steel water bottle, 750 ml, keeps drinks cold for 24 hours.",
         "Wireless earbuds with noise cancelling and a charging case.",
         "Organic green tea, 100 bags. Kitchen knife set with wooden block."]


def check(e, spec):
    schema = attribute_json_schema(spec)
    jsonschema.validate(e.values, schema)
    assert list(e.values) == list(spec)
    assert e.valid, e.raw
    raw = json.loads(e.raw)
    jsonschema.validate(raw, schema)
    assert list(raw) == list(spec)  # the constraint keeps the spec's key order


def test_replies_always_validate_even_from_a_random_model(tiny):
    specs = [SPEC, {"Material": "string"}, ["Brand", "Model", "Color", "Capacity"], {"Size": ["S", "M"]}]

    async def go():
        async with engine_model(tiny) as model:
            one = await extract(model, TEXTS[0], SPEC, record_id="p1")
            many = await extract_many(model, TEXTS, specs)
            shared = await extract_many(model, TEXTS, ["Color", "Size"], max_tokens=5)  # budget raised to fit
            return one, many, shared

    one, many, shared = run(go())
    check(one, SPEC)
    for e, spec in zip(many, specs):
        check(e, spec if isinstance(spec, dict) else {k: "string" for k in spec})
    for e in shared:
        check(e, {"Color": "string", "Size": "string"})


def test_an_upstream_ignoring_the_schema_gives_all_nulls_marked_invalid(tiny):
    async def go():
        async with engine_model(tiny, IgnoresConstraintModel) as model:
            return await extract(model, TEXTS[1], SPEC, max_tokens=24)

    e = run(go())
    assert e.values == null_values(SPEC) and e.valid is False and e.raw  # the random text is no JSON


def test_parse_keeps_valid_attributes_and_nulls_the_rest():
    fenced = '```json\n{"Color": "red", "Weight (g)": "heavy", "Pack Size": 6.0, "Waterproof": true}\n```'
    e = parse_extraction(fenced, SPEC)
    assert e.values == {"Color": "red", "Weight (g)": None, "Pack Size": 6, "Waterproof": True, "Size": None}
    assert isinstance(e.values["Pack Size"], int) and e.valid is False and e.raw == fenced
    good = json.dumps({"Color": None, "Weight (g)": 2.5, "Pack Size": 3, "Waterproof": False, "Size": "L"})
    assert parse_extraction(good, SPEC).valid and parse_extraction(good, SPEC).values == json.loads(good)
    assert parse_extraction("[1, 2]", SPEC).values == null_values(SPEC)


def test_bad_input_names_the_record(tiny):
    async def go(text, attributes, **kw):
        async with engine_model(tiny) as model:
            return await extract(model, text, attributes, **kw)

    with pytest.raises(AttributeSchemaError, match="record 'sku-3'.*'Weight'.*valid types"):
        run(go("A bottle", {"Weight": "float"}, record_id="sku-3"))
    with pytest.raises(ValueError, match="record 'sku-4'"):
        run(go("  ", ["Color"], record_id="sku-4"))

    async def many():
        async with engine_model(tiny) as model:
            return await extract_many(model, ["A bottle", "A cup"], [["Color"], {"Size": "tiny"}],
                                      record_ids=["a", "b"])

    with pytest.raises(AttributeSchemaError, match="record 'b'.*'Size'"):
        run(many())
