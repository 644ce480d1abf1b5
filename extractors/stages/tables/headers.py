"""Header structure of a text-aligned table: which leading rows are its header, labels centred
over a group of columns (they span it), and the stub head (the first column's label, often
wrapped over the header rows, spans them all)."""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from extractors.stages.tables.aligned import AlignedTable, Cells

_YEAR = re.compile(r"^(19|20)[0-9]{2}$")


def header_rows(
    cells: Sequence[Sequence[Cells]], numeric: Sequence[bool], texts: Sequence[str], limit: int
) -> int:
    """Leading rows that form the header: those above the first row with a number right of the
    stub column (years alone do not count: "2022 2023" heads columns), up to the last row
    among them with cells in most columns (a section label such as "Women" may stand between
    the header and the numbers). 0 when the table holds no numbers, or more than `limit` rows
    come before them."""
    n_cols = 1 + max((c1 for row in cells for _, c1, _ in row), default=0)
    last_full = -1
    for r, row in enumerate(cells):
        values = [ws for c0, _, ws in row if c0 > 0 and all(numeric[k] for k in ws)]
        if values and not all(len(ws) == 1 and _YEAR.match(texts[ws[0]]) for ws in values):
            n = last_full + 1 if last_full >= 0 else r
            return n if n <= limit else 0
        if sum(c1 - c0 + 1 for c0, c1, _ in row) >= 0.6 * n_cols:
            last_full = r
    return 0


def spread_labels(table: AlignedTable, boxes: np.ndarray, n_header: int) -> None:
    """A header label with empty columns beside it spans the group of them it is centred on."""
    edges = table.edges
    for r in range(n_header):
        row = sorted(table.cells[r])
        out: list[Cells] = []
        for i, (c0, c1, ws) in enumerate(row):
            if c0 == 0:
                out.append((c0, c1, ws))
                continue
            low = row[i - 1][1] + 1 if i > 0 else 1
            high = row[i + 1][0] - 1 if i + 1 < len(row) else table.n_cols - 1
            centre = (float(boxes[ws, 0].min()) + float(boxes[ws, 2].max())) / 2
            best, best_off = (c0, c1), float("inf")
            for a in range(low, c0 + 1):
                for b in range(c1, high + 1):
                    # The span the label is best centred on, relative to the span's width.
                    off = abs((edges[a] + edges[b + 1]) / 2 - centre) / (edges[b + 1] - edges[a])
                    if off < best_off - 1e-9:
                        best, best_off = (a, b), off
            out.append((best[0], best[1], ws))
        table.cells[r] = out


def join_stub_head(table: AlignedTable, n_header: int) -> None:
    """The first column's words in the header rows become one cell spanning those rows."""
    if n_header < 2:
        return
    stub = [(r, cell) for r in range(n_header) for cell in table.cells[r] if cell[:2] == (0, 0)]
    if not stub:
        return
    words = [k for _, (_, _, ws) in stub for k in ws]
    for r in range(n_header):
        table.cells[r] = [c for c in table.cells[r] if c[:2] != (0, 0)]
    table.cells[0].insert(0, (0, 0, words))
    # Header rows that held only stub words are gone.
    empty = [r for r in range(n_header) if not table.cells[r]]
    for r in reversed(empty):
        del table.cells[r], table.rows[r]
    table.n_header = n_header - len(empty)
    table.spans[(0, 0)] = table.n_header


__all__ = ["header_rows", "join_stub_head", "spread_labels"]
