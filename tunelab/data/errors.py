"""Dataset errors a user can act on: each names the file, the line (JSONL/CSV) or record index
(JSON/Parquet, 0-based), the field and the reason, e.g. ``data.jsonl line 7: field 'output': missing``.

Format parsers are pure functions of one record and raise `FieldError` (field + reason, no location);
the loader adds the location and raises `DatasetError`, or counts the record as skipped.
"""

from __future__ import annotations

from dataclasses import dataclass, field


class FieldError(ValueError):
    """One record is invalid: `field` is a path into the record (``messages[2].role``) or None."""

    def __init__(self, field: str | None, reason: str):
        self.field, self.reason = field, reason
        super().__init__(self.__str__())

    def __str__(self) -> str:
        return f"field '{self.field}': {self.reason}" if self.field else self.reason


@dataclass(frozen=True)
class Location:
    """Where a record came from: `line` for line-based files (1-based), `record` otherwise (0-based)."""

    file: str
    line: int | None = None
    record: int | None = None

    def __str__(self) -> str:
        if self.line is not None:
            return f"{self.file} line {self.line}"
        if self.record is not None:
            return f"{self.file} record {self.record}"
        return self.file


class DatasetError(ValueError):
    """A dataset file (or one of its records) cannot be used. A ValueError, so the CLI prints it
    without a traceback. Attributes: file, line, record, field, reason."""

    def __init__(
        self,
        file: str,
        reason: str,
        *,
        line: int | None = None,
        record: int | None = None,
        field: str | None = None,
    ):
        self.file, self.reason, self.line, self.record, self.field = str(file), reason, line, record, field
        super().__init__(self.__str__())

    @classmethod
    def at(cls, where: Location, err: FieldError) -> DatasetError:
        return cls(where.file, err.reason, line=where.line, record=where.record, field=err.field)

    @property
    def location(self) -> Location:
        return Location(self.file, self.line, self.record)

    def __str__(self) -> str:
        head = str(self.location)
        return f"{head}: field '{self.field}': {self.reason}" if self.field else f"{head}: {self.reason}"


@dataclass
class SkipReport:
    """What `skip_invalid=True` left out: how many records were read, how many skipped, and the
    first `max_reasons` reasons (full messages with location)."""

    total: int = 0
    skipped: int = 0
    reasons: list[str] = field(default_factory=list)
    max_reasons: int = 5

    def add(self, err: DatasetError) -> None:
        self.skipped += 1
        if len(self.reasons) < self.max_reasons:
            self.reasons.append(str(err))

    @property
    def kept(self) -> int:
        return self.total - self.skipped
