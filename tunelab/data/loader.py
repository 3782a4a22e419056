"""Load a dataset file into typed records: read rows, detect the format from the first record (or
take the one named), parse every record. By default the first invalid record raises `DatasetError`
(file, line or record, field, reason); with ``skip_invalid=True`` invalid records are left out and
counted in the `SkipReport`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tunelab.data.errors import DatasetError, FieldError, SkipReport
from tunelab.data.formats import Parser, detect_format, get_parser
from tunelab.data.readers import RawRow, read_rows
from tunelab.data.records import Record


@dataclass
class LoadedDataset:
    """Records of one format, where they came from, and what was skipped."""

    records: list[Record]
    format: str
    source: str
    report: SkipReport = field(default_factory=SkipReport)

    def __len__(self) -> int:
        return len(self.records)

    def __iter__(self) -> Iterator[Record]:
        return iter(self.records)


def parse_rows(
    rows: Iterable[RawRow], parser: Parser, *, skip_invalid: bool = False, report: SkipReport | None = None
) -> list[Record]:
    """Parse raw rows with `parser`. Raises the first `DatasetError` unless `skip_invalid`, in
    which case bad rows are counted in `report` (which also counts every row read)."""
    report = report if report is not None else SkipReport()
    out: list[Record] = []
    for row in rows:
        report.total += 1
        try:
            if isinstance(row.data, FieldError):
                raise row.data
            out.append(parser(row.data))
        except FieldError as exc:
            err = DatasetError.at(row.where, exc)
            if not skip_invalid:
                raise err from None
            report.add(err)
    return out


def _detected(rows: Iterator[RawRow], source: str) -> tuple[str, list[RawRow]]:
    """Detect the format from the first row that is an object; returns it and the rows read so far
    (so they are parsed too). A detection failure is about the whole file: it always raises, as
    does a file with no readable row (naming the first unreadable one)."""
    seen: list[RawRow] = []
    for row in rows:
        seen.append(row)
        if isinstance(row.data, dict):
            try:
                return detect_format(row.data), seen
            except FieldError as exc:
                raise DatasetError.at(row.where, exc) from None
    if not seen:
        raise DatasetError(source, "no records")
    first = seen[0]  # every row read was unreadable: report the first
    raise DatasetError.at(first.where, first.data)  # type: ignore[arg-type]


def finish(records: list[Record], report: SkipReport, source: str) -> None:
    """Refuse a dataset that came out empty, saying why."""
    if records:
        return
    if report.skipped:
        first = f"; the first: {report.reasons[0]}" if report.reasons else ""
        raise DatasetError(source, f"all {report.skipped} records are invalid{first}")
    raise DatasetError(source, "no records")


def load_dataset(
    path: str | Path, format: str | None = None, *, skip_invalid: bool = False, max_reasons: int = 5
) -> LoadedDataset:
    """Load a .json/.jsonl/.csv/.tsv/.parquet file as `format` (one of `FORMATS`; detected from
    the first record when None). Raises `DatasetError` for the first invalid record unless
    `skip_invalid`; always raises when no record is usable. ValueError for an unknown format."""
    source = str(path)
    parser = get_parser(format) if format is not None else None
    rows: Iterable[RawRow] = read_rows(path)
    if format is None:
        it = iter(rows)
        format, head = _detected(it, source)
        parser = get_parser(format)
        rows = _chain(head, it)
    report = SkipReport(max_reasons=max_reasons)
    records = parse_rows(rows, parser, skip_invalid=skip_invalid, report=report)  # type: ignore[arg-type]
    finish(records, report, source)
    return LoadedDataset(records=records, format=format, source=source, report=report)


def _chain(head: list[RawRow], rest: Iterator[RawRow]) -> Iterator[RawRow]:
    yield from head
    yield from rest
