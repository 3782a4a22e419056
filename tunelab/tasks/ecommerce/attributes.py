"""Attribute specs for [EXTRACT]: which attributes to pull from a listing and the type of each.

An `AttributeSpec` is an ordered mapping name -> type, the type being "string", "number", "integer",
"boolean" or a list of allowed string values (an enum). `parse_attribute_spec` builds one from a
request (a list of names, all strings, or a name -> type dict) and raises `AttributeSchemaError`
naming the attribute and where it came from; `attribute_json_schema` is the JSON schema an
extraction must match (every attribute present, a value of its type or null, nothing else)."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

AttributeType = str | list[str]
AttributeSpec = dict[str, AttributeType]  # insertion-ordered: the order of the keys in the reply

SCALAR_TYPES = ("string", "number", "integer", "boolean")
VALID_TYPES_TEXT = '"string", "number", "integer", "boolean", or a list of allowed string values'


class AttributeSchemaError(ValueError):
    """An attribute spec that cannot be used: unknown type, empty or duplicate name, bad enum."""


def _type_of(name: str, raw: Any, where: str) -> AttributeType:
    if isinstance(raw, Mapping) and set(raw) == {"enum"}:  # {"enum": [...]}, as JSON schema writes it
        raw = raw["enum"]
    if isinstance(raw, str):
        kind = raw.strip().lower()
        if kind in SCALAR_TYPES:
            return kind
        raise AttributeSchemaError(f"{where}: attribute {name!r} has unknown type {raw!r}; "
                                   f"valid types are {VALID_TYPES_TEXT}.")
    if isinstance(raw, (list, tuple)):
        if not raw:
            raise AttributeSchemaError(f"{where}: attribute {name!r} lists no allowed values; give at least one.")
        values: list[str] = []
        for v in raw:
            if not isinstance(v, str) or not v.strip():
                raise AttributeSchemaError(f"{where}: attribute {name!r} has allowed value {v!r}; "
                                           "allowed values must be non-empty strings.")
            if v in values:
                raise AttributeSchemaError(f"{where}: attribute {name!r} lists the allowed value {v!r} twice.")
            values.append(v)
        return values
    raise AttributeSchemaError(f"{where}: attribute {name!r} has type {raw!r} ({type(raw).__name__}); "
                               f"valid types are {VALID_TYPES_TEXT}.")


def _name(raw: Any, where: str, seen: AttributeSpec) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise AttributeSchemaError(f"{where}: attribute names must be non-empty strings, got {raw!r}.")
    name = raw.strip()
    if name in seen:
        raise AttributeSchemaError(f"{where}: attribute {name!r} is named twice.")
    return name


def parse_attribute_spec(value: Any, where: str = "request") -> AttributeSpec:
    """An `AttributeSpec` from a list of names (each a "string") or a mapping name -> type.
    `where` names the record or request in error messages ("record 12", "request")."""
    spec: AttributeSpec = {}
    if isinstance(value, Mapping):
        for raw_name, raw_type in value.items():
            name = _name(raw_name, where, spec)
            spec[name] = _type_of(name, raw_type, where)
    elif isinstance(value, (list, tuple)):
        for raw_name in value:
            spec[_name(raw_name, where, spec)] = "string"
    else:
        raise AttributeSchemaError(f"{where}: attributes must be a list of names or an object of name -> type, "
                                   f"got {type(value).__name__}.")
    if not spec:
        raise AttributeSchemaError(f"{where}: no attributes to extract; name at least one.")
    return spec


def _property_schema(kind: AttributeType) -> dict:
    if isinstance(kind, list):
        return {"enum": [*kind, None]}
    return {"type": [kind, "null"]}


def attribute_json_schema(spec: AttributeSpec) -> dict:
    """The JSON schema of an extraction: an object with every attribute (in spec order), each a value
    of its type or null, and no other key."""
    return {
        "type": "object",
        "properties": {name: _property_schema(kind) for name, kind in spec.items()},
        "required": list(spec),
        "additionalProperties": False,
    }


def _problem(name: str, value: Any, kind: AttributeType) -> str | None:
    if value is None:
        return None
    if isinstance(kind, list):
        return None if value in kind else f"{name!r}: {value!r} is not one of {kind}"
    if kind == "string":
        ok = isinstance(value, str)
    elif kind == "boolean":
        ok = isinstance(value, bool)
    elif kind == "integer":  # 3.0 is an integer in JSON schema too
        ok = not isinstance(value, bool) and (isinstance(value, int) or (isinstance(value, float)
                                                                          and value.is_integer()))
    else:
        # an int of any size is a JSON number; a float must be finite (json.loads reads 1e999 as inf)
        ok = not isinstance(value, bool) and (isinstance(value, int) or (isinstance(value, float)
                                                                          and math.isfinite(value)))
    return None if ok else f"{name!r}: expected {kind} or null, got {value!r}"


def validate_values(values: Any, spec: AttributeSpec) -> list[str]:
    """What is wrong with `values` as an extraction for `spec` (empty when it validates against
    `attribute_json_schema(spec)`): not an object, a missing or extra key, a value of the wrong type."""
    if not isinstance(values, Mapping):
        return [f"expected a JSON object, got {type(values).__name__}"]
    problems = [f"{name!r}: missing" for name in spec if name not in values]
    problems += [f"{key!r}: not an attribute of the request" for key in values if key not in spec]
    for name, kind in spec.items():
        if name in values and (p := _problem(name, values[name], kind)):
            problems.append(p)
    return problems


def null_values(spec: AttributeSpec) -> dict[str, None]:
    """Every attribute of `spec` as null: the extraction of a text that states none of them."""
    return {name: None for name in spec}


def describe_attribute(name: str, kind: AttributeType) -> str:
    """One prompt line: 'Material (string)' or 'Size (one of: "S", "M", "L")'."""
    if isinstance(kind, list):
        return f"{name} (one of: {', '.join(json.dumps(v, ensure_ascii=False) for v in kind)})"
    return f"{name} ({kind})"

