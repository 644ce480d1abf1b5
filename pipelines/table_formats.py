"""A logical table (its parts across pages joined) as Markdown, CSV or HTML.

Markdown and CSV are grids: a spanning cell's text sits in its top-left position and the positions
it covers stay empty. HTML keeps the spans (`rowspan`/`colspan`) and the header rows (`<thead>`).
"""

from __future__ import annotations

import csv
import html
import io
from collections.abc import Sequence

from extractors.document import Cell, Table
from extractors.stages.tables.merge import LogicalTable


def table_grid(table: Table) -> list[list[str]]:
    """One part's rows x columns of cell text as extracted (spanned positions empty)."""
    out = [["" for _ in range(table.n_cols)] for _ in range(table.n_rows)]
    for cell in table.cells:
        if cell.row < table.n_rows and cell.col < table.n_cols:
            out[cell.row][cell.col] = cell.text
    return out


def leading_header_rows(rows: Sequence[Sequence[Cell]]) -> int:
    """Leading rows made only of header cells."""
    n = 0
    for row in rows:
        if row and all(c.is_header for c in row):
            n += 1
        else:
            break
    return n


def grid(table: LogicalTable) -> list[list[str]]:
    """Rows x columns of cell text (spanned positions empty)."""
    n_cols = max([table.n_cols, *(c.col + c.col_span for row in table.rows for c in row)])
    out = [["" for _ in range(n_cols)] for _ in table.rows]
    for r, row in enumerate(table.rows):
        for cell in row:
            if cell.col < n_cols:
                out[r][cell.col] = " ".join(cell.text.split())
    return out


def to_markdown(table: LogicalTable) -> list[str]:
    rows = grid(table)
    if not rows:
        return []
    n_cols = len(rows[0])
    escaped = [[text.replace("|", "\\|") for text in row] for row in rows]
    lines = [f"| {' | '.join(row)} |" for row in escaped]
    # Markdown has one header row: the first row (a merged multi-row header reads on as body).
    return [lines[0], "|" + "---|" * n_cols, *lines[1:]]


def to_csv(table: LogicalTable) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(grid(table))
    return buffer.getvalue()


def _td(cell: Cell, tag: str) -> str:
    spans = ""
    if cell.row_span > 1:
        spans += f' rowspan="{cell.row_span}"'
    if cell.col_span > 1:
        spans += f' colspan="{cell.col_span}"'
    return f"<{tag}{spans}>{html.escape(' '.join(cell.text.split()))}</{tag}>"


def to_html(table: LogicalTable) -> str:
    heads = leading_header_rows(table.rows)
    parts = [f'<table data-table-id="{html.escape(table.id)}">']
    for r, row in enumerate(table.rows):
        if r == 0 and heads:
            parts.append("<thead>")
        if r == heads:
            parts.append("<tbody>")
        tag = "th" if r < heads else "td"
        parts.append("<tr>" + "".join(_td(c, tag) for c in row) + "</tr>")
        if r == heads - 1:
            parts.append("</thead>")
    if len(table.rows) > heads:
        parts.append("</tbody>")
    parts.append("</table>")
    return "\n".join(parts) + "\n"
