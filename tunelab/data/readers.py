"""Raw rows from dataset files: JSON (a list of objects, or an object {"data": [...]}; JSON Lines text
in a .json file is read as JSONL, as LLaMA-Factory does), JSONL, CSV/TSV and Parquet. Each row carries its `Location` (line for
JSONL/CSV, 0-based record index for JSON/Parquet). A row that cannot be read (bad JSON line, not an
object) is yielded as a `FieldError` so the loader can skip or report it; a file that cannot be
read at all raises `DatasetError`.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tunelab.data.errors import DatasetError, FieldError, Location
from tunelab.data.fields import describe

SUFFIXES = (".json", ".jsonl", ".ndjson", ".csv", ".tsv", ".parquet")


@dataclass(frozen=True)
class RawRow:
    where: Location
    data: dict[str, Any] | FieldError


def _object(value: Any) -> dict[str, Any] | FieldError:
    return value if isinstance(value, dict) else FieldError(None, f"expected a JSON object, got {describe(value)}")


def _text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DatasetError(str(path), f"not UTF-8 text (byte {exc.start}); save the file as UTF-8") from None


def _jsonl(path: Path, text: str) -> Iterator[RawRow]:
    # split on "\n" only: str.splitlines would also split on U+2028 etc., legal inside JSON strings
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        where = Location(str(path), line=number)
        try:
            yield RawRow(where, _object(json.loads(line)))
        except json.JSONDecodeError as exc:
            yield RawRow(where, FieldError(None, f"invalid JSON: {exc.msg} (column {exc.colno})"))


def _is_one_object(text: str) -> bool:
    try:
        return isinstance(json.loads(text), dict)
    except json.JSONDecodeError:
        return False


def _wrapped(text: str) -> list | None:
    """The records of a top-level {"data": [...]} object (as some pipelines write them), else None."""
    try:
        top = json.loads(text)
    except json.JSONDecodeError:
        return None
    return top["data"] if isinstance(top, dict) and isinstance(top.get("data"), list) else None


def _json(path: Path) -> Iterator[RawRow]:
    text = _text(path)
    items = _wrapped(text) if text.lstrip().startswith("{") else None
    if items is None and not text.lstrip().startswith("["):
        if "\n" in text.strip() and _is_one_object(text):
            raise DatasetError(str(path), "one JSON object spanning several lines: expected a list of records "
                               "([{...}, {...}]), an object {\"data\": [{...}, ...]}, or one record per line "
                               "(JSON Lines)")
        yield from _jsonl(path, text)
        return
    try:
        items = json.loads(text) if items is None else items
    except json.JSONDecodeError as exc:
        raise DatasetError(str(path), f"invalid JSON: {exc.msg} (column {exc.colno})", line=exc.lineno) from None
    for index, item in enumerate(items):
        yield RawRow(Location(str(path), record=index), _object(item))


def _csv(path: Path, delimiter: str) -> Iterator[RawRow]:
    with open(path, encoding="utf-8-sig", newline="") as f:
        reader = csv.reader(f, delimiter=delimiter)
        try:
            header = next(reader)
        except StopIteration:
            return
        except UnicodeDecodeError as exc:
            raise DatasetError(str(path), f"not UTF-8 text (byte {exc.start}); save the file as UTF-8") from None
        start = reader.line_num + 1  # a record may span lines (quoted newlines): report where it starts
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                return
            except UnicodeDecodeError as exc:
                raise DatasetError(str(path), f"not UTF-8 text (byte {exc.start}); save the file as UTF-8", line=start) from None
            except csv.Error as exc:
                raise DatasetError(str(path), f"cannot parse CSV: {exc}", line=start) from None
            where = Location(str(path), line=start)
            start = reader.line_num + 1
            if not cells or all(not c.strip() for c in cells):
                continue
            if len(cells) > len(header):
                yield RawRow(where, FieldError(None, f"has {len(cells)} cells but the header has {len(header)}"))
            else:
                yield RawRow(where, {k: (cells[i] if i < len(cells) else None) for i, k in enumerate(header)})


def _parquet(path: Path) -> Iterator[RawRow]:
    try:
        import pyarrow.parquet as pq  # lazy: pyarrow is slow to import
    except ImportError:  # pragma: no cover - pyarrow is a dependency
        raise DatasetError(str(path), "reading Parquet needs pyarrow: pip install pyarrow") from None
    try:
        rows = pq.read_table(path).to_pylist()
    except Exception as exc:  # pyarrow raises several types for a bad file
        raise DatasetError(str(path), f"cannot read Parquet: {exc}") from None
    for index, row in enumerate(rows):
        yield RawRow(Location(str(path), record=index), row)


def read_rows(path: str | Path) -> Iterator[RawRow]:
    """Every record of a dataset file, in file order, chosen by the file's suffix."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError(str(path), "no such file" if not path.exists() else "not a file")
    suffix = path.suffix.lower()
    if suffix == ".json":
        return _json(path)
    if suffix in (".jsonl", ".ndjson"):
        return _jsonl(path, _text(path))
    if suffix in (".csv", ".tsv"):
        return _csv(path, "\t" if suffix == ".tsv" else ",")
    if suffix == ".parquet":
        return _parquet(path)
    raise DatasetError(str(path), f"unsupported file type '{suffix or path.name}': use one of {', '.join(SUFFIXES)}")
