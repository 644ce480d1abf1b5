"""Receipt and invoice fields from a document's rows: labelled amounts, dates and numbers, the
vendor and its address, the currency.

A labelled value is the value to the right of its label on the same row, or under the label on
one of the next two rows (labels printed above their values, in a header strip). Each candidate
is scored by the label's strength, where the value sits and how surely it was read; the best one
per field wins. Without any total label, the largest amount on the lower half of a receipt stands
in, less surely.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from extractors.document import BBox, DocField, Document, Word
from extractors.stages.entities.patterns import Locale, find_labelled, locale_of
from extractors.stages.entities.text import union_bbox
from extractors.stages.fields.labels import LabelMatch, find_labels
from extractors.stages.fields.rows import Row, page_rows, scan_rows
from extractors.stages.fields.values import (
    Value,
    find_amounts,
    find_references,
    find_row_dates,
)
from extractors.stages.fields.vendor import find_vendor

AMOUNT_FIELDS = ("total", "subtotal", "tax")
DATE_FIELDS = ("date", "due_date")
SAME_ROW, BELOW = 1.0, 0.8  # how surely a value belongs to a label, by where it sits
UNLABELLED_DATE = 0.35  # a date with no label: the document's date only failing a better one
TIMED_DATE = 1.1  # an unlabelled date followed by a time of day
ROUNDING = Decimal("0.05")
_TIME = re.compile(r"[\s,]*(?:[01]?\d|2[0-3])[:.h][0-5]\d(?![\d/.-]\d)")
# Labels of dates that are not the document's: expiry, validity, birth, best-before.
_OTHER_DATE = re.compile(
    r"(?i)(?:expir\w*|exp\.?\s*(?:date)?|valid\w*\s*(?:until|thru|through|to|till)?|"
    r"best\s+before|use\s+by|birth\w*|d\.?o\.?b\.?|geldig\s+tot|g[üu]ltig\s+bis|ablauf\w*|"
    r"date\s+d'expiration|valable\s+jusqu'au)\s*:?\s*$"
)
_ROUND = re.compile(r"(?i)round")


@dataclass
class Candidate:
    name: str
    value: str
    score: float
    row: Row
    words: list[Word]
    evidence: str
    currency: str | None = None

    @property
    def bbox(self) -> BBox | None:
        return union_bbox(self.words)


def _values_after(label: LabelMatch, values: Sequence[Value]) -> list[Value]:
    """Values that end right of a label (a currency printed in the label, "TOTAL RM 33.92", may
    be read as part of the amount)."""
    return [v for v in values if v.end > label.end and v.start >= label.start]


def _values_below(label_words: Sequence[Word], below: Row, values: Sequence[Value]) -> list[Value]:
    """Values on a lower row that sit under the label (their boxes overlap its columns)."""
    left = min(w.bbox[0] for w in label_words) - 0.02
    right = max(w.bbox[2] for w in label_words) + 0.08
    out = []
    for value in values:
        words = below.words_in(value.start, value.end)
        if words and min(w.bbox[2] for w in words) > left and words[0].bbox[0] < right:
            out.append(value)
    return out


class FieldFinder:
    """Candidates for every field of one document, then the best per field."""

    def __init__(self, document: Document) -> None:
        self.document = document
        self.rows = [row for page in document.pages for row in page_rows(page)]
        text = "\n".join(row.text for row in self.rows)
        self.locale: Locale = locale_of(text)
        self.candidates: list[Candidate] = []
        locale = self.locale
        amounts = scan_rows(
            self.rows, lambda t: find_amounts(t, locale.decimal_comma, locale.country)
        )
        dates = scan_rows(self.rows, lambda t: find_row_dates(t, locale.month_first))
        references = scan_rows(self.rows, find_references)
        # per row, in row order: what each row holds
        self.labels = scan_rows(self.rows, find_labels)
        self._values = {"amount": amounts, "date": dates, "reference": references}

    def _add(
        self, name: str, value: Value, score: float, row: Row, label: LabelMatch | None
    ) -> None:
        words = row.words_in(value.start, value.end)
        evidence = label.text if label else ""
        self.candidates.append(
            Candidate(name, value.value, score, row, words, evidence, value.currency)
        )

    def labelled_values(self) -> None:
        summary = _summary_rows(self.rows)
        for n, (row, labels) in enumerate(zip(self.rows, self.labels, strict=True)):
            for k, label in enumerate(labels):
                if label.field == "ignore" or (label.field in AMOUNT_FIELDS and n in summary):
                    continue
                values = self._values[_value_kind(label.field)]
                end = labels[k + 1].start if k + 1 < len(labels) else len(row.text)
                here = [v for v in _values_after(label, values[n]) if v.end <= end]
                if here:
                    # The last amount on a row is the line's total ("TOTAL 3 33.90"); the first
                    # date after a date label is its value.
                    value = here[-1] if label.field in AMOUNT_FIELDS else here[0]
                    self._add(
                        label.field, value, label.strength * SAME_ROW * value.confidence, row, label
                    )
                    continue
                label_words = row.words_in(label.start, label.end)
                for k_below, below in enumerate(self.rows[n + 1 : n + 3], start=n + 1):
                    if below.page != row.page or not label_words or self.labels[k_below]:
                        break  # a labelled row holds its own label's value
                    found = _values_below(label_words, below, values[k_below])
                    if found:
                        value = found[0]
                        self._add(
                            label.field,
                            value,
                            label.strength * BELOW * value.confidence,
                            below,
                            label,
                        )
                        break

    def unlabelled_dates(self) -> None:
        """Dates without a label: the document's date only failing a labelled one. Dates
        labelled as something else (a card's expiry, a birth date) are none; a date printed
        with a time of day is the transaction's (a receipt's timestamp) and goes first."""
        for row, dates in zip(self.rows, self._values["date"], strict=True):
            for value in dates:
                if _OTHER_DATE.search(row.text[: value.start]):
                    continue
                timed = _TIME.match(row.text[value.end :]) is not None
                score = UNLABELLED_DATE * value.confidence * (TIMED_DATE if timed else 1.0)
                self._add("date", value, score, row, None)

    def invoice_numbers(self) -> None:
        found = scan_rows(self.rows, lambda t: find_labelled(t, self.locale.country))
        for row, matches in zip(self.rows, found, strict=True):
            for match in matches:
                if match.label == "INVOICE_NUMBER" and match.value:
                    value = Value(match.start, match.end, match.value, match.confidence)
                    self._add("invoice_number", value, match.confidence, row, None)

    def rounded_total(self) -> None:
        """A total rounded to 5 cents is printed on a later row that says so ("Rounding 20.00"
        under "TOTAL 19.99"); it is the amount paid. Zero totals ("TOTAL LOADING CHARGES
        0.00") are rarely the total."""
        for c in self.candidates:
            if c.name == "total" and _amount(c.value) == 0:
                c.score *= 0.5
        totals = [c for c in self.candidates if c.name == "total"]
        if not totals:
            return
        best = max(totals, key=_rank)
        amount = _amount(best.value)
        if amount is None:
            return
        position = self.rows.index(best.row)
        for k in range(position + 1, min(position + 5, len(self.rows))):
            row = self.rows[k]
            if row.page != best.row.page or not _ROUND.search(row.text):
                continue
            for value in self._values["amount"][k]:
                if Decimal(0) < abs(value.amount - amount) <= ROUNDING:
                    self._rounded(best, row, value)
                    return
                if Decimal(0) < abs(value.amount) <= ROUNDING and value.amount != amount:
                    # the row gives the adjustment ("Rounding Adj: -0.01"); the rounded
                    # total follows it ("TOTAL: 23.25" under "Total (incl. GST): 23.26")
                    for after in range(k + 1, min(k + 4, len(self.rows))):
                        for rounded in self._values["amount"][after]:
                            if rounded.amount == amount + value.amount:
                                self._rounded(best, self.rows[after], rounded)
                                return

    def _rounded(self, best: Candidate, row: Row, value: Value) -> None:
        self.candidates.append(
            Candidate(
                "total",
                value.value,
                best.score + 0.01,
                row,
                row.words_in(value.start, value.end),
                f"{best.evidence}, rounded",
                value.currency or best.currency,
            )
        )

    def fallback_total(self) -> None:
        """No labelled total: the subtotal (plus tax) if there is one, else the largest amount
        in the lower half of the first page on a row that is not cash, change and the like."""
        if any(c.name == "total" for c in self.candidates):
            return
        subtotals = [c for c in self.candidates if c.name == "subtotal"]
        if subtotals and not any(c.name == "tax" for c in self.candidates):
            best_subtotal = max(subtotals, key=_rank)
            self.candidates.append(
                Candidate(
                    "total",
                    best_subtotal.value,
                    0.5 * best_subtotal.score,
                    best_subtotal.row,
                    best_subtotal.words,
                    best_subtotal.evidence,
                    best_subtotal.currency,
                )
            )
            return
        best: tuple[Decimal, Row, Value] | None = None
        for row, labels, amounts in zip(
            self.rows, self.labels, self._values["amount"], strict=True
        ):
            if row.page != 0 or row.top < 0.4 or any(m.field == "ignore" for m in labels):
                continue
            for value in amounts:
                if best is None or value.amount > best[0]:
                    best = (value.amount, row, value)
        if best is not None:
            self._add("total", best[2], 0.35 * best[2].confidence, best[1], None)

    def best(self) -> dict[str, Candidate]:
        """The best candidate per field: the highest score; among equals the lowest row for
        amounts (the total after tax and rounding is printed last) and the highest for dates
        (the document's date heads it)."""
        out: dict[str, Candidate] = {}
        for c in self.candidates:
            kept = out.get(c.name)
            if kept is None or _rank(c) > _rank(kept):
                out[c.name] = c
        self._reconcile(out)
        due = out.get("due_date")
        if due is not None:  # the due date's value is not also the document's date
            dates = [c for c in self.candidates if c.name == "date" and c.words != due.words]
            out.pop("date", None)
            if dates:
                out["date"] = max(dates, key=_rank)
        return out

    def _reconcile(self, out: dict[str, Candidate]) -> None:
        """Labels that mean a subtotal in one country and the total in another ("Net Total")
        are settled by the sums: when one total candidate plus the tax makes another, the
        smaller one is the subtotal and the larger the total."""
        tax = _amount(out["tax"].value) if "tax" in out else None
        if tax is None or not tax:
            return
        totals = [c for c in self.candidates if c.name == "total"]
        for low in totals:
            for high in totals:
                a, b = _amount(low.value), _amount(high.value)
                if a is not None and b is not None and a < b and abs(a + tax - b) <= ROUNDING:
                    subtotal = out.get("subtotal")
                    if subtotal is None or _amount(subtotal.value) != a:
                        out["subtotal"] = Candidate(
                            "subtotal",
                            low.value,
                            low.score,
                            low.row,
                            low.words,
                            low.evidence,
                            low.currency,
                        )
                    out["total"] = high
                    return


def _value_kind(field: str) -> str:
    """What a label's value looks like: an amount, a document number or a date."""
    if field in AMOUNT_FIELDS:
        return "amount"
    return "reference" if field == "invoice_number" else "date"


def _amount(value: str) -> Decimal | None:
    try:
        return Decimal(value)
    except ArithmeticError:
        return None


def _rank(c: Candidate) -> tuple[float, int, int]:
    lower = c.row.number if c.name in AMOUNT_FIELDS else -c.row.number
    return (round(c.score, 3), -c.row.page, lower)


_SUMMARY = re.compile(
    r"(?i)(?:gst|tax|vat|sst|btw|mwst|tva)\s*(?:su\w{0,2}mary|analysis|breakdown|specificatie)|"
    r"summary\s+of\s+(?:gst|tax|vat)|mwst[-\s]*aufstellung|r[ée]capitulatif\s+tva"
)


def _summary_rows(rows: Sequence[Row]) -> set[int]:
    """Rows of a tax summary table (from its heading to the end of the page): its "Total" is
    the tax table's, not the amount to pay."""
    out: set[int] = set()
    for n, row in enumerate(rows):
        if _SUMMARY.search(row.text):
            out.update(k for k in range(n, len(rows)) if rows[k].page == row.page)
    return out


def find_fields(document: Document, source: str) -> list[DocField]:
    """Receipt and invoice fields of a document (no line items, no cross-checks)."""
    finder = FieldFinder(document)
    if not finder.rows:
        return []
    finder.labelled_values()
    finder.unlabelled_dates()
    finder.invoice_numbers()
    finder.rounded_total()
    finder.fallback_total()
    fields: list[DocField] = []
    chosen = finder.best()
    for name in (
        "vendor_name",
        "vendor_address",
        "invoice_number",
        "date",
        "due_date",
        "subtotal",
        "tax",
        "total",
    ):
        c = chosen.get(name)
        if c is not None:
            fields.append(_field(c, source))
    first_page = [r for r in finder.rows if r.page == 0]
    phone_words = {w for e in document.entities if e.label == "PHONE" for w in e.word_ids}
    vendor = find_vendor(first_page, phone_words)
    if vendor is not None:
        fields.insert(
            0,
            _row_field(
                "vendor_name", vendor.name, list(vendor.name_rows), vendor.confidence, source
            ),
        )
        if vendor.address_rows:
            address = " ".join(r.text.strip() for r in vendor.address_rows)
            fields.insert(
                1,
                _row_field(
                    "vendor_address",
                    address,
                    list(vendor.address_rows),
                    0.6 * vendor.confidence + 0.2,
                    source,
                ),
            )
    currency = _currency(chosen, finder)
    if currency:
        total = chosen.get("total")
        fields.append(
            DocField(
                name="currency",
                value=currency,
                page=total.row.page if total else None,
                bbox=total.bbox if total and total.currency else None,
                confidence=0.9 if total and total.currency else 0.6,
                source=source,
                word_ids=[w.id for w in total.words] if total and total.currency else [],
                evidence="printed beside the total"
                if total and total.currency
                else "document locale",
            )
        )
    return fields


def _currency(chosen: dict[str, Candidate], finder: FieldFinder) -> str | None:
    for name in ("total", "subtotal", "tax"):
        c = chosen.get(name)
        if c is not None and c.currency:
            return c.currency
    return finder.locale.currency


def _field(c: Candidate, source: str) -> DocField:
    return DocField(
        name=c.name,
        value=c.value,
        page=c.row.page,
        bbox=c.bbox,
        confidence=round(min(1.0, c.score), 3),
        source=source,
        word_ids=[w.id for w in c.words],
        evidence=c.evidence,
    )


def _row_field(name: str, value: str, rows: list[Row], confidence: float, source: str) -> DocField:
    words = [w for r in rows for w in r.words]
    return DocField(
        name=name,
        value=value,
        page=rows[0].page,
        bbox=union_bbox(words),
        confidence=round(min(1.0, confidence), 3),
        source=source,
        word_ids=[w.id for w in words],
    )
