"""Line items from a table whose header names a description and an amount column.

Header words in English, Dutch, French and German; quantities and prices are parsed as numbers
in the document's decimal convention. Every body row with a description and an amount is an item;
rows that are the table's own totals ("Subtotal", "Total") end the items.
"""

from __future__ import annotations

import re
from collections import defaultdict

from extractors.document import Cell, DocField, Document, Table
from extractors.stages.entities.normalise import parse_amount
from extractors.stages.entities.quantities import decimal_comma
from extractors.stages.fields.labels import find_labels

_COLUMNS: dict[str, re.Pattern[str]] = {
    name: re.compile(rf"(?i)(?<![a-zà-ÿ])(?:{pattern})(?![a-zà-ÿ])")
    for name, pattern in {
        "item_description": r"description|item|items|product|article|artikel|omschrijving|"
        r"beschrijving|d[ée]signation|libell[ée]|bezeichnung|beschreibung|leistung|particulars|"
        r"service|details|produit|prestation",
        "item_unit_price": r"unit\s*price|price|rate|unit\s*cost|prijs|stukprijs|tarief|"
        r"einzelpreis|preis|e-?preis|prix(?:\s+unitaire)?|p\.?u\.?",
        "item_quantity": r"qty|quantity|quan|aantal|anzahl|menge|quantit[ée]|qt[ée]|units|hrs|"
        r"hours|uren|stunden|stk",
        "item_amount": r"amount|total|line\s*total|bedrag|totaal|betrag|gesamt(?:preis)?|"
        r"montant|value|net|summe",
    }.items()
}
_NUMBER = re.compile(r"-?\d[\d.,' ]*")


def _header_columns(cells: list[Cell]) -> dict[str, int]:
    """Item field -> column, from the header cells: a head names the first field it matches
    that no column to its left took (unit price before quantity: "Unit price" is no count);
    the amount column is the rightmost amount-like head."""
    out: dict[str, int] = {}
    for cell in sorted(cells, key=lambda c: c.col):
        for name, pattern in _COLUMNS.items():
            if pattern.search(cell.text) and (name == "item_amount" or name not in out):
                out[name] = cell.col
                break
    return out


def _number(text: str, comma: bool | None) -> str | None:
    m = _NUMBER.search(text.replace("€", "").replace("$", ""))
    if not m:
        return None
    amount = parse_amount(m.group().strip(" .,'"), comma)
    return amount.text() if amount else None


def _table_items(
    table: Table, page: int, comma: bool | None, source: str, first: int
) -> list[DocField]:
    rows: dict[int, list[Cell]] = defaultdict(list)
    for cell in table.cells:
        rows[cell.row].append(cell)
    header_rows = sorted({c.row for c in table.cells if c.is_header}) or [0]
    columns = _header_columns([c for r in header_rows for c in rows[r]])
    heads = {c.col: c.text for c in rows[header_rows[-1]]}
    if "item_description" not in columns or "item_amount" not in columns:
        return []
    out: list[DocField] = []
    item = first
    for number in sorted(rows):
        if number in header_rows:
            continue
        by_col = {c.col: c for c in rows[number]}
        description = by_col.get(columns["item_description"])
        amount_cell = by_col.get(columns["item_amount"])
        if description is None or amount_cell is None or not description.text.strip():
            continue
        if any(m.field in ("total", "subtotal", "tax") for m in find_labels(description.text)):
            break  # the table's own summary rows
        amount = _number(amount_cell.text, comma)
        if amount is None:
            continue
        values = {"item_description": description.text.strip(), "item_amount": amount}
        for name in ("item_quantity", "item_unit_price"):
            number_cell = by_col.get(columns[name]) if name in columns else None
            parsed = _number(number_cell.text, comma) if number_cell is not None else None
            if parsed is not None:
                values[name] = parsed
        for name, value in values.items():
            cell = by_col[columns[name]]
            out.append(
                DocField(
                    name=name,
                    value=value,
                    page=page,
                    bbox=cell.bbox,
                    confidence=round(0.8 * cell.confidence, 3),
                    source=source,
                    word_ids=list(cell.word_ids),
                    evidence=heads.get(columns[name], ""),
                    item=item,
                )
            )
        item += 1
    return out


def find_items(document: Document, source: str) -> list[DocField]:
    comma = decimal_comma("\n".join(p.text for p in document.pages))
    out: list[DocField] = []
    for page in document.pages:
        for table in page.tables:
            out.extend(_table_items(table, page.index, comma, source, len({f.item for f in out})))
    return out
