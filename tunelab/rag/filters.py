"""Metadata filters on chunks: category, brand, price range, and exact matches on other fields.

`to_where()` gives the Chroma `where` clause; `matches(meta)` applies the very same rule in Python
(to BM25 results), so a filter means one thing in every search mode. Text fields compare exactly
(case-sensitive), as Chroma does."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field, model_validator

Scalar = str | int | float | bool


class Filters(BaseModel):
    category: str | None = Field(default=None, description="Exact category.")
    brand: str | None = Field(default=None, description="Exact brand.")
    price_min: float | None = Field(default=None, ge=0, description="Lowest price, inclusive.")
    price_max: float | None = Field(default=None, ge=0, description="Highest price, inclusive.")
    fields: dict[str, Scalar] = Field(default_factory=dict, description="Other metadata fields, exact match.")

    @model_validator(mode="after")
    def _range(self) -> Filters:
        if self.price_min is not None and self.price_max is not None and self.price_min > self.price_max:
            raise ValueError(f"price_min ({self.price_min}) is above price_max ({self.price_max}).")
        return self

    @classmethod
    def parse(cls, pairs: list[str] | None = None, **kwargs: Any) -> Filters:
        """From CLI `KEY=VALUE` strings: category, brand, price_min, price_max, or any metadata field."""
        values: dict[str, Any] = dict(kwargs)
        extra: dict[str, Scalar] = {}
        for pair in pairs or []:
            key, sep, value = pair.partition("=")
            key, value = key.strip().replace("-", "_"), value.strip()
            if not sep or not key:
                raise ValueError(f"Filter '{pair}' is not KEY=VALUE (e.g. category=Shoes, price_max=50).")
            if key in ("category", "brand", "price_min", "price_max"):
                values[key] = value
            else:
                extra[key] = _typed(value)
        return cls(**{k: v for k, v in values.items() if v is not None}, fields=extra)

    def clauses(self) -> list[tuple[str, str, Scalar]]:
        """(field, op, value) with op one of eq, gte, lte."""
        out: list[tuple[str, str, Scalar]] = []
        if self.category is not None:
            out.append(("category", "eq", self.category))
        if self.brand is not None:
            out.append(("brand", "eq", self.brand))
        if self.price_min is not None:
            out.append(("price", "gte", float(self.price_min)))
        if self.price_max is not None:
            out.append(("price", "lte", float(self.price_max)))
        out.extend((k, "eq", v) for k, v in self.fields.items())
        return out

    def __bool__(self) -> bool:
        return bool(self.clauses())

    def to_where(self) -> dict[str, Any] | None:
        """Chroma `where`: None, one clause, or {"$and": [...]} (Chroma refuses a one-item $and)."""
        parts = [{field: {f"${op}": value}} for field, op, value in self.clauses()]
        if not parts:
            return None
        return parts[0] if len(parts) == 1 else {"$and": parts}

    def matches(self, meta: dict[str, Any]) -> bool:
        """True when `meta` passes every clause; a missing field fails (as in Chroma)."""
        for field, op, value in self.clauses():
            if field not in meta:
                return False
            have = meta[field]
            if op == "eq" and have != value:
                return False
            if op in ("gte", "lte"):
                if isinstance(have, bool) or not isinstance(have, (int, float)):
                    return False
                if (op == "gte" and have < value) or (op == "lte" and have > value):
                    return False
        return True

    def merged(self, other: Filters | None) -> Filters:
        """These filters with `other`'s set fields added (ours win), for a self-query hook."""
        if other is None:
            return self
        data = other.model_dump(exclude_none=True)
        data.update(self.model_dump(exclude_none=True, exclude={"fields"}))
        data["fields"] = {**other.fields, **self.fields}
        return Filters(**data)


def _typed(value: str) -> Scalar:
    """'12' → 12, '1.5' → 1.5, 'true' → True, anything else stays text."""
    low = value.lower()
    if low in ("true", "false"):
        return low == "true"
    for cast in (int, float):
        try:
            return cast(value)
        except ValueError:
            pass
    return value
