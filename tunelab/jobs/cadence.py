"""When a schedule runs: `every 30m` / `every 6h` / `every 1d` (also s and w; from the last run),
or a 5-field cron line (minute hour day-of-month month day-of-week, UTC; each field `*`, N, a-b,
lists with commas, steps with /n; day-of-week 0-6 from Sunday, 7 is Sunday too; when both day
fields are restricted, either one matching is enough, as cron has it). `next_after(t)` is the
first run time after t."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_EVERY = re.compile(r"every\s+(\d+)\s*([smhdw])", re.IGNORECASE)
FIELDS = (("minute", 0, 59), ("hour", 0, 23), ("day of month", 1, 31), ("month", 1, 12), ("day of week", 0, 7))


class CadenceError(ValueError):
    """A schedule's `every` that is neither `every N<unit>` nor a valid 5-field cron line."""


def _field(text: str, name: str, lo: int, hi: int) -> frozenset[int]:
    values: set[int] = set()
    for part in text.split(","):
        body, _, step_text = part.partition("/")
        step = int(step_text) if step_text.isdigit() and int(step_text) > 0 else None
        if step_text and step is None:
            raise CadenceError(f"cron {name}: bad step in {part!r}")
        if body == "*":
            start, end = lo, hi
        elif re.fullmatch(r"\d+-\d+", body):
            start, end = map(int, body.split("-"))
        elif body.isdigit():
            start = end = int(body)
            if step:
                end = hi
        else:
            raise CadenceError(f"cron {name}: {part!r} is not *, N, a-b or a list of them (with /step)")
        if not (lo <= start <= end <= hi):
            raise CadenceError(f"cron {name}: {part!r} is outside {lo}-{hi}")
        values.update(range(start, end + 1, step or 1))
    return frozenset(values)


@dataclass(frozen=True)
class Cadence:
    text: str
    interval_s: int | None = None
    fields: tuple[frozenset[int], ...] = ()
    restricted_days: tuple[bool, bool] = (False, False)  # day of month, day of week not '*'

    def matches(self, t: datetime) -> bool:
        minute, hour, dom, month, dow = self.fields
        weekday = (t.weekday() + 1) % 7  # Python: Monday 0; cron: Sunday 0
        day_ok = t.day in dom, weekday in dow or (weekday == 0 and 7 in dow)
        if all(self.restricted_days):
            days = day_ok[0] or day_ok[1]
        else:
            days = day_ok[0] and day_ok[1]
        return t.minute in minute and t.hour in hour and t.month in month and days

    def next_after(self, t: datetime) -> datetime:
        t = t.astimezone(UTC) if t.tzinfo else t.replace(tzinfo=UTC)
        if self.interval_s is not None:
            return t + timedelta(seconds=self.interval_s)
        at = t.replace(second=0, microsecond=0) + timedelta(minutes=1)
        end = at + timedelta(days=366 * 5)  # 29 February on a Monday, at most
        while at < end:
            if at.month not in self.fields[3]:
                at = (at.replace(day=1, hour=0, minute=0) + timedelta(days=32)).replace(day=1)
            elif at.hour not in self.fields[1] or not self.matches(at.replace(minute=min(self.fields[0]))):
                at = at.replace(minute=0) + timedelta(hours=1)
            elif self.matches(at):
                return at
            else:
                at += timedelta(minutes=1)
        raise CadenceError(f"cron {self.text!r} never matches a date")


def parse_cadence(text: str) -> Cadence:
    text = " ".join(text.split())
    m = _EVERY.fullmatch(text)
    if m:
        n = int(m.group(1))
        if n < 1:
            raise CadenceError(f"{text!r}: the interval must be at least 1{m.group(2)}")
        return Cadence(text, interval_s=n * UNITS[m.group(2).lower()])
    parts = text.split(" ")
    if len(parts) != 5:
        raise CadenceError(f"{text!r} is neither 'every N' with a unit (s, m, h, d, w: 'every 6h') nor a 5-field "
                           "cron line ('0 3 * * *': minute hour day-of-month month day-of-week)")
    fields = tuple(_field(p, name, lo, hi) for p, (name, lo, hi) in zip(parts, FIELDS))
    return Cadence(text, fields=fields, restricted_days=(parts[2] != "*", parts[4] != "*"))
