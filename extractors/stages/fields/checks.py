"""Cross-checks between fields: the amounts add up, the dates are real and in order.

A failed check flags the fields involved (`flags`), lowers their confidence and gives the
document a review reason; nothing is changed or dropped (the reviewer decides).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation

from extractors.document import DocField

FAILED_CHECK_FACTOR = 0.7
# Receipts round totals to 5 cents (Malaysia, Switzerland, ...); invoices to a cent.
SUM_TOLERANCE = Decimal("0.05")
EARLIEST_YEAR = 1980


def _amount(field: DocField | None) -> Decimal | None:
    if field is None or field.value is None:
        return None
    try:
        return Decimal(field.value)
    except InvalidOperation:
        return None


def _flag(fields: Sequence[DocField], check: str) -> None:
    for f in fields:
        if check not in f.flags:
            f.flags.append(check)
            f.confidence = round(f.confidence * FAILED_CHECK_FACTOR, 3)


def _adds_up(parts: Sequence[Decimal], total: Decimal) -> bool:
    return abs(sum(parts, Decimal(0)) - total) <= SUM_TOLERANCE


def cross_check(fields: list[DocField], today: dt.date | None = None) -> list[str]:
    """Check the fields in place; returns the reasons for review (empty when all is well)."""
    first = {f.name: f for f in reversed(fields) if f.item is None}
    reasons: list[str] = []
    total, subtotal, tax = (_amount(first.get(n)) for n in ("total", "subtotal", "tax"))
    if total is None:
        reasons.append("no total found")
    if (
        total is not None
        and subtotal is not None
        and tax is not None
        and not _adds_up([subtotal, tax], total)
    ):
        _flag([first[n] for n in ("total", "subtotal", "tax")], "sum")
        reasons.append(f"subtotal {subtotal} + tax {tax} is not total {total}")
    amounts = [f for f in fields if f.name == "item_amount"]
    item_sum = [a for a in (_amount(f) for f in amounts) if a is not None]
    if item_sum and total is not None:
        targets = [t for t in (subtotal, total - tax if tax is not None else None, total) if t]
        if not any(_adds_up(item_sum, t) for t in targets):
            _flag(amounts, "items")
            reasons.append(f"line items add up to {sum(item_sum)}, not to the subtotal or total")
    today = today or dt.date.today()
    dates: dict[str, dt.date] = {}
    for name in ("date", "due_date"):
        f = first.get(name)
        if f is None or f.value is None:
            continue
        try:
            day = dt.date.fromisoformat(f.value)
        except ValueError:
            _flag([f], "date")
            reasons.append(f"{name} {f.value!r} is not a date")
            continue
        if not EARLIEST_YEAR <= day.year <= today.year + 1:
            _flag([f], "date")
            reasons.append(f"{name} {f.value} is implausible")
        dates[name] = day
    if "date" in dates and "due_date" in dates and dates["due_date"] < dates["date"]:
        _flag([first["due_date"]], "due_date")
        reasons.append(f"due date {dates['due_date']} is before the date {dates['date']}")
    return reasons
