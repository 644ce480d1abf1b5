"""Text-aligned tables: rows from text lines, columns from whitespace that runs down the rows.

Everything here works in points of the presented page (origin top-left), over word boxes. A text
row is the words sharing a vertical band; its chunks are runs of words split at gaps wider than a
normal space. A table candidate is a stretch of rows most of which have two or more chunks; its
columns are the gutters: x ranges no word covers in (nearly) all of those rows. A word that
crosses a gutter makes its cell span columns.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

Box = tuple[float, float, float, float]


Cells = tuple[int, int, list[int]]  # a row's cell: first col, last col, word indices


@dataclass
class TextRow:
    top: float
    bottom: float
    words: list[int]  # indices into the page's word boxes, left to right
    chunks: list[list[int]] = field(default_factory=list)
    caption: bool = False  # "Table 3 ...", "Source: ...": a table ends before such a row

    @property
    def height(self) -> float:
        return self.bottom - self.top


@dataclass
class AlignedTable:
    """Rows (top to bottom) and column edges (x positions, len = columns + 1) of one table."""

    rows: list[TextRow]
    edges: list[float]
    bbox: Box
    # Per row: its cells as (first col, last col, word indices).
    cells: list[list[tuple[int, int, list[int]]]] = field(default_factory=list)
    spans: dict[tuple[int, int], int] = field(default_factory=dict)  # (row, col): rows spanned
    n_header: int = 0  # leading header rows

    @property
    def n_cols(self) -> int:
        return len(self.edges) - 1


def text_rows(boxes: np.ndarray, idx: Sequence[int], overlap: float = 0.5) -> list[TextRow]:
    """Words -> rows: a word joins the open row whose band (its first word's) it overlaps most
    (at least `overlap` of the smaller height); rows come out top to bottom."""
    order = sorted(idx, key=lambda i: float(boxes[i, 1] + boxes[i, 3]))
    rows: list[TextRow] = []
    open_: list[TextRow] = []
    for i in order:
        top, bot = float(boxes[i, 1]), float(boxes[i, 3])
        h = max(bot - top, 1e-6)
        open_ = [r for r in open_ if r.bottom > top - h]
        best, best_ratio = None, overlap
        for r in open_:
            ratio = (min(bot, r.bottom) - max(top, r.top)) / max(min(h, r.height), 1e-6)
            if ratio >= best_ratio:
                best, best_ratio = r, ratio
        if best is None:
            best = TextRow(top, bot, [])
            rows.append(best)
            open_.append(best)
        best.words.append(i)
    for r in rows:
        r.words.sort(key=lambda k: float(boxes[k, 0]))
        r.top = float(min(boxes[k, 1] for k in r.words))
        r.bottom = float(max(boxes[k, 3] for k in r.words))
    rows.sort(key=lambda r: r.top)
    return rows


def split_chunks(row: TextRow, boxes: np.ndarray, gap: float) -> None:
    """Cut the row's words into chunks at gaps wider than `gap` x the row height."""
    limit = gap * max(row.height, 1e-6)
    chunks: list[list[int]] = []
    for k in row.words:
        if chunks and boxes[k, 0] - boxes[chunks[-1][-1], 2] <= limit:
            chunks[-1].append(k)
        else:
            chunks.append([k])
    row.chunks = chunks


def candidate_runs(
    rows: Sequence[TextRow], max_row_gap: float, max_single: int, min_rows: int
) -> list[list[TextRow]]:
    """Stretches of rows that look tabular: rows with 2+ chunks, allowing up to `max_single`
    one-chunk rows in a row between them, no vertical gap over `max_row_gap` x row height;
    leading and trailing one-chunk rows are trimmed."""
    runs: list[list[TextRow]] = []
    current: list[TextRow] = []
    singles = 0

    def close() -> None:
        while current and len(current[-1].chunks) < 2:
            current.pop()
        if sum(len(r.chunks) >= 2 for r in current) >= min_rows:
            runs.append(list(current))
        current.clear()

    for row in rows:
        if row.caption:
            close()
            singles = 0
            continue
        if current:
            gap = row.top - current[-1].bottom
            if gap > max_row_gap * max(row.height, current[-1].height):
                close()
                singles = 0
        if len(row.chunks) >= 2:
            current.append(row)
            singles = 0
        elif current:
            singles += 1
            if singles > max_single:
                close()
                singles = 0
            else:
                current.append(row)
    close()
    return runs


def gutters(
    rows: Sequence[TextRow], boxes: np.ndarray, min_width: float, tolerance: float
) -> tuple[list[tuple[float, float]], Box]:
    """X ranges (pt) between the table's left and right ends that words of at most
    `tolerance` x the rows cover (spanning cells may cross a gutter), at least `min_width`
    wide; and the rows' bounding box."""
    ids = [k for r in rows for k in r.words]
    x0, x1 = float(boxes[ids, 0].min()), float(boxes[ids, 2].max())
    top, bottom = rows[0].top, max(r.bottom for r in rows)
    res = 0.5
    n = max(1, int(np.ceil((x1 - x0) / res)))
    cover = np.zeros(n + 1, dtype=np.int32)
    for r in rows:
        hit = np.zeros(n + 1, dtype=bool)
        for k in r.words:
            a = int((boxes[k, 0] - x0) / res)
            b = int(np.ceil((boxes[k, 2] - x0) / res))
            hit[a:b] = True
        cover += hit
    allowed = int(tolerance * len(rows))
    free = cover <= allowed
    out: list[tuple[float, float]] = []
    i = 0
    while i < n:
        if free[i]:
            j = i
            while j < n and free[j]:
                j += 1
            if i > 0 and j < n and (j - i) * res >= min_width:
                out.append((x0 + i * res, x0 + j * res))
            i = j
        else:
            i += 1
    return out, (x0, top, x1, bottom)


def column_span(box: np.ndarray, edges: Sequence[float]) -> tuple[int, int]:
    """First and last column a word box falls in (edges: x positions of column borders)."""
    inner = edges[1:-1]
    eps = min(1.0, 0.25 * float(box[2] - box[0]))
    first = int(np.searchsorted(inner, float(box[0]) + eps))
    last = int(np.searchsorted(inner, float(box[2]) - eps))
    return first, max(first, last)


def row_cells(
    row: TextRow, boxes: np.ndarray, edges: Sequence[float], gap: float
) -> list[tuple[int, int, list[int]]]:
    """A row's cells: (first col, last col, words). Words closer than `gap` x row height join
    one cell, and so do words in one column; a wide gap ends a cell even when its words run
    past a gutter (a long label right of which a number stands), which then gives way."""
    cells: list[tuple[int, int, list[int]]] = []
    limit = gap * max(row.height, 1e-6)
    for k in row.words:
        a, b = column_span(boxes[k], edges)
        if not cells:
            cells.append((a, b, [k]))
            continue
        c0, c1, ws = cells[-1]
        wide = boxes[k, 0] - boxes[ws[-1], 2] > limit
        if a > c1:
            cells.append((a, b, [k]))
        elif wide and a > c0:
            cells[-1] = (c0, a - 1, ws)
            cells.append((a, b, [k]))
        else:
            cells[-1] = (c0, max(c1, b), [*ws, k])
    return cells


def merge_header_lines(
    rows: list[TextRow], cells: list[list[tuple[int, int, list[int]]]], numeric: Sequence[bool]
) -> None:
    """Join wrapped header labels: above the first row holding a number, a row whose cells all
    stand over same-span cells of the next row, close below it, is one row with that one."""
    i = 0
    while i + 1 < len(rows):
        if any(numeric[k] for _, _, ws in cells[i] for k in ws) or any(
            numeric[k] for _, _, ws in cells[i + 1] for k in ws
        ):
            return
        below = {(c0, c1) for c0, c1, _ in cells[i + 1]}
        close = rows[i + 1].top - rows[i].bottom < 0.5 * rows[i].height
        if close and all((c0, c1) in below for c0, c1, _ in cells[i]):
            upper = {(c0, c1): ws for c0, c1, ws in cells[i]}
            cells[i + 1] = [
                (c0, c1, [*upper.get((c0, c1), []), *ws]) for c0, c1, ws in cells[i + 1]
            ]
            merged = TextRow(rows[i].top, rows[i + 1].bottom, [*rows[i].words, *rows[i + 1].words])
            merged.chunks = rows[i + 1].chunks
            rows[i + 1] = merged
            del rows[i], cells[i]
        else:
            i += 1


def _join_rows(rows: list[TextRow], cells: list[list[Cells]], first: int, last: int) -> None:
    """Rows first..last become one: cells with the same columns pool their words."""
    pooled: dict[tuple[int, int], list[int]] = {}
    for i in range(first, last + 1):
        for c0, c1, ws in cells[i]:
            pooled.setdefault((c0, c1), []).extend(ws)
    keys = sorted(pooled)
    merged_cells = [(c0, c1, pooled[(c0, c1)]) for c0, c1 in keys]
    words = [k for i in range(first, last + 1) for k in rows[i].words]
    row = TextRow(rows[first].top, max(r.bottom for r in rows[first : last + 1]), words)
    row.chunks = max((rows[i].chunks for i in range(first, last + 1)), key=len)
    rows[first : last + 1] = [row]
    cells[first : last + 1] = [merged_cells]


def merge_continuations(
    rows: list[TextRow],
    cells: list[list[Cells]],
    numeric: Sequence[bool],
    texts: Sequence[str],
    max_gap: float = 0.6,
) -> None:
    """Join a wrapped first-column label with its row. Two shapes: values standing in a row
    without a label, between label fragments just above/below it (values centred on a
    wrapped label); a fragment starting in lower case right under a labelled row; and a
    label fragment right above a row whose label starts in lower case."""

    def fragment(i: int) -> bool:
        return (
            len(cells[i]) == 1
            and cells[i][0][:2] == (0, 0)
            and sum(numeric[k] for k in cells[i][0][2]) * 2 < len(cells[i][0][2])
        )

    def close(upper: int, lower: int) -> bool:
        return rows[lower].top - rows[upper].bottom < max_gap * rows[upper].height

    i = 0
    while i < len(rows):
        unlabelled = bool(cells[i]) and all(c0 > 0 for c0, _, _ in cells[i])
        if unlabelled and any(numeric[k] for _, _, ws in cells[i] for k in ws):
            first, last = i, i
            while first > 0 and i - first < 2 and fragment(first - 1) and close(first - 1, first):
                first -= 1
            while (
                last + 1 < len(rows)
                and last - i < 2
                and fragment(last + 1)
                and close(last, last + 1)
            ):
                last += 1
            if (first, last) != (i, i):
                _join_rows(rows, cells, first, last)
                i = first
        elif (
            i > 0
            and fragment(i)
            and close(i - 1, i)
            and any(c0 == 0 for c0, _, _ in cells[i - 1])
            and texts[cells[i][0][2][0]][:1].islower()
        ):
            _join_rows(rows, cells, i - 1, i)
            continue
        elif (
            i + 1 < len(rows)
            and fragment(i)
            and close(i, i + 1)
            and _label_starts_lower(cells[i + 1], texts)
        ):
            _join_rows(rows, cells, i, i + 1)
            continue
        i += 1


def _label_starts_lower(row: list[Cells], texts: Sequence[str]) -> bool:
    """The row has a first-column label and it begins in lower case (it ends a wrapped one)."""
    first = next((ws for c0, _, ws in row if c0 == 0), [])
    return bool(first) and texts[first[0]][:1].islower()


def build_aligned(
    rows: Sequence[TextRow],
    boxes: np.ndarray,
    *,
    min_gutter: float,
    tolerance: float,
) -> AlignedTable | None:
    """Columns for a stretch of rows, from the gutters of its rows with the most cells (header
    rows with spanning labels have fewer); None when no gutter runs down them."""
    multi = [r for r in rows if len(r.chunks) >= 2] or list(rows)
    typical = float(np.median([len(r.chunks) for r in multi]))
    evidence = [r for r in multi if len(r.chunks) >= typical]
    height = float(np.median([r.height for r in multi]))
    found, _ = gutters(evidence, boxes, min_gutter * height, tolerance)
    if not found:
        return None
    ids = [k for r in rows for k in r.words]
    x0, x1 = float(boxes[ids, 0].min()), float(boxes[ids, 2].max())
    bbox = (x0, rows[0].top, x1, max(r.bottom for r in rows))
    edges = [x0, *((a + b) / 2 for a, b in found), x1]
    return AlignedTable(list(rows), edges, bbox)


__all__ = [
    "AlignedTable",
    "TextRow",
    "build_aligned",
    "candidate_runs",
    "column_span",
    "gutters",
    "merge_continuations",
    "merge_header_lines",
    "row_cells",
    "split_chunks",
    "text_rows",
]
