"""Tables as editable grids (plain Python, unit-tested): the grid a reviewer sees, and the
corrections their edits make (one per cell; the header-row count as one table correction)."""

from __future__ import annotations

import string
from typing import Any

import pandas as pd

from extractors.document import Cell, Document, Table
from pipelines import table_formats
from pipelines.store.corrections import Correction
from pipelines.store.reviewed import apply_corrections
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
    """Rows x lettered columns of cell text; a spanning cell's text sits at its top-left
    position and the positions it covers show "" (an edit there edits the spanning cell)."""
    columns = [column_name(c) for c in range(table.n_cols)]
    return pd.DataFrame(table_formats.table_grid(table), columns=columns)


def grid_corrections(
    original: Table,
    shown: pd.DataFrame,
    delta: dict[str, Any] | None,
    context: Context,
    page_index: int,
    document: Document | None = None,
) -> list[Correction]:
    """One `edit` correction per cell whose text the reviewer changed in the grid (`delta` is
    data_editor's); the old value is the cell's text as extracted (what carries a correction
    over to a reprocessed result)."""
    if not delta:
        return []
    covering = covering_cells(original)
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
                    old_value=cell.text,
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
) -> Correction | None:
    """A table correction setting how many leading rows are the header (None: no change)."""
    if new_rows == shown_rows:
        return None
    return Correction(
        document_id=context.document_id,
        result_id=context.result_id,
        target_type="table",
        target_id=original.id,
        page_index=page_index,
        action="edit",
        old_value={"header_rows": header_rows(original)},
        new_value={"header_rows": int(new_rows)},
        reviewer=context.reviewer,
        stage_version=stage_version(document, original.source),
    )
