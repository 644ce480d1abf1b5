"""Tables that continue across pages (`tables.merge`, a document stage) and the logical tables
they form.

A part continues the previous page's table when the earlier part is the last thing on its page
(only footers, page numbers or short lines after it), the later part is the first thing on the
next page (only headers before it), and their columns agree: the same number of columns, and
column edges within a tolerance when both pages have the same size. Leading rows of the later part
that repeat the earlier header are counted in `repeated_header_rows` and left out of the logical
table. Parts stay on their pages (review, overlays and word ids are per page); the chain is read
back with `logical_tables`.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import ClassVar

from extractors.document import Block, Cell, Document, Page, Table
from extractors.stage import TABLES, DocumentStage, StageOptions, register

_MARGIN_KINDS = frozenset({"header", "footer"})
_SPACES = re.compile(r"\s+")


class TableMergeOptions(StageOptions):
    max_gap_chars: int = 40
    """Blocks between a table and the page edge with at most this many characters (page numbers,
    running heads) do not stop a continuation."""
    column_tolerance: float = 0.03
    """Largest difference (page fraction) between matching column edges of two parts."""


@dataclass
class LogicalTable:
    """One table as a reader sees it: its parts on consecutive pages, header repeats dropped."""

    id: str  # the first part's id
    parts: list[tuple[int, Table]]  # (page index, part) in page order
    n_cols: int
    rows: list[list[Cell]] = field(default_factory=list)  # cells of each logical row

    @property
    def pages(self) -> list[int]:
        return [index for index, _ in self.parts]

    @property
    def n_rows(self) -> int:
        return len(self.rows)


def _norm(text: str) -> str:
    return _SPACES.sub(" ", text).strip().lower()


def _row_texts(table: Table, row: int) -> list[str]:
    return [_norm(c.text) for c in sorted(table.cells, key=lambda c: c.col) if c.row == row]


def _column_edges(table: Table) -> list[float]:
    """Left edge of each column (from the cells that start there), page-relative."""
    edges: dict[int, float] = {}
    for c in table.cells:
        if c.bbox is not None and c.col_span == 1:
            edges[c.col] = min(edges.get(c.col, c.bbox[0]), c.bbox[0])
    return [edges[k] for k in sorted(edges)]


def _outside(page: Page, block_id: str | None, after: bool) -> list[Block]:
    """Blocks read after (or before) the table's block on its page."""
    blocks = sorted(page.blocks, key=lambda b: b.order)
    ids = [b.id for b in blocks]
    if block_id not in ids:
        return blocks
    at = ids.index(block_id)
    return blocks[at + 1 :] if after else blocks[:at]


def _only_margins(blocks: Sequence[Block], max_chars: int) -> bool:
    return all(b.kind in _MARGIN_KINDS or len(b.text.strip()) <= max_chars for b in blocks)


@register
class TableMergeStage(DocumentStage[TableMergeOptions]):
    kind: ClassVar[str] = "tables.merge"
    version: ClassVar[str] = "1"
    requires: ClassVar[tuple[str, ...]] = (TABLES,)
    Options: ClassVar[type[StageOptions]] = TableMergeOptions

    def continues(self, prev: Page, prev_table: Table, page: Page, table: Table) -> bool:
        opts = self.options
        if prev_table.n_cols != table.n_cols or table.n_cols < 2:
            return False
        if not _only_margins(_outside(prev, prev_table.block_id, after=True), opts.max_gap_chars):
            return False
        if not _only_margins(_outside(page, table.block_id, after=False), opts.max_gap_chars):
            return False
        if (prev.width, prev.height) == (page.width, page.height):
            a, b = _column_edges(prev_table), _column_edges(table)
            if len(a) == len(b):
                moved = [abs(x - y) for x, y in zip(a, b, strict=True)]
                if max(moved, default=0.0) > opts.column_tolerance:
                    return False
        return True

    def annotate(self, document: Document, prediction: object) -> None:
        for prev, page in itertools.pairwise(document.pages):
            if page.index != prev.index + 1 or not prev.tables or not page.tables:
                continue
            last = max(prev.tables, key=lambda t: t.bbox[3])
            first = min(page.tables, key=lambda t: t.bbox[1])
            if not self.continues(prev, last, page, first):
                continue
            first.continues = last.id
            first.repeated_header_rows = repeated_header_rows(_head(document, last), first)


def _head(document: Document, table: Table) -> Table:
    """The first part of the chain `table` ends (whose header later parts repeat)."""
    by_id = {t.id: t for p in document.pages for t in p.tables}
    seen = {table.id}
    while table.continues and table.continues in by_id and table.continues not in seen:
        table = by_id[table.continues]
        seen.add(table.id)
    return table


def repeated_header_rows(head: Table, part: Table) -> int:
    """How many leading rows of `part` repeat the header rows of `head` (its first rows when it
    marks none), matched on normalised text."""
    marked = sorted({c.row for c in head.cells if c.is_header})
    header = marked if marked and marked == list(range(len(marked))) else [0]
    n = 0
    for row in header:
        texts = _row_texts(head, row)
        if any(texts) and _row_texts(part, n) == texts:
            n += 1
        else:
            break
    return n


def logical_tables(document: Document) -> list[LogicalTable]:
    """Every table of the document as a reader sees it: continued parts joined to the part they
    continue, rows renumbered across the parts, repeated header rows left out."""
    logical: dict[str, LogicalTable] = {}
    owner: dict[str, str] = {}  # part id -> logical id
    out: list[LogicalTable] = []
    for page in document.pages:
        for table in sorted(page.tables, key=lambda t: (t.bbox[1], t.bbox[0])):
            head = owner.get(table.continues or "")
            if head is None:
                item = LogicalTable(table.id, [], table.n_cols)
                logical[table.id] = item
                out.append(item)
                head = table.id
            owner[table.id] = head
            item = logical[head]
            item.parts.append((page.index, table))
            skip = table.repeated_header_rows if table.continues else 0
            by_row: dict[int, list[Cell]] = {}
            for cell in table.cells:
                by_row.setdefault(cell.row, []).append(cell)
            # Every row, also one whose positions all belong to a cell spanning from above.
            item.rows += [
                sorted(by_row.get(r, []), key=lambda c: c.col) for r in range(skip, table.n_rows)
            ]
    return out
