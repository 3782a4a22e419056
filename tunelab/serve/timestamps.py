"""`UtcDateTime`: a response timestamp always carries its offset. SQLite gives back the UTC times it
was given without one, which is not the RFC 3339 date-time the schema promises; these are UTC."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator


def as_utc(dt: datetime) -> datetime:
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


UtcDateTime = Annotated[datetime, AfterValidator(as_utc)]
