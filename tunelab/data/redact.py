"""Redaction of personal data before text is stored (request traces): e-mail addresses, card
numbers (digit runs of 13-19 digits, spaces or dashes between, that pass the Luhn check), phone
numbers (an optional +country code and 9-15 digits grouped by spaces, dots, dashes or
parentheses), and any regexes the user adds. Each match becomes a marker naming what it was."""

from __future__ import annotations

import re
from collections.abc import Iterable

EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
CARD = re.compile(r"(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])")
PHONE = re.compile(r"(?<![\w+])(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,4}\)[ .-]?)?\d{2,4}(?:[ .-]?\d{2,4}){2,4}(?![\w])")


def luhn_ok(digits: str) -> bool:
    """The Luhn checksum: from the right, double every second digit (minus 9 above 9); the sum ends in 0."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _card(m: re.Match) -> str:
    digits = re.sub(r"\D", "", m.group())
    return "[CARD]" if 13 <= len(digits) <= 19 and luhn_ok(digits) else m.group()


def _phone(m: re.Match) -> str:
    digits = re.sub(r"\D", "", m.group())
    return "[PHONE]" if 9 <= len(digits) <= 15 else m.group()


class Redactor:
    """`redact(text)`: the text with e-mails, Luhn-valid card numbers, phone numbers and every match of
    `extra` (regex strings) replaced by [EMAIL], [CARD], [PHONE] and [REDACTED]."""

    def __init__(self, extra: Iterable[str] = ()) -> None:
        self.extra = [re.compile(p) for p in extra]

    def redact(self, text: str) -> str:
        text = EMAIL.sub("[EMAIL]", text)
        text = CARD.sub(_card, text)  # before phones: a card number also looks like a long phone number
        text = PHONE.sub(_phone, text)
        for pattern in self.extra:
            text = pattern.sub("[REDACTED]", text)
        return text

    def redact_value(self, value):
        """Strings anywhere inside lists and dicts (messages, sources) redacted; other values as they are."""
        if isinstance(value, str):
            return self.redact(value)
        if isinstance(value, list):
            return [self.redact_value(v) for v in value]
        if isinstance(value, dict):
            return {k: self.redact_value(v) for k, v in value.items()}
        return value
