"""The file a generation run writes as it goes, `<home>/datagen/NAME.partial.jsonl`: a header line
(what the run was asked for), then one line per finished item, in the order they finished:
{"index": i, "row": {...}} for a record, {"index": i, "skipped": why} for an item that gave none.
A run that stopped (killed, a failing model) continues from it: the same items are not asked again.
A torn last line (the process died mid-write) is dropped when the file is read."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from tunelab.datagen.errors import DatagenError


@dataclass
class Made:
    rows: dict[int, dict] = field(default_factory=dict)  # index -> record row
    skipped: dict[int, str] = field(default_factory=dict)  # index -> why

    def done(self) -> set[int]:
        return set(self.rows) | set(self.skipped)


class PartialFile:
    def __init__(self, path: Path, header: dict) -> None:
        self.path, self.header = path, header

    def open(self, *, restart: bool = False) -> Made:
        """What an earlier run with the same header made; a new file (header only) when there is none or
        on `restart`. DatagenError when an earlier run was asked something else."""
        if restart or not self.path.exists():
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.write_text(json.dumps({"header": self.header}, ensure_ascii=False) + "\n", encoding="utf-8")
            return Made()
        lines = self.path.read_text(encoding="utf-8").split("\n")
        try:
            earlier = json.loads(lines[0])["header"]
        except (ValueError, KeyError, TypeError):
            raise DatagenError(f"{self.path} is not a generation file TuneLab wrote; move it away or pass --restart.") \
                from None
        if earlier != self.header:
            diff = sorted(k for k in set(earlier) | set(self.header) if earlier.get(k) != self.header.get(k))
            raise DatagenError(f"An earlier run under this name ({self.path}) was asked something else "
                               f"({', '.join(diff)} differ); run it as it was, pick another --name, or pass "
                               "--restart to drop what it made.")
        made = Made()
        good = [lines[0]]
        for line in lines[1:]:
            try:
                item = json.loads(line)
                index = int(item["index"])
            except (ValueError, KeyError, TypeError):
                continue  # the torn last line of a killed run (or the final newline)
            if "row" in item:
                made.rows[index] = item["row"]
            else:
                made.skipped[index] = str(item.get("skipped"))
            good.append(line)
        if len(good) != sum(1 for x in lines if x.strip()):  # rewrite without the torn line, so appends stay whole
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text("\n".join(good) + "\n", encoding="utf-8")
            os.replace(tmp, self.path)
        return made

    def append(self, item: dict) -> None:
        """One finished item, flushed to disk before the call returns."""
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(json.dumps(item, ensure_ascii=False) + "\n")
            f.flush()
            os.fsync(f.fileno())
