"""A table's reviewed structure: which cells a reviewer merged or split, and the header rows.

The latest `table` correction of a table carries its whole reviewed state as its new value:
`{"header_rows": n, "spans": [[row, col, row_span, col_span], ...]}`. `spans` lists every cell
larger than one position; every other position of the grid is a 1x1 cell. Without `spans` (the
round-2 `{"header_rows": n}` corrections) the cells stay as extracted. The old value records the
shape the correction was made on (`n_rows`, `n_cols`, the extracted spans and header rows), which
is what carries it over to a reprocessed result (MIGRATION_6 `applies`).

Applying a layout (the same rules as the `reviewed_cells` view, docs/sql.md): each extracted cell
goes to the layout cell holding its top-left position; a layout cell takes the id of the extracted
cell starting at its top-left (else `<table id>-c<row>-<col>`), the reviewer's text for that id, or
else the texts of its extracted cells (as reviewed) joined with a space in reading order; its box
is the union of the parts of the extracted boxes it covers (a spanning box divided evenly).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from extractors.document import Cell, Table

Span = tuple[int, int, int, int]  # row, col, row_span, col_span
# (cell id, round-1 id "<table>:<row>:<col>") -> the (action, value) of the correction in force
CellChange = Callable[[str, str], tuple[str | None, Any]]


@dataclass(frozen=True)
class TableState:
    """What a reviewer decided about one table (None: as extracted)."""

    header_rows: int | None = None
    spans: tuple[Span, ...] | None = None

    @classmethod
    def from_value(cls, value: Any) -> TableState:
        """The state a table correction's new value carries (anything unreadable: none)."""
        if not isinstance(value, dict):
            return cls()
        header = value.get("header_rows")
        spans = value.get("spans")
        return cls(
            header_rows=int(header) if isinstance(header, int | float) else None,
            spans=_read_spans(spans) if isinstance(spans, list) else None,
        )

    def to_value(self) -> dict[str, Any]:
        value: dict[str, Any] = {}
        if self.header_rows is not None:
            value["header_rows"] = self.header_rows
        if self.spans is not None:
            value["spans"] = [list(span) for span in sorted(self.spans)]
        return value


def _read_spans(raw: list[Any]) -> tuple[Span, ...] | None:
    out = []
    for item in raw:
        if not (
            isinstance(item, list) and len(item) == 4 and all(isinstance(v, int) for v in item)
        ):
            return None
        out.append((item[0], item[1], item[2], item[3]))
    return tuple(out)


def extracted_spans(table: Table) -> tuple[Span, ...]:
    """The extracted cells larger than one position."""
    return tuple(
        sorted(
            (c.row, c.col, c.row_span, c.col_span)
            for c in table.cells
            if c.row_span > 1 or c.col_span > 1
        )
    )


def shape_value(table: Table, header_rows: int) -> dict[str, Any]:
    """The old value of a table correction: the shape and structure it was made on."""
    return {
        "header_rows": header_rows,
        "n_rows": table.n_rows,
        "n_cols": table.n_cols,
        "spans": [list(span) for span in extracted_spans(table)],
    }


def _positions(span: Span) -> Iterable[tuple[int, int]]:
    row, col, row_span, col_span = span
    return ((r, c) for r in range(row, row + row_span) for c in range(col, col + col_span))


def valid_spans(spans: Sequence[Span], n_rows: int, n_cols: int) -> bool:
    """Spans inside the grid that do not overlap."""
    seen: set[tuple[int, int]] = set()
    for span in spans:
        row, col, row_span, col_span = span
        if row < 0 or col < 0 or row_span < 1 or col_span < 1:
            return False
        if row + row_span > n_rows or col + col_span > n_cols:
            return False
        cells = set(_positions(span))
        if cells & seen:
            return False
        seen |= cells
    return True


def layout(spans: Sequence[Span], n_rows: int, n_cols: int) -> list[Span]:
    """Every cell of the grid in reading order: the spans, and 1x1 cells everywhere else."""
    covered = {p for span in spans for p in _positions(span)}
    singles = [(r, c, 1, 1) for r in range(n_rows) for c in range(n_cols) if (r, c) not in covered]
    return sorted([*spans, *singles])


def span_at(spans: Sequence[Span], row: int, col: int) -> Span | None:
    """The span covering a position, if any."""
    for span in spans:
        if (row, col) in set(_positions(span)):
            return span
    return None


def merge(spans: Sequence[Span], rect: Span) -> tuple[Span, ...]:
    """Spans after merging a rectangle into one cell (grown to take in every span it cuts)."""
    row, col, row_span, col_span = rect
    r0, c0, r1, c1 = row, col, row + row_span, col + col_span
    grown = True
    while grown:  # a span sticking out of the rectangle joins it whole
        grown = False
        for s_row, s_col, s_rows, s_cols in spans:
            inside_rows = s_row < r1 and s_row + s_rows > r0
            inside_cols = s_col < c1 and s_col + s_cols > c0
            if not (inside_rows and inside_cols):
                continue
            nr0, nc0 = min(r0, s_row), min(c0, s_col)
            nr1, nc1 = max(r1, s_row + s_rows), max(c1, s_col + s_cols)
            if (nr0, nc0, nr1, nc1) != (r0, c0, r1, c1):
                r0, c0, r1, c1 = nr0, nc0, nr1, nc1
                grown = True
    kept = [s for s in spans if not (s[0] >= r0 and s[1] >= c0 and s[0] < r1 and s[1] < c1)]
    if (r1 - r0, c1 - c0) != (1, 1):
        kept.append((r0, c0, r1 - r0, c1 - c0))
    return tuple(sorted(kept))


def merge_rows(spans: Sequence[Span], n_cols: int, row: int, n_rows: int) -> tuple[Span, ...]:
    """Spans after reading `n_rows` rows from `row` as one row: each column's cells merged
    (a cell spanning columns takes its columns along)."""
    return _merge_band(spans, row, n_rows, n_cols, across_rows=True)


def merge_cols(spans: Sequence[Span], n_rows: int, col: int, n_cols: int) -> tuple[Span, ...]:
    """Spans after reading `n_cols` columns from `col` as one column: each row's cells merged."""
    return _merge_band(spans, col, n_cols, n_rows, across_rows=False)


def _merge_band(
    spans: Sequence[Span], start: int, size: int, length: int, across_rows: bool
) -> tuple[Span, ...]:
    out = tuple(spans)
    at = 0
    while at < length:
        rect = (start, at, size, 1) if across_rows else (at, start, 1, size)
        out = merge(out, rect)
        merged = span_at(out, rect[0], rect[1])
        if merged is None:
            at += 1
        else:  # go on after the merged cell (it may have taken neighbours along)
            at = merged[1] + merged[3] if across_rows else merged[0] + merged[2]
    return out


def split(spans: Sequence[Span], rect: Span) -> tuple[Span, ...]:
    """Spans after splitting every merged cell that meets a rectangle into 1x1 cells."""
    inside = set(_positions(rect))
    return tuple(s for s in spans if not inside & set(_positions(s)))


StructureEdit = Literal["merge", "split", "merge_rows", "merge_cols"]


def edit_spans(
    spans: Sequence[Span], edit: StructureEdit, rect: Span, n_rows: int, n_cols: int
) -> tuple[Span, ...]:
    """Spans after one structure edit of a table's rectangle `rect` (merge its cells, split the
    merged cells it meets, or read its rows or columns as one)."""
    if edit == "merge":
        return merge(spans, rect)
    if edit == "split":
        return split(spans, rect)
    if edit == "merge_rows":
        return merge_rows(spans, n_cols, rect[0], rect[2])
    return merge_cols(spans, n_rows, rect[1], rect[3])


def reviewed_text(text: str, change: tuple[str | None, Any]) -> str | None:
    """A cell's text after the correction in force on it (None: no correction)."""
    action, value = change
    if action == "delete":
        return ""
    if action == "edit" and value is not None:
        return str(value)
    return None


def apply_table_review(table: Table, value: Any, change: CellChange) -> None:
    """Apply a table's state (its table correction's new value, or None) and its cell text
    corrections to `table` in place."""
    state = TableState.from_value(value)
    spans = state.spans
    if spans is None or not valid_spans(spans, table.n_rows, table.n_cols):
        for cell in table.cells:
            text = reviewed_text(cell.text, change(cell.id, _legacy_id(table, cell)))
            if text is not None:
                cell.text = text
                cell.confidence = 1.0
    else:
        table.cells = _restructured(table, spans, change)
    if state.header_rows is not None:  # the reviewer said how many leading rows are the header
        for cell in table.cells:
            cell.is_header = cell.row < state.header_rows


def _legacy_id(table: Table, cell: Cell) -> str:
    return f"{table.id}:{cell.row}:{cell.col}"


def _restructured(table: Table, spans: Sequence[Span], change: CellChange) -> list[Cell]:
    rects = layout(spans, table.n_rows, table.n_cols)
    owner = {p: rect for rect in rects for p in _positions(rect)}
    members: dict[Span, list[Cell]] = {rect: [] for rect in rects}
    for cell in sorted(table.cells, key=lambda c: (c.row, c.col)):
        rect = owner.get((cell.row, cell.col))
        if rect is not None:
            members[rect].append(cell)
    return [_layout_cell(table, rect, members[rect], change) for rect in rects]


def _layout_cell(table: Table, rect: Span, cells: list[Cell], change: CellChange) -> Cell:
    """One cell of the reviewed layout from the extracted cells whose top-left it holds."""
    row, col, row_span, col_span = rect
    start = next((c for c in cells if (c.row, c.col) == (row, col)), None)
    texts = [_text_as_reviewed(table, c, change) for c in cells]
    if start is not None and len(cells) == 1 and (start.row_span, start.col_span) == rect[2:]:
        same = start.model_copy(deep=True)  # this cell is as extracted: only its text changes
        if texts[0] != start.text:
            same.text, same.confidence = texts[0], 1.0
        return same
    cell_id = start.id if start is not None and start.id else f"{table.id}-c{row}-{col}"
    own = reviewed_text("", change(cell_id, f"{table.id}:{row}:{col}"))
    return Cell(
        id=cell_id,
        row=row,
        col=col,
        row_span=row_span,
        col_span=col_span,
        text=own if own is not None else " ".join(t for t in texts if t.strip()),
        bbox=_box(table.cells, rect),
        is_header=any(c.is_header for c in _covering(table.cells, row, col)),
        confidence=1.0,  # a cell the reviewer made
        word_ids=[w for c in cells for w in c.word_ids],
    )


def _text_as_reviewed(table: Table, cell: Cell, change: CellChange) -> str:
    text = reviewed_text(cell.text, change(cell.id, _legacy_id(table, cell)))
    return cell.text if text is None else text


def _covering(cells: Iterable[Cell], row: int, col: int) -> list[Cell]:
    return [
        c
        for c in cells
        if c.row <= row < c.row + max(1, c.row_span) and c.col <= col < c.col + max(1, c.col_span)
    ]


def _box(cells: Sequence[Cell], rect: Span) -> list[float] | None:
    """Union of the parts of the extracted boxes inside `rect` (a box spanning k positions is
    divided evenly among them)."""
    parts = []
    for r, c in _positions(rect):
        for cell in _covering(cells, r, c):
            if cell.bbox is None:
                continue
            x0, y0, x1, y1 = cell.bbox
            w = (x1 - x0) / max(1, cell.col_span)
            h = (y1 - y0) / max(1, cell.row_span)
            i, j = c - cell.col, r - cell.row
            parts.append((x0 + w * i, y0 + h * j, x0 + w * (i + 1), y0 + h * (j + 1)))
    if not parts:
        return None
    xs0, ys0, xs1, ys1 = zip(*parts, strict=True)
    return [min(xs0), min(ys0), max(xs1), max(ys1)]
