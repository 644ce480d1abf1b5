"""Tables as editable grids (plain Python, unit-tested): the grid a reviewer sees, and the
corrections their edits make: one per cell for text; one table correction carrying the table's
whole reviewed state (header rows and merged cells, `pipelines.store.table_structure`) for the
header-row count and for merging and splitting cells."""

from __future__ import annotations

import re
import string
from dataclasses import replace
from typing import Any

import pandas as pd

from extractors.document import Cell, Document, Table
from pipelines import table_formats
from pipelines.store.corrections import Correction
from pipelines.store.reviewed import apply_corrections
from pipelines.store.table_structure import (
    Span,
    StructureEdit,
    TableState,
    edit_spans,
    extracted_spans,
    shape_value,
)
from workbench.review import Context, stage_version


def column_name(col: int) -> str:
    """Spreadsheet letters: A..Z, AA, AB, ..."""
    name = ""
    col += 1
    while col:
        col, rest = divmod(col - 1, 26)
        name = string.ascii_uppercase[rest] + name
    return name


def covering_cells(table: Table) -> dict[tuple[int, int], Cell]:
    """Each grid position -> the cell that covers it (a spanning cell covers several)."""
    out: dict[tuple[int, int], Cell] = {}
    for cell in table.cells:
        for r in range(cell.row, cell.row + max(1, cell.row_span)):
            for c in range(cell.col, cell.col + max(1, cell.col_span)):
                out[(r, c)] = cell
    return out


def header_rows(table: Table) -> int:
    """Leading rows whose cells are all header cells."""
    by_row: list[list[Cell]] = [[] for _ in range(table.n_rows)]
    for cell in table.cells:
        if cell.row < table.n_rows:
            by_row[cell.row].append(cell)
    return table_formats.leading_header_rows(by_row)


def reviewed_tables(
    document: Document, page_index: int, fixes: dict[Any, dict[str, Any]]
) -> list[Table]:
    """The page's tables with the corrections in force (`fixes`: the app's latest correction
    per (target_type, target_id)) applied: the same rules as exports and `reviewed_cells`."""
    latest = [
        {"target_type": kind, "target_id": tid, "action": c["action"], "new_value": c["new_value"]}
        for (kind, tid), c in fixes.items()
        if kind in ("cell", "table")
    ]
    page = document.pages[page_index].model_copy(deep=True)
    shell = document.model_copy(update={"pages": [page], "entities": [], "fields": []})
    return apply_corrections(shell, latest, []).pages[0].tables


def table_grid(table: Table) -> pd.DataFrame:
    """Rows (numbered from 1, as in `A1:B2`) x lettered columns of cell text; a spanning cell's
    text sits at its top-left position and the positions it covers show "" (an edit there edits
    the spanning cell)."""
    columns = [column_name(c) for c in range(table.n_cols)]
    rows = table_formats.table_grid(table)
    return pd.DataFrame(rows, columns=columns, index=range(1, len(rows) + 1))


def cell_name(row: int, col: int) -> str:
    """`B3`: the grid position of row 2, column 1 (0-based)."""
    return f"{column_name(col)}{row + 1}"


def span_names(table: Table) -> list[str]:
    """The merged cells of a table, as ranges: `A1:B1`."""
    return [
        f"{cell_name(r, c)}:{cell_name(r + rows - 1, c + cols - 1)}"
        for r, c, rows, cols in extracted_spans(table)
    ]


_RANGE = re.compile(r"^\s*([A-Za-z]+)(\d+)\s*(?::\s*([A-Za-z]+)(\d+)\s*)?$")


def _column_number(letters: str) -> int:
    number = 0
    for letter in letters.upper():
        number = number * 26 + string.ascii_uppercase.index(letter) + 1
    return number - 1


def parse_range(text: str, n_rows: int, n_cols: int) -> Span | None:
    """`B2` or `A1:C2` (either corner first) as (row, col, row_span, col_span), 0-based; None
    when it does not name cells of the grid."""
    found = _RANGE.match(text or "")
    if not found:
        return None
    first = (int(found[2]) - 1, _column_number(found[1]))
    last = (int(found[4]) - 1, _column_number(found[3])) if found[3] else first
    r0, r1 = sorted((first[0], last[0]))
    c0, c1 = sorted((first[1], last[1]))
    if r0 < 0 or c0 < 0 or r1 >= n_rows or c1 >= n_cols:
        return None
    return (r0, c0, r1 - r0 + 1, c1 - c0 + 1)


def table_state(fixes: dict[Any, dict[str, Any]], table_id: str) -> TableState:
    """The reviewed state in force for a table (the app's latest correction per element)."""
    fix = fixes.get(("table", table_id))
    return (
        TableState.from_value(fix["new_value"]) if fix and fix["action"] == "edit" else TableState()
    )


def edit_structure(
    state: TableState, reviewed: Table, edit: StructureEdit, rect: Span
) -> TableState | None:
    """The state after merging the cells of `rect`, splitting the merged cells it meets, or
    reading its rows (columns) as one row (column); None: the cells stay as they are."""
    spans = extracted_spans(reviewed)  # the merged cells as the reviewer sees them now
    changed = edit_spans(spans, edit, rect, reviewed.n_rows, reviewed.n_cols)
    if changed == spans:
        return None
    return replace(state, spans=changed)


def structure_correction(
    original: Table,
    state: TableState,
    context: Context,
    page_index: int,
    document: Document | None = None,
) -> Correction:
    """The table correction that sets a table's whole reviewed state; its old value is the
    shape the table was extracted with (what carries it over to a reprocessed result)."""
    return Correction(
        document_id=context.document_id,
        result_id=context.result_id,
        target_type="table",
        target_id=original.id,
        page_index=page_index,
        action="edit",
        old_value=shape_value(original, header_rows(original)),
        new_value=state.to_value(),
        reviewer=context.reviewer,
        stage_version=stage_version(document, original.source),
    )


def grid_corrections(
    original: Table,
    shown: pd.DataFrame,
    delta: dict[str, Any] | None,
    context: Context,
    page_index: int,
    document: Document | None = None,
    reviewed: Table | None = None,
) -> list[Correction]:
    """One `edit` correction per cell whose text the reviewer changed in the grid (`delta` is
    data_editor's; `reviewed` the table the grid shows, merged cells and all); the old value is
    the cell's text as extracted (what carries a correction over to a reprocessed result; ""
    for a cell a split made)."""
    if not delta:
        return []
    covering = covering_cells(reviewed or original)
    extracted = {c.id: c.text for c in original.cells}
    letters = {column_name(c): c for c in range(original.n_cols)}
    out: list[Correction] = []
    for position, changes in (delta.get("edited_rows") or {}).items():
        row = int(position)
        for letter, value in changes.items():
            col = letters.get(letter)
            cell = covering.get((row, col)) if col is not None else None
            if cell is None or row >= len(shown):
                continue
            new_text = "" if value is None else str(value)
            if new_text == shown.iloc[cell.row, cell.col]:
                continue
            out.append(
                Correction(
                    document_id=context.document_id,
                    result_id=context.result_id,
                    target_type="cell",
                    target_id=cell.id or f"{original.id}:{cell.row}:{cell.col}",
                    page_index=page_index,
                    action="edit",
                    old_value=extracted.get(cell.id, ""),
                    new_value=new_text,
                    reviewer=context.reviewer,
                    stage_version=stage_version(document, original.source),
                )
            )
    return out


def header_correction(
    original: Table,
    shown_rows: int,
    new_rows: int,
    context: Context,
    page_index: int,
    document: Document | None = None,
    state: TableState | None = None,
) -> Correction | None:
    """The table correction setting how many leading rows are the header, keeping the rest of
    the table's state in force (None: no change)."""
    if new_rows == shown_rows:
        return None
    new_state = replace(state or TableState(), header_rows=int(new_rows))
    return structure_correction(original, new_state, context, page_index, document)
