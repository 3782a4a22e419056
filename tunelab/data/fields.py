"""Small checks on one field of a raw record, each raising `FieldError(field, reason)` with the
field's path and a reason a user can act on. Cells that should hold a list or an object may hold
it as JSON text (as CSV files must)."""

from __future__ import annotations

import json
from typing import Any

from tunelab.data.errors import FieldError


def describe(value: Any) -> str:
    """'a string', 'a number', ... for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def present(row: dict[str, Any], key: str | None) -> bool:
    """True when `key` is a column and the row has a non-null value for it."""
    return key is not None and row.get(key) is not None


def text(value: Any, field: str, *, allow_empty: bool = False) -> str:
    """`value` as a string: missing (None) and non-strings are refused, and so is blank text
    unless `allow_empty`."""
    if value is None:
        raise FieldError(field, "missing")
    if not isinstance(value, str):
        raise FieldError(field, f"expected a string, got {describe(value)}")
    if not allow_empty and not value.strip():
        raise FieldError(field, "empty")
    return value


def optional_text(row: dict[str, Any], key: str | None) -> str | None:
    """The column's text, or None when the column is unset, missing, null or blank."""
    if not present(row, key):
        return None
    value = text(row[key], key, allow_empty=True)  # type: ignore[arg-type]
    return value if value.strip() else None


def _decoded(value: Any, field: str, kind: type, name: str) -> Any:
    if isinstance(value, str) and value.lstrip()[:1] in ("[", "{"):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise FieldError(field, f"expected {name}, got text that is not valid JSON ({exc.msg})") from None
    if isinstance(value, tuple):
        value = list(value)
    if value is None:
        raise FieldError(field, "missing")
    if not isinstance(value, kind):
        raise FieldError(field, f"expected {name}, got {describe(value)}")
    return value


def as_list(value: Any, field: str) -> list[Any]:
    return _decoded(value, field, list, "a list")


def as_dict(value: Any, field: str) -> dict[str, Any]:
    return _decoded(value, field, dict, "an object")


def tools_text(row: dict[str, Any], key: str | None) -> str | None:
    """Tool descriptions as a JSON string (LLaMA-Factory keeps them as text; OpenAI as a list)."""
    if not present(row, key):
        return None
    value = row[key]  # type: ignore[index]
    if isinstance(value, str):
        return value if value.strip() else None
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False) if value else None
    raise FieldError(key, f"expected a string or a list of tools, got {describe(value)}")


def structured(value: Any) -> Any:
    """`value` decoded from JSON text when it is text holding a message object or a list of them
    (a CSV cell); anything else is returned unchanged, so an answer like "[1, 2]" stays text."""
    if not (isinstance(value, str) and value.lstrip()[:1] in ("[", "{")):
        return value
    try:
        decoded = json.loads(value)
    except json.JSONDecodeError:
        return value
    items = decoded if isinstance(decoded, list) else [decoded]
    # only objects shaped like messages count: a JSON answer such as {"brand": "Nike"} stays text
    is_message = lambda m: isinstance(m, dict) and ({"role", "content"} <= m.keys() or {"from", "value"} <= m.keys())  # noqa: E731
    return decoded if items and all(is_message(m) for m in items) else value
