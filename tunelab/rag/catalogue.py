"""Product catalogues (JSON array, JSONL, CSV/TSV): one `RawDocument` per record, keyed
`file#record-id`, with the fields a `FieldMapping` names. A bad record becomes a `Failure` that
says its line (or index) and why; the rest of the file still loads."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tunelab.rag.documents import Failure, RawDocument
from tunelab.rag.errors import MappingError
from tunelab.rag.mapping import FieldMapping, apply_mapping

CATALOGUE_SUFFIXES = {".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".tsv": "tsv"}


def _records(path: Path, text: str) -> Iterator[tuple[str, Any]]:
    """(where, record) pairs; `where` is 'line N' or 'record N' for messages."""
    kind = CATALOGUE_SUFFIXES[path.suffix.lower()]
    if kind == "jsonl":
        for n, line in enumerate(text.splitlines(), start=1):
            if line.strip():
                try:
                    yield f"line {n}", json.loads(line)
                except json.JSONDecodeError as exc:
                    yield f"line {n}", ValueError(f"invalid JSON: {exc.msg} at column {exc.colno}")
    elif kind == "json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
        if isinstance(data, dict):  # {"products": [...]}: the one list value
            lists = [v for v in data.values() if isinstance(v, list)]
            if len(lists) != 1:
                raise ValueError("a JSON catalogue is an array of objects, or an object holding one such array")
            data = lists[0]
        if not isinstance(data, list):
            raise ValueError("a JSON catalogue is an array of objects")
        for n, record in enumerate(data):
            yield f"record {n}", record
    else:
        reader = csv.DictReader(io.StringIO(text), delimiter="\t" if kind == "tsv" else ",")
        for record in reader:
            yield f"line {reader.line_num}", {k: v for k, v in record.items() if k is not None}


def load_catalogue(path: Path, text: str, mapping: FieldMapping) -> Iterator[RawDocument | Failure]:
    """Records of `path` (already read as `text`) as product documents, or failures."""
    resolved: FieldMapping | None = None
    seen: dict[str, str] = {}
    try:
        for where, record in _records(path, text):
            if isinstance(record, Exception):
                yield Failure(f"{path}:{where.split()[-1]}", f"{where}: {record}")
                continue
            if not isinstance(record, dict):
                yield Failure(f"{path}:{where.split()[-1]}", f"{where}: a record is an object, got {type(record).__name__}")
                continue
            if resolved is None:
                resolved = mapping.guess(record)
                resolved.check(record, where)
            try:
                product = apply_mapping(resolved, record)
            except ValueError as exc:
                yield Failure(f"{path}:{where.split()[-1]}", f"{where}: {exc}")
                continue
            source = f"{path}#{product.record_id}"
            if product.record_id in seen:
                yield Failure(source, f"{where}: duplicate id '{product.record_id}' (first at {seen[product.record_id]})")
                continue
            seen[product.record_id] = where
            if not (product.title or product.text):
                yield Failure(source, f"{where}: no title and no text to index")
                continue
            meta = {"record_id": product.record_id, **product.meta}
            yield RawDocument(source=source, doc_type="product", text=product.text, title=product.title, meta=meta)
    except MappingError as exc:  # the whole file: its fields are not what the mapping says
        yield Failure(str(path), str(exc))
    except ValueError as exc:
        yield Failure(str(path), f"not a readable catalogue: {exc}")
