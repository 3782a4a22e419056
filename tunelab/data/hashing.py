"""Content hashes: sha256 over a canonical serialisation of each record (its kind and fields as
JSON with sorted keys, compact separators, UTF-8), one line per record, in dataset order. Stable
across runs, processes and machines; independent of the file format the records came from."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable

from tunelab.data.records import Record, canonical_dict


def canonical_json(record: Record) -> str:
    """The one JSON text of a record that hashing and dedup compare."""
    return json.dumps(canonical_dict(record), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def record_hash(record: Record) -> str:
    """sha256 hex digest of one record's canonical JSON."""
    return hashlib.sha256(canonical_json(record).encode("utf-8")).hexdigest()


def dataset_hash(records: Iterable[Record]) -> str:
    """sha256 hex digest of the records' canonical JSON lines, each followed by a newline.
    Order matters: the same records in another order hash differently."""
    h = hashlib.sha256()
    for record in records:
        h.update(canonical_json(record).encode("utf-8"))
        h.update(b"\n")
    return h.hexdigest()
