"""Which fields of a product catalogue record are its id, title, text and filterable metadata.

`FieldMapping.parse("id=sku,title=name,text=description+features,price=price_usd,meta=color+size")`
reads the CLI form; keys left out are guessed from the first record's field names
(`FieldMapping.guess`). category, brand and price keep those names in chunk metadata, so filters
work on any catalogue; `meta` fields keep their own names."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields, replace
from typing import Any

from tunelab.rag.errors import MappingError

_SINGLE = ("id", "title", "category", "brand", "price")
_MULTI = ("text", "meta")
KEYS = _SINGLE + _MULTI

# Field names commonly used for each key, in order of preference, for guessing.
_GUESSES: dict[str, tuple[str, ...]] = {
    "id": ("id", "sku", "product_id", "item_id", "asin", "gtin", "uid"),
    "title": ("title", "name", "product_name", "product_title"),
    "text": ("description", "text", "body", "content", "features", "bullet_points", "details", "summary"),
    "category": ("category", "product_type", "google_product_category", "categories", "department"),
    "brand": ("brand", "manufacturer", "vendor", "maker"),
    "price": ("price", "sale_price", "price_usd", "list_price"),
}


@dataclass(frozen=True)
class FieldMapping:
    id: str | None = None
    title: str | None = None
    text: tuple[str, ...] = ()
    category: str | None = None
    brand: str | None = None
    price: str | None = None
    meta: tuple[str, ...] = ()

    @classmethod
    def parse(cls, spec: str | None) -> FieldMapping:
        """`key=field[+field...]` pairs separated by commas; keys: id, title, text, category, brand, price, meta."""
        if not spec or not spec.strip():
            return cls()
        values: dict[str, Any] = {}
        for part in spec.split(","):
            if not part.strip():
                continue
            key, sep, value = part.partition("=")
            key, value = key.strip().lower(), value.strip()
            if not sep or not value:
                raise MappingError(f"Mapping entry '{part.strip()}' is not key=field (e.g. id=sku,title=name).")
            if key not in KEYS:
                raise MappingError(f"Mapping key '{key}' is unknown; keys are: {', '.join(KEYS)}.")
            names = tuple(v.strip() for v in re.split(r"[+|]", value) if v.strip())
            if key in _SINGLE and len(names) != 1:
                raise MappingError(f"Mapping key '{key}' takes one field, got '{value}'.")
            values[key] = names if key in _MULTI else names[0]
        return cls(**values)

    def guess(self, record: dict[str, Any]) -> FieldMapping:
        """Fill the keys left empty from the record's field names (case-insensitive)."""
        by_lower = {k.lower(): k for k in record}
        filled: dict[str, Any] = {}
        for key, candidates in _GUESSES.items():
            if getattr(self, key):
                continue
            found = [by_lower[c] for c in candidates if c in by_lower]
            if found:
                filled[key] = tuple(found) if key == "text" else found[0]
        return replace(self, **filled)

    def check(self, record: dict[str, Any], where: str) -> None:
        """Refuse a mapping that names a field the (first) record lacks, listing the fields it has."""
        if not self.id:
            raise MappingError(f"{where}: no id field found; name it with --mapping id=FIELD. "
                               f"Fields: {', '.join(record)}.")
        named = [self.id, self.title, self.category, self.brand, self.price, *self.text, *self.meta]
        missing = [n for n in named if n and n not in record]
        if missing:
            raise MappingError(f"{where}: the mapping names field(s) {', '.join(missing)} that the first record "
                               f"lacks. Fields: {', '.join(record)}.")

    def as_dict(self) -> dict[str, Any]:
        return {f.name: list(v) if isinstance(v, tuple) else v for f in fields(self)
                if (v := getattr(self, f.name))}


@dataclass
class ProductRecord:
    record_id: str
    title: str | None
    text: str
    meta: dict[str, Any] = field(default_factory=dict)  # category, brand, price (float) and the meta fields


def parse_price(value: Any) -> float:
    """12.5, "12.50", "$1,299.00", "12.50 USD" → float; anything else raises ValueError."""
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, (int, float)):
        return float(value)
    cleaned = re.sub(r"[^\d.\-]", "", str(value).replace(",", ""))
    return float(cleaned)


def _scalar(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}: {v}" for k, v in value.items())
    return value


def apply_mapping(mapping: FieldMapping, record: dict[str, Any]) -> ProductRecord:
    """One record → its id, title, text and metadata. Raises ValueError with the field at fault."""
    rid = record.get(mapping.id) if mapping.id else None
    if rid is None or str(rid).strip() == "":
        raise ValueError(f"no value in id field '{mapping.id}'")
    title = record.get(mapping.title) if mapping.title else None
    texts = [str(_scalar(record[f])) for f in mapping.text if record.get(f) not in (None, "")]
    meta: dict[str, Any] = {}
    for key in ("category", "brand"):
        name = getattr(mapping, key)
        if name and record.get(name) not in (None, ""):
            meta[key] = str(_scalar(record[name]))
    if mapping.price and record.get(mapping.price) not in (None, ""):
        try:
            meta["price"] = parse_price(record[mapping.price])
        except ValueError:
            raise ValueError(f"price field '{mapping.price}' is {record[mapping.price]!r}, not a number") from None
    for name in mapping.meta:
        if record.get(name) not in (None, ""):
            value = _scalar(record[name])
            meta[name] = value if isinstance(value, (str, int, float, bool)) else str(value)
    return ProductRecord(record_id=str(rid).strip(), title=None if title is None else str(title).strip(),
                         text="\n".join(texts), meta=meta)
