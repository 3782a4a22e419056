"""Attribute specs: parsing from a request (names or name -> type), errors that name the attribute and
the record, the JSON schema of an extraction, and `validate_values` agreeing with jsonschema."""

from __future__ import annotations

import jsonschema
import pytest

from tunelab.tasks.ecommerce.attributes import (
    AttributeSchemaError,
    attribute_json_schema,
    null_values,
    parse_attribute_spec,
    validate_values,
)

SPEC = {"Color": "string", "Weight (g)": "number", "Pack Size": "integer", "Waterproof": "boolean",
        "Size": ["S", "M", "L"]}


def test_list_of_names_are_strings_in_order():
    spec = parse_attribute_spec([" Material ", "Color", "Size"])
    assert spec == {"Material": "string", "Color": "string", "Size": "string"}
    assert list(spec) == ["Material", "Color", "Size"]


def test_mapping_keeps_types_order_and_enum_forms():
    spec = parse_attribute_spec({"Color": "String", "Weight (g)": "number", "Pack Size": "integer",
                                 "Waterproof": "boolean", "Size": {"enum": ["S", "M", "L"]}})
    assert spec == SPEC and list(spec) == list(SPEC)
    assert parse_attribute_spec(SPEC) == SPEC  # a parsed spec parses to itself


def test_unknown_type_names_attribute_record_and_valid_types():
    with pytest.raises(AttributeSchemaError) as err:
        parse_attribute_spec({"Color": "string", "Weight": "float"}, where="record 'syn-7'")
    msg = str(err.value)
    assert "record 'syn-7'" in msg and "'Weight'" in msg and "'float'" in msg
    for kind in ("string", "number", "integer", "boolean", "list of allowed string values"):
        assert kind in msg
    with pytest.raises(AttributeSchemaError, match="'Size'.*int"):
        parse_attribute_spec({"Size": 3})


@pytest.mark.parametrize("value, fragment", [
    (["Color", " Color "], "'Color' is named twice"),
    (["Color", ""], "non-empty strings"),
    ({"  ": "string"}, "non-empty strings"),
    ([], "no attributes"),
    ({"Size": []}, "no allowed values"),
    ({"Size": ["S", ""]}, "non-empty strings"),
    ({"Size": ["S", "S"]}, "'S' twice"),
    ({"Size": ["S", 2]}, "allowed value 2"),
    ("Color", "list of names"),
])
def test_bad_specs_are_refused(value, fragment):
    with pytest.raises(AttributeSchemaError, match="request") as err:
        parse_attribute_spec(value)
    assert fragment in str(err.value)


def test_json_schema_requires_every_attribute_and_allows_null():
    schema = attribute_json_schema(SPEC)
    assert schema["required"] == list(SPEC) and list(schema["properties"]) == list(SPEC)
    assert schema["additionalProperties"] is False
    assert schema["properties"]["Size"] == {"enum": ["S", "M", "L", None]}
    assert schema["properties"]["Pack Size"] == {"type": ["integer", "null"]}
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.validate(null_values(SPEC), schema)


CASES = [
    ({"Color": "red", "Weight (g)": 12.5, "Pack Size": 6, "Waterproof": True, "Size": "M"}, True),
    (null_values(SPEC), True),
    ({"Color": None, "Weight (g)": 3, "Pack Size": 6.0, "Waterproof": False, "Size": None}, True),
    ({"Color": "red", "Weight (g)": 12.5, "Pack Size": 6, "Waterproof": True}, False),  # Size missing
    ({**null_values(SPEC), "Brand": None}, False),  # extra key
    ({**null_values(SPEC), "Size": "XL"}, False),  # not an allowed value
    ({**null_values(SPEC), "Pack Size": 6.5}, False),
    ({**null_values(SPEC), "Pack Size": True}, False),  # a boolean is not an integer
    ({**null_values(SPEC), "Weight (g)": "12"}, False),
    ({**null_values(SPEC), "Weight (g)": 10 ** 400}, True),  # too big for a float, still a JSON number
    ({**null_values(SPEC), "Waterproof": "yes"}, False),
    ({**null_values(SPEC), "Color": 7}, False),
    (["red"], False),
]


@pytest.mark.parametrize("values, ok", CASES)
def test_validate_values_agrees_with_jsonschema(values, ok):
    problems = validate_values(values, SPEC)
    assert (not problems) == ok, problems
    assert jsonschema.Draft202012Validator(attribute_json_schema(SPEC)).is_valid(values) == ok


def test_problems_name_the_attribute():
    problems = validate_values({**null_values(SPEC), "Size": "XL", "Brand": "x"}, SPEC)
    assert any("'Size'" in p and "'XL'" in p for p in problems)
    assert any("'Brand'" in p for p in problems)
