"""Born-digital tables (`tables.pdf`): tables on pages with a usable text layer, from the page's
words (with the ids reading order gave them), its rulings and the layout model's regions.

Candidates come from three places, strongest first, and the strategy follows the candidate:
1. ruled grids (`ruled`): cells from crossing rulings (pdfplumber's lattice functions over our
   rulings); the stub and last columns that row rules reach beyond the outer column rules
   join; stacked grids with the same columns are one; a cell spanning columns splits at the
   column rules no word in it crosses; a ruled band splits into rows where its lines align
   across columns around a column of numbers. A grid whose cells hold blocks of number rows
   (rules around groups of rows only) is left to the next strategy; a bare frame is no table.
2. text alignment (`aligned`): stretches of rows whose column gutters line up; captions
   ("Table 3.") and notes ("Source:", footnote marks) end them, running text in columns and
   bullet or line-numbered lists are not tables; wrapped labels and header lines are joined,
   header labels span the columns they are centred on. Sparse candidates inside a layout
   figure or equation (chart labels, equation numbers) are dropped.
3. the layout model's table regions that neither found: accepted only when the text inside
   lines up in columns (CDLA labels dense text as tables; `place_tables` turns unconfirmed
   layout table blocks back into text).
Tables set sideways (turned text) are read upright (`turned`). Coordinates are points of the
presented page inside this module and page-relative in what it writes.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from pydantic import Field

from extractors.document import Page, Table, Word
from extractors.geometry import Box, area, intersection
from extractors.rulings import Ruling
from extractors.stage import (
    BLOCKS,
    REGIONS,
    RULINGS,
    TABLES,
    PageContext,
    PageStage,
    Region,
    StageOptions,
    register,
)
from extractors.stages.tables.aligned import (
    AlignedTable,
    Cells,
    TextRow,
    build_aligned,
    candidate_runs,
    merge_continuations,
    merge_header_lines,
    row_cells,
    split_chunks,
    text_rows,
)
from extractors.stages.tables.common import (
    CellBox,
    build_table,
    is_numeric,
    page_words,
    place_tables,
)
from extractors.stages.tables.headers import header_rows, join_stub_head, spread_labels
from extractors.stages.tables.ruled import (
    RuledGrid,
    find_grids,
    members,
    split_bands,
    split_columns,
    split_spans,
    words_in,
)
from extractors.stages.tables.text_cues import is_caption, is_list, prose_columns, prose_rows
from extractors.stages.tables.turned import line_numbers, reading_order, text_direction, turn

log = logging.getLogger(__name__)


class PdfTableOptions(StageOptions):
    # Gap between words (x row height) that separates two cells of a row; a normal space is
    # about a quarter of the row height.
    cell_gap: float = Field(default=0.5, gt=0)
    # Narrowest whitespace (x row height) that counts as a column gutter.
    min_gutter: float = Field(default=0.4, gt=0)
    # Share of a table's rows whose words may cross a gutter (spanning cells).
    gutter_tolerance: float = Field(default=0.15, ge=0, lt=1)
    # A vertical gap wider than this (x row height) ends a text-aligned table.
    max_row_gap: float = Field(default=2.5, gt=0)
    # One-cell rows (wrapped labels, section rows) a text-aligned table may hold in a row.
    max_single_rows: int = Field(default=3, ge=0)
    # Rows with two or more cells a text-aligned table needs (layout-proposed ones: min_rows-1).
    min_rows: int = Field(default=3, ge=2)
    # Median words per filled cell above which aligned text is prose in columns, not a table.
    max_cell_words: float = Field(default=6.0, gt=0)
    # A column where this share of rows holds cells of `prose_words`+ words is running text.
    prose_words: int = Field(default=5, ge=2)
    prose_share: float = Field(default=0.6, gt=0, le=1)
    # Leading rows above the first row of numbers that may form a text-aligned table's header.
    max_header_rows: int = Field(default=6, ge=0)
    # A text-aligned candidate needs this share of its grid filled, inside a layout figure more.
    min_fill: float = Field(default=0.5, ge=0, le=1)
    min_figure_fill: float = Field(default=0.7, ge=0, le=1)
    # Two columns both wider than this share of the page are a two-column text layout.
    prose_column_width: float = Field(default=0.3, gt=0, le=1)
    # A ruled grid needs at least this share of its cells filled (chart grids are empty).
    min_filled_share: float = Field(default=0.3, ge=0, le=1)
    # Snap/join tolerance (pt) for rulings and their crossings.
    snap: float = Field(default=3.0, gt=0)


@dataclass
class _Found:
    bbox: Box  # pt
    cells: list[CellBox]  # page-relative boxes
    confidence: float
    strategy: str
    direction: int = 0  # of the text: 0 horizontal, +1 reading downwards, -1 upwards


def _rel(box: Box, width: float, height: float) -> Box:
    return (box[0] / width, box[1] / height, box[2] / width, box[3] / height)


def _pt(bbox: Sequence[float], width: float, height: float) -> Box:
    return (bbox[0] * width, bbox[1] * height, bbox[2] * width, bbox[3] * height)


def _inside(inner: Box, outer: Box, share: float = 0.5) -> bool:
    return area(inner) > 0 and intersection(inner, outer) >= share * area(inner)


_LEADER = re.compile(r"^[.·…]+$")
# Layout regions whose words line up without being tables (chart labels, equation numbers).
_VETO_KINDS = frozenset({"figure", "equation"})


def _unruled_rows(inside: Sequence[list[int]], boxes: np.ndarray, texts: Sequence[str]) -> int:
    """Words in ruled cells that hold 4+ text rows, when one of them is mostly numbers (a data
    block between rules, its labels beside it); 0 when none is."""
    total, numbers = 0, False
    for ws in inside:
        if len(ws) >= 4 and len(text_rows(boxes, ws)) >= 4:
            total += len(ws)
            numbers = numbers or sum(is_numeric(texts[k]) for k in ws) >= 0.5 * len(ws)
    return total if numbers else 0


def _fill(table: AlignedTable) -> float:
    """Share of a table's grid positions its cells cover."""
    covered = sum(c1 - c0 + 1 for row in table.cells for c0, c1, _ in row)
    return covered / max(1, len(table.rows) * table.n_cols)


def _overlaps(a: Box, b: Box, share: float = 0.5) -> bool:
    smaller = min(area(a), area(b))
    return smaller > 0 and intersection(a, b) >= share * smaller


def _without(
    row: TextRow, cells: Sequence[Cells], col: int, boxes: np.ndarray, gap: float
) -> TextRow:
    """The row without the words of its cells starting in column `col`."""
    drop = {k for c0, _, ws in cells if c0 == col for k in ws}
    words = [k for k in row.words if k not in drop]
    out = TextRow(row.top, row.bottom, words)
    if words:
        out.top = float(boxes[words, 1].min())
        out.bottom = float(boxes[words, 3].max())
        split_chunks(out, boxes, gap)
    return out


def _near(words: Sequence[Word], bbox: Box, page: Page, margin: float = 2.0) -> list[Word]:
    """The words that touch a table's box (pt), in page order: all its cells can hold (dot
    leaders left out: a cell holds "Total", not "Total . . . .")."""
    x0, y0 = (bbox[0] - margin) / page.width, (bbox[1] - margin) / page.height
    x1, y1 = (bbox[2] + margin) / page.width, (bbox[3] + margin) / page.height
    return [
        w
        for w in words
        if w.bbox[0] < x1 and w.bbox[2] > x0 and w.bbox[1] < y1 and w.bbox[3] > y0
        and not _LEADER.match(w.text)
    ]  # fmt: skip


@register
class PdfTableStage(PageStage[PdfTableOptions]):
    kind = "tables.pdf"
    version = "2"  # 2: wrapped first-column labels join their row
    requires = (BLOCKS,)
    uses = (REGIONS, RULINGS)
    produces = (TABLES,)
    Options: ClassVar[type[StageOptions]] = PdfTableOptions
    batch_size: ClassVar[int] = 8

    def applies_to(self, ctx: PageContext) -> bool:
        return ctx.text_layer_usable

    def annotate(self, batch: Sequence[PageContext], predictions: Sequence[Any]) -> None:
        for ctx in batch:
            page = ctx.page
            words = page_words(page)
            if not words:
                continue
            rulings: list[Ruling] = list(ctx.scratch.get(RULINGS, []))
            regions: list[Region] = list(ctx.scratch.get(REGIONS, []))
            found = self.find(page, words, rulings, regions)
            tables: list[Table] = [
                build_table(page, f.cells, reading_order(_near(words, f.bbox, page), f.direction),
                            n=n, source=f"{self.kind}:{f.strategy}", confidence=f.confidence)
                for n, f in enumerate(sorted(found, key=lambda f: (f.bbox[1], f.bbox[0])))
            ]  # fmt: skip
            place_tables(page, tables)
            log.debug(
                "%s page %d: %s", ctx.document_id, page.index,
                ", ".join(f"{t.source} {t.n_rows}x{t.n_cols}" for t in tables) or "no tables",
            )  # fmt: skip

    def find(
        self,
        page: Page,
        words: Sequence[Word],
        rulings: Sequence[Ruling],
        regions: Sequence[Region],
    ) -> list[_Found]:
        """Tables on one page (boxes in pt inside, page-relative cells); `regions` are the
        layout model's (tables propose, figures veto text-aligned candidates: chart labels
        line up too, and so do the parts of an equation and its number)."""
        o = self.options
        width, height = page.width, page.height
        figures = [_pt(r.bbox, width, height) for r in regions if r.kind in _VETO_KINDS]
        scale = np.array([width, height, width, height])
        boxes = np.array([w.bbox for w in words], dtype=np.float64).reshape(-1, 4) * scale
        texts = [w.text for w in words]
        numeric = [is_numeric(t) for t in texts]
        lines_of = line_numbers(page, words)
        found: list[_Found] = []
        # Edges of filled areas (shaded rows, cell backgrounds inset in their cells) only count
        # where drawn lines make no table: next to real borders they add false rows.
        lines = [r for r in rulings if not (r.filled and r.width == 0)]
        areas = [r for r in rulings if r.filled and r.width == 0]
        for group in (lines, areas):
            for grid in find_grids(group, width, height, o.snap):
                table = self._ruled(grid, boxes, texts, lines_of, page)
                if table is not None and not any(_overlaps(table.bbox, f.bbox) for f in found):
                    found.append(table)
        taken = {k for f in found for k in words_in(f.bbox, boxes)}
        # Dot leaders ("Total . . . . 11.2") would glue a label to its first number.
        free = [k for k in range(len(words)) if k not in taken and not _LEADER.match(texts[k])]
        rows = text_rows(boxes, free)
        for i, row in enumerate(rows):
            split_chunks(row, boxes, o.cell_gap)
            row.caption = is_caption([texts[k] for k in row.words[:2]])
            # A caption's wrapped lines (close below it, up to three) belong to it too.
            for j in range(max(0, i - 3), i):
                prev = rows[j]
                if prev.caption and 0 <= row.top - prev.bottom < 0.5 * prev.height:
                    row.caption = True
        for run in candidate_runs(rows, o.max_row_gap, o.max_single_rows, o.min_rows):
            aligned = self._aligned(run, boxes, numeric, texts, width, o.min_rows)
            if aligned is None or _fill(aligned) < o.min_fill:
                continue  # a grid mostly empty is labels scattered over a chart
            # CDLA calls some full tables figures too: only a sparse grid inside a figure is
            # taken for chart labels.
            if _fill(aligned) < o.min_figure_fill and any(
                _inside(aligned.bbox, f) for f in figures
            ):
                continue
            if not any(_overlaps(aligned.bbox, f.bbox) for f in found):
                found.append(self._aligned_cells(aligned, boxes, width, height, 0.7))
        for region in regions:
            if region.kind != "table":
                continue
            box = _pt(region.bbox, width, height)
            if any(_overlaps(box, f.bbox, 0.3) for f in found):
                continue
            inside = set(words_in(box, boxes))
            sub = [r for r in rows if inside.issuperset(r.words)]
            aligned = (
                self._aligned(sub, boxes, numeric, texts, width, o.min_rows - 1) if sub else None
            )
            if aligned is not None:
                found.append(self._aligned_cells(aligned, boxes, width, height, 0.6))
        return found

    def _ruled(
        self,
        grid: RuledGrid,
        boxes: np.ndarray,
        texts: Sequence[str],
        lines_of: Sequence[int],
        page: Page,
    ) -> _Found | None:
        width, height, rotation = page.width, page.height, page.rotation
        n_rows, n_cols = len(grid.rows) - 1, len(grid.cols) - 1
        if n_rows < 2 or n_cols < 2:
            return None
        ids = words_in(grid.bbox, boxes)
        o = self.options
        grid = split_columns(
            split_spans(grid, boxes, ids), boxes, ids, o.cell_gap, o.gutter_tolerance
        )
        grid = split_bands(grid, boxes, texts, ids)
        inside = members(grid, boxes, ids)
        filled = sum(1 for ws in inside if ws)
        if _unruled_rows(inside, boxes, texts) >= 0.5 * max(1, len(ids)):
            return None  # rules around blocks of rows: the rows inside are text-aligned
        if filled < 3 or filled < self.options.min_filled_share * len(grid.cells):
            return None
        cells = [
            CellBox(row=c.row, col=c.col, row_span=c.row_span, col_span=c.col_span,
                    bbox=_rel(c.bbox, width, height))
            for c in grid.cells
        ]  # fmt: skip
        direction = text_direction(ids, boxes, texts, lines_of, rotation)
        if direction:
            cells = turn(cells, len(grid.rows) - 1, len(grid.cols) - 1, direction)
        return _Found(grid.bbox, cells, 0.9, "ruled", direction)

    def _aligned(
        self,
        rows: Sequence[TextRow],
        boxes: np.ndarray,
        numeric: Sequence[bool],
        texts: Sequence[str],
        page_width: float,
        min_rows: int,
        depth: int = 0,
    ) -> AlignedTable | None:
        o = self.options
        table = build_aligned(rows, boxes, min_gutter=o.min_gutter, tolerance=o.gutter_tolerance)
        if table is None:
            return None
        per_row = [row_cells(r, boxes, table.edges, o.cell_gap) for r in table.rows]
        # Lines that span the whole table at its ends (captions, notes) are not table rows.
        while per_row and len(per_row[0]) == 1 and per_row[0][0][1] - per_row[0][0][0] > 0:
            per_row.pop(0)
            table.rows.pop(0)
        while per_row and len(per_row[-1]) == 1 and per_row[-1][0][1] - per_row[-1][0][0] > 0:
            per_row.pop()
            table.rows.pop()
        # Two rows of running text in a row end the table (the text under it, in columns).
        running = prose_rows(per_row, o.prose_words)
        for r in range(1, len(per_row) - 1):
            if running[r] and running[r + 1]:
                del per_row[r:], table.rows[r:]
                break
        merge_header_lines(table.rows, per_row, numeric)
        merge_continuations(table.rows, per_row, numeric, texts)
        table.cells = per_row
        table.n_header = header_rows(per_row, numeric, texts, o.max_header_rows)
        spread_labels(table, boxes, table.n_header)
        join_stub_head(table, table.n_header)
        if sum(len(cells) >= 2 for cells in per_row) < min_rows or is_list(per_row, texts):
            return None
        prose = prose_columns(per_row, table.n_cols, o.prose_words, o.prose_share)
        if prose and depth == 0 and len(prose) == 1 and prose[0] in (0, table.n_cols - 1):
            # A table beside a column of running text: the table without that column.
            keep = [_without(r, cells, prose[0], boxes, o.cell_gap) for r, cells in
                    zip(table.rows, per_row, strict=True)]  # fmt: skip
            kept = [r for r in keep if r.words]
            return (
                self._aligned(kept, boxes, numeric, texts, page_width, min_rows, 1)
                if kept
                else None
            )
        if prose:
            return None
        counts = [len(ws) for cells in per_row for _, _, ws in cells]
        if float(np.median(counts)) > o.max_cell_words:
            return None
        widths = np.diff(table.edges)
        if table.n_cols == 2 and bool(np.all(widths > o.prose_column_width * page_width)):
            return None
        ids = [k for r in table.rows for k in r.words]
        table.bbox = (table.edges[0], table.rows[0].top, table.edges[-1],
                      float(boxes[ids, 3].max()))  # fmt: skip
        return table

    def _aligned_cells(
        self, table: AlignedTable, boxes: np.ndarray, width: float, height: float, conf: float
    ) -> _Found:
        edges, rows = table.edges, table.rows
        cells: list[CellBox] = []
        covered: set[tuple[int, int]] = set()
        for r, row in enumerate(rows):
            for c0, c1, _ in table.cells[r]:
                span = table.spans.get((r, c0), 1)
                box = (edges[c0], row.top, edges[c1 + 1], rows[r + span - 1].bottom)
                header = r < table.n_header
                cells.append(CellBox(r, c0, _rel(box, width, height), row_span=span,
                                     col_span=c1 - c0 + 1, is_header=header))  # fmt: skip
                covered |= {(r + i, c) for i in range(span) for c in range(c0, c1 + 1)}
        for r, row in enumerate(rows):
            for c in range(table.n_cols):
                if (r, c) not in covered:
                    box = (edges[c], row.top, edges[c + 1], row.bottom)
                    cells.append(
                        CellBox(r, c, _rel(box, width, height), is_header=r < table.n_header)
                    )
        return _Found(table.bbox, cells, conf, "aligned")


__all__ = ["PdfTableOptions", "PdfTableStage"]
