"""The review page's Tables tab: each table on the page as a grid the reviewer edits."""

from __future__ import annotations

from typing import Any

import streamlit as st

from extractors.document import Document
from pipelines.store.corrections import Correction
from workbench.review import Context
from workbench.table_review import (
    grid_corrections,
    header_correction,
    header_rows,
    reviewed_tables,
    table_grid,
)


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
        change = header_correction(
            original, shown_header, int(new_header), context, page_index, document
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
        pending += grid_corrections(
            original, grid, st.session_state.get(key), context, page_index, document
        )
    return pending
