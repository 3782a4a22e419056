"""Write records as JSON Lines in TuneLab's own formats (`record_to_row`); `load_dataset` reads
the file back to equal records."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from tunelab.data.records import Record, record_to_row


def write_jsonl(records: Iterable[Record], path: str | Path) -> int:
    """Write one JSON object per line (UTF-8, non-ASCII kept); returns the number written."""
    n = 0
    with open(path, "w", encoding="utf-8") as f:
        for record in records:
            f.write(json.dumps(record_to_row(record), ensure_ascii=False) + "\n")
            n += 1
    return n
