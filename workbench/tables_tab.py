"""The review page's Tables tab: each table on the page as a grid the reviewer edits: cell text
in the grid, the header-row count, and merging or splitting the cells of a range (`A1:B2`)."""

from __future__ import annotations

from typing import Any

import streamlit as st

from extractors.document import Document, Table
from pipelines.store.corrections import Correction
from pipelines.store.table_structure import TableState
from workbench.review import Context
from workbench.table_review import (
    StructureEdit,
    edit_structure,
    grid_corrections,
    header_correction,
    header_rows,
    parse_range,
    reviewed_tables,
    span_names,
    structure_correction,
    table_grid,
    table_state,
)

# Structure buttons: (edit, label, help), each keyed `<edit>_<table id>_<version>`.
STRUCTURE_BUTTONS: list[tuple[StructureEdit, str, str]] = [
    ("merge", "Merge", "Merge the cells of the range into one cell"),
    ("split", "Split", "Split the merged cells in the range into single cells"),
    ("merge_rows", "Merge rows", "Read the rows of the range as one row (each column merged)"),
    ("merge_cols", "Merge cols", "Read the columns of the range as one column (each row merged)"),
]


def render_tables(
    document: Document,
    page_index: int,
    fixes: dict[Any, dict[str, Any]],
    context: Context,
    version: int,
    editable: bool,
) -> list[Correction]:
    """Draw the page's tables as grids; returns the corrections the reviewer's edits make."""
    page = document.pages[page_index]
    if not page.tables:
        st.caption("No tables on this page.")
        return []
    pending: list[Correction] = []
    reviewed = reviewed_tables(document, page_index, fixes)
    for original, table in zip(page.tables, reviewed, strict=True):
        pages = f", continues {original.continues}" if original.continues else ""
        st.markdown(f"**{table.id}** · {table.n_rows} x {table.n_cols} · {table.source}{pages}")
        shown_header = header_rows(table)
        new_header = st.number_input(
            "Header rows",
            min_value=0,
            max_value=max(table.n_rows, 0),
            value=shown_header,
            step=1,
            key=f"hdr_{table.id}_{version}",
            disabled=not editable,
        )
        state = table_state(fixes, table.id)
        change = header_correction(
            original, shown_header, int(new_header), context, page_index, document, state
        )
        if change is not None:
            pending.append(change)
        grid = table_grid(table)
        key = f"ed_table_{table.id}_{version}"
        # Fixed-width columns: a title cell spanning the table must not push the rest away.
        columns = {name: st.column_config.TextColumn(width="medium") for name in grid.columns}
        st.data_editor(
            grid,
            key=key,
            hide_index=False,
            disabled=not editable,
            width="stretch",
            column_config=columns,
        )
        merged = span_names(table)
        st.caption("Merged cells: " + ", ".join(merged) if merged else "No merged cells.")
        pending += grid_corrections(
            original, grid, st.session_state.get(key), context, page_index, document, table
        )
        edit, text = _structure_controls(table, version, editable)
        if edit is not None:
            new_state = _structure_change(table, state, edit, text)
            if new_state is not None:
                pending.append(
                    structure_correction(original, new_state, context, page_index, document)
                )
    return pending


def _structure_controls(
    table: Table, version: int, editable: bool
) -> tuple[StructureEdit | None, str]:
    """A range box and the structure buttons: the edit whose button was pressed (if one was)
    and the range typed."""
    box, *buttons = st.columns([2, 1, 1, 1, 1], vertical_alignment="bottom")
    text = box.text_input(
        "Cells",
        key=f"range_{table.id}_{version}",
        placeholder="A1:B2",
        help="A cell (B2) or a range (A1:C2) of this grid",
        disabled=not editable,
    )
    pressed = [
        edit
        for column, (edit, label, tip) in zip(buttons, STRUCTURE_BUTTONS, strict=True)
        if column.button(label, key=f"{edit}_{table.id}_{version}", help=tip, disabled=not editable)
    ]
    return (pressed[0] if pressed else None), str(text or "")


def _structure_change(
    table: Table, state: TableState, edit: StructureEdit, text: str
) -> TableState | None:
    """The table's new state for the pressed button (None, with a message: nothing to do)."""
    rect = parse_range(text, table.n_rows, table.n_cols)
    if rect is None:
        st.warning(f"Name cells of this {table.n_rows} x {table.n_cols} grid, e.g. A1:B2.")
        return None
    new_state = edit_structure(state, table, edit, rect)
    if new_state is None:
        st.info("Nothing to change there.")
    return new_state
