"""Ruled tables: cells from the crossings of a page's rulings (pdfplumber's lattice functions fed
with our rulings, in points), then rows that share one ruled band split where the text inside
runs in several separate lines that line up across columns."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from pdfplumber.table import (
    cells_to_tables,
    edges_to_intersections,
    intersections_to_cells,
    merge_edges,
)

from extractors.rulings import Ruling
from extractors.stages.tables.aligned import TextRow, gutters, text_rows
from extractors.stages.tables.common import is_numeric

Box = tuple[float, float, float, float]


@dataclass
class GridCell:
    row: int
    col: int
    row_span: int
    col_span: int
    bbox: Box  # pt


@dataclass
class RuledGrid:
    cells: list[GridCell]
    rows: list[float]  # y positions of row borders (len = n_rows + 1)
    cols: list[float]
    bbox: Box


def ruling_edges(rulings: Sequence[Ruling], width: float, height: float) -> list[dict[str, Any]]:
    """Rulings (page-relative) as pdfplumber edge dicts in points (top-left origin)."""
    edges: list[dict[str, Any]] = []
    for r in rulings:
        x0, x1, top, bottom = r.x0 * width, r.x1 * width, r.y0 * height, r.y1 * height
        edges.append(
            {"x0": x0, "x1": x1, "top": top, "bottom": bottom, "width": x1 - x0,
             "height": bottom - top, "orientation": r.orientation}
        )  # fmt: skip
    return edges


def _positions(values: Sequence[float], tolerance: float) -> list[float]:
    """Cluster sorted coordinates: each cluster's mean."""
    out: list[list[float]] = []
    for v in sorted(values):
        if out and v - out[-1][-1] <= tolerance:
            out[-1].append(v)
        else:
            out.append([v])
    return [float(np.mean(c)) for c in out]


def _index(positions: Sequence[float], v: float) -> int:
    return int(np.argmin([abs(p - v) for p in positions]))


def find_grids(
    rulings: Sequence[Ruling],
    width: float,
    height: float,
    snap: float = 3.0,
    min_length: float = 6.0,
) -> list[RuledGrid]:
    """Tables of cells bounded by rulings on all four sides (lattice), at least 2 x 2 cells...
    or one row or column of 2+ cells."""
    edges = [e for e in ruling_edges(rulings, width, height)
             if max(e["width"], e["height"]) >= min_length]  # fmt: skip
    if not edges:
        return []
    merged = merge_edges(edges, snap, snap, snap, snap)
    points = edges_to_intersections(merged, snap, snap)
    if len(points) < 4:
        return []
    grids: list[RuledGrid] = []
    for group in cells_to_tables(intersections_to_cells(points)):
        if len(group) < 2:
            continue
        xs = _positions([v for c in group for v in (c[0], c[2])], snap)
        ys = _positions([v for c in group for v in (c[1], c[3])], snap)
        cells = []
        for x0, top, x1, bottom in group:
            r0, r1 = _index(ys, top), _index(ys, bottom)
            c0, c1 = _index(xs, x0), _index(xs, x1)
            if r1 > r0 and c1 > c0:
                cells.append(GridCell(r0, c0, r1 - r0, c1 - c0, (x0, top, x1, bottom)))
        grids.append(_open_sides(RuledGrid(cells, ys, xs, (xs[0], ys[0], xs[-1], ys[-1])),
                                 merged, snap))  # fmt: skip
    return _stack(grids, snap)


def _stack(grids: list[RuledGrid], snap: float) -> list[RuledGrid]:
    """Join grids with the same columns stacked with at most a row's gap between them (a
    section row whose side rules are missing breaks a lattice in two); the gap becomes one
    row spanning all columns."""
    out: list[RuledGrid] = []
    for grid in sorted(grids, key=lambda g: g.bbox[1]):
        last = out[-1] if out else None
        if last is not None and len(last.cols) == len(grid.cols):
            same = all(abs(a - b) <= snap for a, b in zip(last.cols, grid.cols, strict=True))
            pitch = float(np.median(np.diff(last.rows)))
            gap = grid.rows[0] - last.rows[-1]
            if same and -snap <= gap <= 2 * pitch:
                n = len(last.rows) - 1
                cells = list(last.cells)
                rows = list(last.rows)
                if gap > snap:
                    box = (last.cols[0], last.rows[-1], last.cols[-1], grid.rows[0])
                    cells.append(GridCell(n, 0, 1, len(last.cols) - 1, box))
                    n += 1
                    rows.append(grid.rows[0])
                cells += [
                    GridCell(c.row + n, c.col, c.row_span, c.col_span, c.bbox) for c in grid.cells
                ]
                rows += list(grid.rows[1:])
                bbox = (last.cols[0], rows[0], last.cols[-1], rows[-1])
                out[-1] = RuledGrid(cells, rows, last.cols, bbox)
                continue
        out.append(grid)
    return out


def _open_sides(grid: RuledGrid, edges: Sequence[dict[str, Any]], snap: float) -> RuledGrid:
    """Add the columns that the grid's row rules reach beyond its first and last column rule:
    tables often rule their inner columns only, leaving the stub and last column open."""
    ys, xs = grid.rows, grid.cols
    rules = [
        e for e in edges
        if e["orientation"] == "h" and min(abs(e["top"] - y) for y in ys) <= snap
        and e["x0"] < xs[-1] and e["x1"] > xs[0]
    ]  # fmt: skip
    if not rules:
        return grid
    left = min(e["x0"] for e in rules)
    right = max(e["x1"] for e in rules)
    cells = list(grid.cells)
    cols = list(xs)
    if left < xs[0] - 4 * snap:
        cells = [GridCell(c.row, c.col + 1, c.row_span, c.col_span, c.bbox) for c in cells]
        cells += [GridCell(r, 0, 1, 1, (left, ys[r], xs[0], ys[r + 1])) for r in range(len(ys) - 1)]
        cols.insert(0, left)
    if right > xs[-1] + 4 * snap:
        n = len(cols) - 1
        cells += [
            GridCell(r, n, 1, 1, (xs[-1], ys[r], right, ys[r + 1])) for r in range(len(ys) - 1)
        ]
        cols.append(right)
    return RuledGrid(cells, ys, cols, (cols[0], ys[0], cols[-1], ys[-1]))


def words_in(box: Box, boxes: np.ndarray, min_share: float = 0.5) -> list[int]:
    """Words with at least `min_share` of their area inside `box`."""
    if len(boxes) == 0:
        return []
    ix = np.clip(np.minimum(boxes[:, 2], box[2]) - np.maximum(boxes[:, 0], box[0]), 0, None)
    iy = np.clip(np.minimum(boxes[:, 3], box[3]) - np.maximum(boxes[:, 1], box[1]), 0, None)
    area = np.maximum((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1]), 1e-9)
    return np.flatnonzero(ix * iy / area >= min_share).tolist()


def members(grid: RuledGrid, boxes: np.ndarray, ids: Sequence[int]) -> list[list[int]]:
    """Per cell of the grid: the words among `ids` whose centre lies in it (one cell each)."""
    out: list[list[int]] = [[] for _ in grid.cells]
    if not ids or not grid.cells:
        return out
    ids_a = np.asarray(ids)
    cx = (boxes[ids_a, 0] + boxes[ids_a, 2]) / 2
    cy = (boxes[ids_a, 1] + boxes[ids_a, 3]) / 2
    cells = np.array([c.bbox for c in grid.cells])
    inside = (
        (cells[:, None, 0] <= cx) & (cx <= cells[:, None, 2])
        & (cells[:, None, 1] <= cy) & (cy <= cells[:, None, 3])
    )  # fmt: skip
    hit = inside.any(axis=0)
    first = inside.argmax(axis=0)
    for k, cell, ok in zip(ids_a.tolist(), first.tolist(), hit.tolist(), strict=True):
        if ok:
            out[cell].append(k)
    return out


def _line_bands(
    cell_rows: list[list[TextRow]], texts: Sequence[str]
) -> list[tuple[float, float]] | None:
    """Where a ruled band's rows are, if it holds several: its cells' text lines grouped by
    height into slots, when a column of 2+ numbers runs through the band and 2+ slots hold
    lines of 2+ cells (a header's wrapped labels align too, but hold no numbers; one wrapped
    cell aligns with nothing). None when the band is one row."""
    numbers = any(
        len(rows) >= 2 and all(is_numeric(" ".join(texts[k] for k in r.words)) for r in rows)
        for rows in cell_rows
    )
    if not numbers:
        return None
    lines = sorted(
        ((r.top, r.bottom, i) for i, rows in enumerate(cell_rows) for r in rows),
        key=lambda t: t[0] + t[1],
    )
    slots: list[list[tuple[float, float, int]]] = []
    for top, bottom, i in lines:
        if slots:
            s_top = min(t for t, _, _ in slots[-1])
            s_bottom = max(b for _, b, _ in slots[-1])
            overlap = min(bottom, s_bottom) - max(top, s_top)
            if overlap >= 0.5 * min(bottom - top, s_bottom - s_top):
                slots[-1].append((top, bottom, i))
                continue
        slots.append([(top, bottom, i)])
    shared = sum(len({i for _, _, i in slot}) >= 2 for slot in slots)
    if len(slots) < 2 or shared < 2:
        return None
    slots = _join_wrapped_labels(slots, cell_rows, texts)
    return [(min(t for t, _, _ in slot), max(b for _, b, _ in slot)) for slot in slots]


def _join_wrapped_labels(
    slots: list[list[tuple[float, float, int]]],
    cell_rows: list[list[TextRow]],
    texts: Sequence[str],
) -> list[list[tuple[float, float, int]]]:
    """A slot holding one line of the first cell only (a label that wraps), followed by a slot
    whose first-cell line starts in lower case (the label's end), is one row with it."""

    first_words = {(r.top, r.bottom): texts[r.words[0]] for r in cell_rows[0] if r.words}

    def label_start(slot: list[tuple[float, float, int]]) -> str:
        return next((first_words.get((t, b), "") for t, b, i in slot if i == 0), "")

    out: list[list[tuple[float, float, int]]] = []
    for slot in slots:
        lone_label = bool(out) and len(out[-1]) == 1 and out[-1][0][2] == 0
        if lone_label and label_start(slot)[:1].islower():
            out[-1] = [*out[-1], *slot]
            continue
        out.append(slot)
    return out


def split_bands(
    grid: RuledGrid, boxes: np.ndarray, texts: Sequence[str], ids: Sequence[int]
) -> RuledGrid:
    """Split each ruled row band whose cells hold several aligned text lines into one row per
    line (cells that do not split span the new rows)."""
    n_rows = len(grid.rows) - 1
    inside = members(grid, boxes, ids)
    new_rows: list[float] = [grid.rows[0]]
    mapping: list[tuple[int, int]] = []  # per old row: first new row, number of new rows
    for r in range(n_rows):
        band = sorted(
            (i for i, c in enumerate(grid.cells) if c.row == r and c.row_span == 1),
            key=lambda i: grid.cells[i].col,
        )
        cell_rows = [text_rows(boxes, inside[i]) for i in band]
        lines = _line_bands(cell_rows, texts)
        start = len(new_rows) - 1
        if lines:
            for (_, b0), (t1, _) in itertools.pairwise(lines):
                new_rows.append((b0 + t1) / 2)
        new_rows.append(grid.rows[r + 1])
        mapping.append((start, len(new_rows) - 1 - start))
    if len(new_rows) - 1 == n_rows:
        return grid
    cells: list[GridCell] = []
    for c in grid.cells:
        first, count = mapping[c.row]
        last_first, last_count = mapping[c.row + c.row_span - 1]
        span_end = last_first + last_count
        if c.row_span == 1 and count > 1:
            # A cell holding text in only some of the new rows keeps one cell per new row.
            for i in range(count):
                top, bottom = new_rows[first + i], new_rows[first + i + 1]
                cells.append(GridCell(first + i, c.col, 1, c.col_span,
                                      (c.bbox[0], top, c.bbox[2], bottom)))  # fmt: skip
        else:
            cells.append(GridCell(first, c.col, span_end - first, c.col_span, c.bbox))
    return RuledGrid(cells, new_rows, grid.cols, grid.bbox)


def split_spans(grid: RuledGrid, boxes: np.ndarray, ids: Sequence[int]) -> RuledGrid:
    """Split a cell spanning columns at the grid's column borders that no word inside it
    crosses, when its words then fall in two or more parts: a body row ruled only above and
    below, under a header with column rules, holds one value per column."""
    cells: list[GridCell] = []
    for c, inside in zip(grid.cells, members(grid, boxes, ids), strict=True):
        if c.col_span == 1 or not inside:
            cells.append(c)
            continue
        cuts = [
            k
            for k in range(c.col + 1, c.col + c.col_span)
            if not any(
                boxes[i, 0] < grid.cols[k] - 1 < grid.cols[k] + 1 < boxes[i, 2] for i in inside
            )
        ]
        bounds = [c.col, *cuts, c.col + c.col_span]
        parts = list(itertools.pairwise(bounds))
        used = {
            j
            for i in inside
            for j, (a, b) in enumerate(parts)
            if grid.cols[a] <= (boxes[i, 0] + boxes[i, 2]) / 2 <= grid.cols[b]
        }
        if len(used) < 2:
            cells.append(c)
            continue
        for a, b in parts:
            box = (grid.cols[a], c.bbox[1], grid.cols[b], c.bbox[3])
            cells.append(GridCell(c.row, a, c.row_span, b - a, box))
    return RuledGrid(cells, grid.rows, grid.cols, grid.bbox)


def _column_cuts(
    rows: list[TextRow], boxes: np.ndarray, min_gutter: float, tolerance: float
) -> list[float]:
    """Gutters inside one ruled column that 3+ of its text rows have words on both sides of."""
    if sum(len(r.words) >= 2 for r in rows) < 3:
        return []
    height = float(np.median([r.height for r in rows]))
    found, _ = gutters(rows, boxes, min_gutter * height, tolerance)
    cuts = []
    for a, b in found:
        x = (a + b) / 2
        both = sum(
            any(boxes[k, 2] <= x for k in r.words) and any(boxes[k, 0] >= x for k in r.words)
            for r in rows
        )
        if both >= 3:
            cuts.append(x)
    return cuts


def split_columns(
    grid: RuledGrid,
    boxes: np.ndarray,
    ids: Sequence[int],
    min_gutter: float = 0.5,
    tolerance: float = 0.15,
) -> RuledGrid:
    """Split a ruled column whose words run in several text-aligned columns (rules between
    groups of columns only) at the gutters down it."""
    n_cols = len(grid.cols) - 1
    inside = members(grid, boxes, ids)
    cuts: dict[int, list[float]] = {}
    for c in range(n_cols):
        ws = [k for cell, m in zip(grid.cells, inside, strict=True)
              if cell.col == c and cell.col_span == 1 for k in m]  # fmt: skip
        if len(ws) >= 6:
            found = _column_cuts(text_rows(boxes, ws), boxes, min_gutter, tolerance)
            if found:
                cuts[c] = found
    if not cuts:
        return grid
    first: list[int] = []
    cols: list[float] = []
    for c in range(n_cols):
        first.append(len(cols))
        cols.extend([grid.cols[c], *cuts.get(c, [])])
    cols.append(grid.cols[-1])
    first.append(len(cols) - 1)
    cells: list[GridCell] = []
    for cell in grid.cells:
        c0, c1 = first[cell.col], first[cell.col + cell.col_span]
        if cell.col_span == 1 and cell.col in cuts:
            for j in range(c0, c1):
                box = (cols[j], cell.bbox[1], cols[j + 1], cell.bbox[3])
                cells.append(GridCell(cell.row, j, cell.row_span, 1, box))
        else:
            cells.append(GridCell(cell.row, c0, cell.row_span, c1 - c0, cell.bbox))
    return RuledGrid(cells, grid.rows, cols, grid.bbox)


__all__ = [
    "GridCell",
    "RuledGrid",
    "find_grids",
    "members",
    "ruling_edges",
    "split_bands",
    "split_columns",
    "split_spans",
    "words_in",
]
