"""What every table stage shares: cell ids, page words into cells, tables into the page's blocks.

A table stage runs after `order.reading`, so the page's words already have their final ids. It
finds tables its own way (PDF characters and rulings, or a structure model over the image) and
hands `CellBox`es here; `build_table` fills them with the page's words and `place_tables` puts
the tables on the page: each table's lines move into one block of kind `table` (the block the
layout model proposed when it overlaps, otherwise a new one), and layout table blocks no table
confirmed become text again (CDLA calls dense text a table).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from extractors.document import Block, Cell, Line, Page, Table, Word
from extractors.geometry import Box, as_box, best_containers, iou, union

# A word belongs to the cell covering at least this share of it.
MIN_WORD_SHARE = 0.5
# A table reuses the layout's table block when their boxes overlap at least this much.
MIN_BLOCK_IOU = 0.3
_NUMERIC = re.compile(r"^[\s$€£¥%()+\-–.,:/0-9]*[0-9][\s$€£¥%()+\-–.,:/0-9]*$")
# What data tables put where a value is missing: counts neither as a number nor as a label.
_PLACEHOLDER = re.compile(r"^(n/?a|n\.a\.|na|nil|none|[-–—*x.]+)$", re.I)


@dataclass
class CellBox:
    """A cell as a structure finder sees it, before the page's words fill it."""

    row: int
    col: int
    bbox: Box  # page-relative
    row_span: int = 1
    col_span: int = 1
    is_header: bool = False
    confidence: float = 1.0
    text: str | None = None  # set when the finder read the text itself; else from the words


def table_id(page_index: int, n: int) -> str:
    return f"p{page_index}-t{n}"


def cell_id(table: str, row: int, col: int) -> str:
    return f"{table}-c{row}-{col}"


def page_words(page: Page) -> list[Word]:
    """The page's words in reading order (block order, then line order)."""
    return [
        w
        for block in sorted(page.blocks, key=lambda b: b.order)
        for ln in block.lines
        for w in ln.words
    ]


def assign_words(
    cells: Sequence[CellBox], words: Sequence[Word], min_share: float = MIN_WORD_SHARE
) -> list[list[Word]]:
    """Each word goes to the cell covering the largest share of it (the smaller cell on a tie);
    words no cell covers by `min_share` stay out. Words keep their order within a cell."""
    out: list[list[Word]] = [[] for _ in cells]
    boxes = best_containers([as_box(w.bbox) for w in words], [c.bbox for c in cells], min_share)
    for word, j in zip(words, boxes, strict=True):
        if j >= 0:
            out[j].append(word)
    return out


def join_words(words: Sequence[Word]) -> str:
    return " ".join(w.text for w in words if w.text).strip()


def is_numeric(text: str) -> bool:
    return bool(_NUMERIC.match(text))


def mark_header_rows(cells: Sequence[Cell]) -> None:
    """Guess header rows where the finder could not tell: the leading rows whose cells hold no
    numbers, above a body that mostly does (the common shape of a data table). Tables of text
    only get no guessed header."""
    if any(c.is_header for c in cells) or not cells:
        return
    rows: dict[int, list[Cell]] = {}
    for c in cells:
        rows.setdefault(c.row, []).append(c)
    order = sorted(rows)
    if len(order) < 2:
        return

    def numeric_share(row: list[Cell]) -> float:
        filled = [c for c in row if c.text.strip() and not _PLACEHOLDER.match(c.text.strip())]
        return sum(is_numeric(c.text) for c in filled) / len(filled) if filled else 0.0

    header: list[int] = []
    for r in order[: max(1, len(order) // 3)]:
        if numeric_share(rows[r]) == 0 and any(c.text.strip() for c in rows[r]):
            header.append(r)
        else:
            break
    body = [numeric_share(rows[r]) for r in order[len(header) :]]
    if header and body and sum(body) / len(body) >= 0.3:
        for r in header:
            for c in rows[r]:
                c.is_header = True


def build_table(
    page: Page,
    cells: Sequence[CellBox],
    words: Sequence[Word],
    *,
    n: int,
    source: str,
    confidence: float,
    owned: Sequence[Sequence[Word]] | None = None,
) -> Table:
    """A `Table` whose cells hold the page words inside them (ids, text, confidence); `owned`
    gives each cell's words when the finder assigned them itself (else `assign_words`)."""
    tid = table_id(page.index, n)
    owned = list(owned) if owned is not None else assign_words(cells, words)
    out: list[Cell] = []
    for box, cell_words in zip(cells, owned, strict=True):
        word_conf = [w.confidence for w in cell_words]
        out.append(
            Cell(
                id=cell_id(tid, box.row, box.col),
                row=box.row,
                col=box.col,
                row_span=box.row_span,
                col_span=box.col_span,
                text=box.text if box.text is not None else join_words(cell_words),
                bbox=[round(v, 5) for v in box.bbox],
                is_header=box.is_header,
                confidence=round(box.confidence * (min(word_conf) if word_conf else 1.0), 4),
                word_ids=[w.id for w in cell_words],
            )
        )
    mark_header_rows(out)
    out.sort(key=lambda c: (c.row, c.col))
    bbox = union([c.bbox for c in cells]) if cells else (0.0, 0.0, 0.0, 0.0)
    return Table(
        id=tid,
        n_rows=max((c.row + c.row_span for c in out), default=0),
        n_cols=max((c.col + c.col_span for c in out), default=0),
        cells=out,
        bbox=[round(v, 5) for v in bbox],
        confidence=round(confidence, 4),
        source=source,
    )


def _line_inside(line: Line, box: Box, tolerance: float) -> bool:
    x0, y0, x1, y1 = line.bbox
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    return (
        box[0] - tolerance <= cx <= box[2] + tolerance
        and box[1] - tolerance <= cy <= box[3] + tolerance
    )


def place_tables(page: Page, tables: Sequence[Table], tolerance: float = 0.002) -> None:
    """Put `tables` on the page, each filling one `table` block that holds the lines inside it.

    Line and word ids stay as reading order made them (cells refer to them); blocks keep their
    ids, new table blocks take the next free number, and block `order` is renumbered so the
    table sits where its first line was read. Layout table blocks no table confirmed turn back
    into text.
    """
    blocks = sorted(page.blocks, key=lambda b: b.order)
    line_rank = {ln.id: i for i, ln in enumerate(ln for b in blocks for ln in b.lines)}
    # Where a block without lines (a figure) sits among the lines, to keep it there.
    empty_rank: dict[str, float] = {}
    seen = -0.5
    for b in blocks:
        if b.lines:
            seen = line_rank[b.lines[-1].id]
        else:
            empty_rank[b.id] = seen + 0.5
    next_block = 1 + max(
        (int(m.group(1)) for b in blocks if (m := re.search(r"-b(\d+)$", b.id))), default=-1
    )
    claimed: set[str] = set()
    placed: list[Table] = []
    for table in sorted(tables, key=lambda t: (t.bbox[1], t.bbox[0])):
        box = as_box(table.bbox)
        candidates = [b for b in blocks if b.kind == "table" and b.id not in claimed]
        target = max(candidates, key=lambda b: iou(as_box(b.bbox), box), default=None)
        if target is None or iou(as_box(target.bbox), box) < MIN_BLOCK_IOU:
            target = Block(
                id=f"p{page.index}-b{next_block}", kind="table", bbox=list(box), source=table.source
            )
            next_block += 1
            blocks.append(target)
        for block in blocks:
            if block is not target:
                inside = [ln for ln in block.lines if _line_inside(ln, box, tolerance)]
                if inside:
                    moved = {id(ln) for ln in inside}  # identity: model equality is slow
                    block.lines = [ln for ln in block.lines if id(ln) not in moved]
                    target.lines.extend(inside)
        target.lines.sort(key=lambda ln: line_rank.get(ln.id, 0))
        target.bbox = [round(v, 5) for v in union([box, *(as_box(ln.bbox) for ln in target.lines)])]
        target.confidence = table.confidence
        claimed.add(target.id)
        placed.append(table.model_copy(update={"block_id": target.id}))
    for block in blocks:
        if block.kind == "table" and block.id not in claimed and block.lines:
            block.kind = "text"
    kept = [b for b in blocks if b.lines or b.kind in ("figure", "table", "equation")]

    def position(b: Block) -> float:
        if b.lines:
            return min(line_rank.get(ln.id, 0) for ln in b.lines)
        return empty_rank.get(b.id, float(len(line_rank)))

    kept.sort(key=position)
    for n, block in enumerate(kept):
        block.order = n
    page.blocks = kept
    page.tables = [*page.tables, *placed]
