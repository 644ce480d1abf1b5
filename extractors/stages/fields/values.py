"""Values on a row: amounts (with the currency printed beside them) and dates, as character
spans of the row's text so they map back to words."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from extractors.stages.entities.normalise import currency_code, parse_amount
from extractors.stages.entities.quantities import CURRENCY, NUM_LOOSE, find_dates

_AMOUNT = re.compile(
    rf"(?:(?P<cb>{CURRENCY})[ ():]{{0,3}})?(?P<n>-?{NUM_LOOSE})(?: ?(?P<ca>{CURRENCY}))?"
    r"(?![\w%])"
)
# A number ending in a decimal mark and one or two digits (`33.90`, `1.234,56`, `9. 00`).
_DECIMALS = re.compile(r"[.,] ?[\dOoIl]{1,2}$")


@dataclass(frozen=True)
class Value:
    start: int
    end: int
    value: str  # "33.90" / "2019-01-12"
    confidence: float
    currency: str | None = None

    @property
    def amount(self) -> Decimal:
        return Decimal(self.value)


def find_amounts(text: str, comma: bool | None, country: str | None) -> list[Value]:
    """Amounts in a row: numbers with decimals, or whole numbers with a currency beside them.
    Percentages and numbers glued to letters (codes, units) are not amounts."""
    out: list[Value] = []
    for m in _AMOUNT.finditer(text):
        raw = m.group("n")
        marker = m.group("cb") or m.group("ca")
        if not _DECIMALS.search(raw) and not marker:
            continue
        negative = raw.startswith("-")
        amount = parse_amount(raw.lstrip("-"), comma)
        if amount is None or (sum(ch.isdigit() for ch in raw) < 2 and not marker):
            continue
        value = amount.text()
        out.append(
            Value(
                m.start(),
                m.end(),
                f"-{value}" if negative else value,
                amount.confidence * (0.95 if marker else 0.85),
                currency_code(marker, country) if marker else None,
            )
        )
    return out


_TIME_AFTER = re.compile(r"[ ,]{0,3}\d{1,2}[:.]\d\d(?![\d.,])")
TIME_BONUS = 0.1  # receipts print the date with the time of sale: "12-01-19 21:13"


def find_row_dates(text: str, month_first: bool | None) -> list[Value]:
    """Dates in a row as ISO 8601 values, overlapping readings resolved (the surest wins).
    A date glued to letters or digits is part of a code ("HC03-7-15"), not a date."""
    found = sorted(find_dates(text, month_first), key=lambda m: (-m.confidence, m.start))
    kept: list[Value] = []
    for m in found:
        if not m.value or (m.start > 0 and text[m.start - 1].isalnum()):
            continue
        if all(m.end <= k.start or m.start >= k.end for k in kept):
            timed = _TIME_AFTER.match(text, m.end) is not None
            kept.append(Value(m.start, m.end, m.value, min(1.0, m.confidence + TIME_BONUS * timed)))
    return sorted(kept, key=lambda v: v.start)


# A document number: letters, digits and separators with at least one digit ("INV-2019/552").
_REFERENCE = re.compile(r"(?<![\w/.-])(?=[\w/.-]*\d)[A-Za-z0-9][\w/.-]*[A-Za-z0-9](?![\w/-])")


def find_references(text: str) -> list[Value]:
    """Document-number-like tokens in a row (the value of an "Invoice No." label)."""
    return [
        Value(m.start(), m.end(), m.group().upper(), 0.9)
        for m in _REFERENCE.finditer(text)
        if not re.fullmatch(r"\d{1,2}", m.group())
    ]
