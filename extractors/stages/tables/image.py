"""Tables on scanned pages and photos (`tables.image`): SLANet structure, cell text from OCR words.

Runs after `order.reading`, so the page's OCR words carry their final ids; no second OCR pass.
Everything happens in the work image's frame (deskewed, upright: what the model reads best);
cell boxes go back to the presented page through `ctx.to_page`.

Regions: the layout's `table` regions and the ruled grids of the image (OpenCV morphology). A
grid that is most of a layout region joins it (the layout box catches a spanning header above
the ruled part); small grids inside a large layout region are the tables of a form the layout
took whole; grids the layout missed are tables of their own. Every region must then look like a
table once SLANet has read it and the words are in (`looks_tabular`): CDLA calls dense text and
whole forms tables. With `whole_page`, a page where nothing was found is read as one table
(table crops such as PubTabNet's), without that check.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import cached_property

import numpy as np
from pydantic import Field

from extractors.document import Line, Table, Word
from extractors.geometry import Box, as_box, intersection, union
from extractors.stage import (
    BLOCKS,
    IMAGE,
    REGIONS,
    TABLES,
    PageContext,
    PageStage,
    Region,
    StageError,
    StageOptions,
    register,
)
from extractors.stages.tables.common import (
    CellBox,
    assign_words,
    build_table,
    page_words,
    place_tables,
)
from extractors.stages.tables.image_grid import tile_cells
from extractors.stages.tables.image_rulings import PixelBox, find_rulings
from models.table_structure import SlaNetStructure, TableStructure, grid_cells

logger = logging.getLogger(__name__)
SOURCE = "tables.image"


class ImageTableOptions(StageOptions):
    # Table crops per SLANet call (one page may hold several tables; a GPU takes more).
    model_batch: int = Field(default=4, ge=1, le=256)

    def hashed(self) -> dict[str, object]:
        # Crops per model call change no result (like batch_size): not part of the config hash.
        return {k: v for k, v in super().hashed().items() if k != "model_batch"}

    # Context around a region, as a share of its longer side (SLANet saw margins in training).
    region_margin: float = Field(default=0.02, ge=0, le=0.2)
    # Ruled grids the layout did not call a table become tables (checked like layout tables).
    ruled_grids: bool = True
    # A page where no region was found is one table (for table crops, e.g. PubTabNet).
    whole_page: bool = False
    min_rows: int = Field(default=2, ge=1)
    min_cols: int = Field(default=2, ge=1)
    # A table (except a whole-page one) needs at least this share of its cells holding text and
    # of its rows holding text in two cells or more (forms and paragraphs fail), and at most
    # this share of its text lines crossing a column border.
    min_filled_cells: float = Field(default=0.5, ge=0, le=1)
    min_filled_rows: float = Field(default=0.5, ge=0, le=1)
    max_crossing_lines: float = Field(default=0.25, ge=0, le=1)
    # Tables whose mean token probability is below this are dropped.
    min_confidence: float = Field(default=0.5, ge=0, le=1)


@dataclass(frozen=True)
class Candidate:
    """A table region in work-image pixels, and what vouches for it."""

    box: PixelBox
    source: str  # what proposed it: layout, rulings, both, or the whole page

    @property
    def whole_page(self) -> bool:
        return self.source == "whole page"


def to_work(ctx: PageContext, boxes: np.ndarray) -> np.ndarray:
    """Presented-page-relative boxes (K x 4) as the axis-aligned boxes they cover in the work
    image's pixels."""
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    h, w = ctx.image.shape[:2]
    x0, y0, x1, y1 = (boxes * [w, h, w, h]).T
    corners = np.stack([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], axis=1).transpose(2, 1, 0)
    inverse = np.linalg.inv(np.vstack([ctx.to_page, [0.0, 0.0, 1.0]]))[:2]
    mapped = corners @ inverse[:, :2].T + inverse[:, 2]  # K x 4 corners x 2
    return np.concatenate([mapped.min(axis=1), mapped.max(axis=1)], axis=1)


def _work_box(ctx: PageContext, bbox: Sequence[float]) -> PixelBox:
    ((ax, ay, bx, by),) = to_work(ctx, np.asarray([bbox]))
    wh, ww = ctx.work.shape[:2]
    return (max(0, int(ax)), max(0, int(ay)), min(ww, int(np.ceil(bx))), min(wh, int(np.ceil(by))))


def _pad(box: PixelBox, margin: float, width: int, height: int) -> PixelBox:
    pad = round(margin * max(box[2] - box[0], box[3] - box[1])) + 2
    return (
        max(0, box[0] - pad),
        max(0, box[1] - pad),
        min(width, box[2] + pad),
        min(height, box[3] + pad),
    )


@register
class ImageTableStage(PageStage[ImageTableOptions]):
    kind = "tables.image"
    version = "1"
    requires = (BLOCKS, IMAGE)
    uses = (REGIONS,)
    produces = (TABLES,)
    batch_size = 4
    Options = ImageTableOptions

    @cached_property
    def model(self) -> SlaNetStructure:
        try:
            return SlaNetStructure(batch_size=self.options.model_batch, runtime=self.runtime)
        except Exception as error:  # missing or wrong weights: say which command fetches them
            raise StageError(
                self.kind, f"cannot load the table-structure model: {error}"
            ) from error

    def applies_to(self, ctx: PageContext) -> bool:
        return not ctx.text_layer_usable

    def candidates(self, ctx: PageContext) -> list[Candidate]:
        """Table regions of a page (work-image pixels)."""
        work = ctx.work
        h, w = work.shape[:2]
        rulings = find_rulings(work)
        regions: list[Region] = ctx.scratch.get(REGIONS, [])
        found: list[Candidate] = []
        grids = list(rulings.grids)
        for region in regions:
            if region.kind != "table":
                continue
            box = _work_box(ctx, region.bbox)
            overlap = [(g, intersection(as_box(g), as_box(box))) for g in grids]
            inside = [g for g, inter in overlap if inter >= 0.5 * _area(g)]
            # A grid that is most of the region (or holds it) is the same table: take both. Grids
            # that are only a small part of it are the tables of a form the layout took whole.
            same = [g for g, inter in overlap if inter >= 0.5 * min(_area(box), max(_area(g), 1.0))]
            same = [g for g in same if g not in inside or _area(g) >= 0.5 * _area(box)]
            if same:
                merged = union([as_box(box), *(as_box(g) for g in same)])
                box = (int(merged[0]), int(merged[1]), int(merged[2]), int(merged[3]))
                found.append(Candidate(box, "layout+rulings"))
            elif inside:
                found.extend(Candidate(g, "rulings in layout") for g in inside)
            else:
                found.append(Candidate(box, "layout"))
            grids = [g for g in grids if g not in same and g not in inside]
        if self.options.ruled_grids:
            found.extend(Candidate(g, "rulings") for g in grids)
        if not found and self.options.whole_page:
            found.append(Candidate((0, 0, w, h), "whole page"))
        margin = self.options.region_margin
        return [
            c if c.whole_page else Candidate(_pad(c.box, margin, w, h), c.source) for c in found
        ]

    def predict(self, batch: Sequence[PageContext]) -> list[list[tuple[Candidate, TableStructure]]]:
        crops: list[np.ndarray] = []
        owners: list[tuple[int, Candidate]] = []
        for position, ctx in enumerate(batch):
            for cand in self.candidates(ctx):
                x0, y0, x1, y1 = cand.box
                if x1 - x0 >= 8 and y1 - y0 >= 8:
                    crops.append(ctx.work[y0:y1, x0:x1])
                    owners.append((position, cand))
        structures = self.model(crops) if crops else []
        out: list[list[tuple[Candidate, TableStructure]]] = [[] for _ in batch]
        for (position, cand), structure in zip(owners, structures, strict=True):
            out[position].append((cand, structure))
        return out

    def annotate(
        self,
        batch: Sequence[PageContext],
        predictions: Sequence[list[tuple[Candidate, TableStructure]]],
    ) -> None:
        for ctx, found in zip(batch, predictions, strict=True):
            words = page_words(ctx.page)
            tables: list[Table] = []
            for cand, structure in found:
                table = self.table(
                    ctx, cand, structure, words, n=len(ctx.page.tables) + len(tables)
                )
                if table is not None:
                    tables.append(table)
            place_tables(ctx.page, tables)

    def table(
        self,
        ctx: PageContext,
        cand: Candidate,
        structure: TableStructure,
        words: Sequence[Word],
        n: int,
    ) -> Table | None:
        o = self.options
        cells = grid_cells(structure)
        if not cells or structure.confidence < o.min_confidence:
            return None
        x0, y0, x1, y1 = cand.box
        inside = to_work(ctx, np.asarray([w.bbox for w in words])) - [x0, y0, x0, y0]
        centre_x, centre_y = (inside[:, 0] + inside[:, 2]) / 2, (inside[:, 1] + inside[:, 3]) / 2
        keep = (centre_x >= 0) & (centre_x <= x1 - x0) & (centre_y >= 0) & (centre_y <= y1 - y0)
        ours = [w for w, k in zip(words, keep, strict=True) if k]
        tiles = tile_cells(cells, x1 - x0, y1 - y0)

        def on_page(box: Sequence[float] | np.ndarray, grow: float = 0.0) -> Box:
            a, b, c, d = (
                box[0] - grow + x0,
                box[1] - grow + y0,
                box[2] + grow + x0,
                box[3] + grow + y0,
            )
            return as_box(ctx.relative_bbox(np.array([[a, b], [c, b], [c, d], [a, d]])))

        boxes = [
            CellBox(
                row=cell.row,
                col=cell.col,
                bbox=on_page(tile),
                row_span=cell.row_span,
                col_span=cell.col_span,
                is_header=cell.header,
                confidence=cell.confidence,
            )
            for cell, tile in zip(cells, tiles, strict=True)
        ]
        # The model's own boxes first (they know which lines make one cell), the tiles for the
        # words they miss.
        raw = [
            replace(box, bbox=on_page(cell.box, 2.0))
            for box, cell in zip(boxes, cells, strict=True)
        ]
        owned = assign_words(raw, ours)
        taken = {w.id for group in owned for w in group}
        rest = assign_words(boxes, [w for w in ours if w.id not in taken])
        line_of = {w.id: ln for ln in ctx.page.lines() for w in ln.words}
        owned = [cell_order([*a, *b], line_of) for a, b in zip(owned, rest, strict=True)]
        for box, group in zip(boxes, owned, strict=True):
            if group:
                box.bbox = union([box.bbox, *(as_box(w.bbox) for w in group)])
        table = build_table(
            ctx.page, boxes, ours, n=n, source=SOURCE, confidence=structure.confidence, owned=owned
        )
        small = table.n_rows < o.min_rows or table.n_cols < o.min_cols
        if small or (not cand.whole_page and not self.looks_tabular(ctx, table)):
            logger.debug(
                "%s page %d: %s region %s read as %dx%d, not a table",
                ctx.document_id,
                ctx.page.index,
                cand.source,
                cand.box,
                table.n_rows,
                table.n_cols,
            )
            return None
        return table

    def looks_tabular(self, ctx: PageContext, table: Table) -> bool:
        """What a table shows and a form or paragraph does not: most cells hold text, most rows
        hold text in two cells or more, and text lines keep to their columns (a paragraph's
        lines cross every border SLANet draws into it)."""
        o = self.options
        filled = [c for c in table.cells if c.text.strip()]
        per_row: dict[int, int] = {}
        for c in filled:
            per_row[c.row] = per_row.get(c.row, 0) + 1
        if len(filled) < o.min_filled_cells * len(table.cells):
            return False
        if sum(n >= 2 for n in per_row.values()) < o.min_filled_rows * table.n_rows:
            return False
        col_of = {wid: (c.col, c.col_span) for c in table.cells for wid in c.word_ids}
        lines = [ln for ln in ctx.page.lines() if any(w.id in col_of for w in ln.words)]
        crossing = sum(len({col_of[w.id] for w in ln.words if w.id in col_of}) > 1 for ln in lines)
        return not lines or crossing / len(lines) <= o.max_crossing_lines


def cell_order(words: Sequence[Word], line_of: dict[str, Line]) -> list[Word]:
    """A cell's words line by line, top to bottom, each line's words as OCR read them: the
    page's reading order can put a cell's second line first when its lines fall in different
    page blocks."""

    def key(w: Word) -> tuple[float, float, int]:
        line = line_of[w.id]
        return ((line.bbox[1] + line.bbox[3]) / 2, line.bbox[0], line.words.index(w))

    return sorted(words, key=key)


def _area(b: PixelBox) -> float:
    return float(max(0, b[2] - b[0]) * max(0, b[3] - b[1]))
