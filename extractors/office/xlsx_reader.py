"""XLSX -> one `NativePage` per visible sheet: the sheet name as a title, every connected region
of filled cells as a table (placed where it sits on the sheet's grid of column widths and row
heights), pictures and charts as figures, cell comments as text after them.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from typing import Any, BinaryIO
from xml.etree import ElementTree

import openpyxl
from openpyxl.utils import get_column_letter

from extractors.office.charts import ChartData, read_chart
from extractors.office.native import CellSpec, NativePage, PageBuilder, wrap

log = logging.getLogger(__name__)

SOURCE = "office.xlsx"
MARGIN_PT, TITLE_PT, CELL_PT, NOTE_PT = 36.0, 14.0, 9.0, 9.0
Grid = tuple[int, int]  # (row, col), 1-based as in the sheet


def read_xlsx(source: str | BinaryIO) -> list[NativePage]:
    if isinstance(source, str):
        # openpyxl refuses a path whose extension is not .xlsx/.xlsm/.xltx/.xltm ("does not
        # support .bin file format"), though the package says what it is: give it the bytes.
        with open(source, "rb") as stream:
            return read_xlsx(stream)
    # data_only: the values Excel computed and saved, which is what a reader sees
    book = openpyxl.load_workbook(source, data_only=True)
    try:
        sheets = [ws for ws in book.worksheets if ws.sheet_state == "visible"]
        hidden = len(book.worksheets) - len(sheets)
        if hidden:
            log.info("%d hidden sheet(s) left out", hidden)
        return [_sheet(ws, index) for index, ws in enumerate(sheets)]
    finally:
        book.close()


def cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime) and value.time() == dt.time():
        return value.date().isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return str(value).strip()


def regions(filled: Iterable[Grid]) -> list[tuple[int, int, int, int]]:
    """Bounding rectangles (r0, c0, r1, c1, inclusive) of 4-connected groups of cells, merged
    while they overlap, ordered top to bottom then left to right."""
    todo = set(filled)
    boxes: list[tuple[int, int, int, int]] = []
    while todo:
        stack = [todo.pop()]
        rows, cols = [stack[0][0]], [stack[0][1]]
        while stack:
            r, c = stack.pop()
            for nb in ((r + 1, c), (r - 1, c), (r, c + 1), (r, c - 1)):
                if nb in todo:
                    todo.remove(nb)
                    stack.append(nb)
                    rows.append(nb[0])
                    cols.append(nb[1])
        boxes.append((min(rows), min(cols), max(rows), max(cols)))
    merged = True
    while merged:  # rectangles of two groups can overlap (an L-shape beside a block)
        merged = False
        for i in range(len(boxes)):
            for j in range(i + 1, len(boxes)):
                a, b = boxes[i], boxes[j]
                if a[0] <= b[2] and b[0] <= a[2] and a[1] <= b[3] and b[1] <= a[3]:
                    boxes[i] = (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))
                    del boxes[j]
                    merged = True
                    break
            if merged:
                break
    return sorted(boxes)


def _sheet(ws: Any, index: int) -> NativePage:
    values: dict[Grid, str] = {}
    for (r, c), cell in ws._cells.items():  # only cells stored in the file (inflated sheets)
        text = cell_text(cell.value)
        if text:
            values[(r, c)] = text
    spans: dict[Grid, tuple[int, int]] = {}
    covered: set[Grid] = set()
    for rng in ws.merged_cells.ranges:
        rows = range(rng.min_row, rng.max_row + 1)
        cols = range(rng.min_col, rng.max_col + 1)
        spans[(rng.min_row, rng.min_col)] = (len(rows), len(cols))
        covered |= {(r, c) for r in rows for c in cols}
    filled = set(values) | {g for g in covered if _origin_filled(g, spans, values)}
    last_row = max((r for r, _ in filled), default=1) + 1
    last_col = max((c for _, c in filled), default=1) + 1
    xs = _edges([_col_width(ws, c) for c in range(1, last_col + 1)], MARGIN_PT)
    ys = _edges([_row_height(ws, r) for r in range(1, last_row + 1)], MARGIN_PT + TITLE_PT * 2)
    builder = PageBuilder(index, xs[-1] + MARGIN_PT, ys[-1] + MARGIN_PT, SOURCE)
    title_box = (MARGIN_PT, MARGIN_PT, xs[-1], MARGIN_PT + TITLE_PT * 1.25)
    title = wrap(ws.title, max(xs[-1] - MARGIN_PT, 100.0), TITLE_PT)
    builder.text("title", title, title_box, TITLE_PT)
    for r0, c0, r1, c1 in regions(filled):
        cells = []
        for (r, c), text in sorted(values.items()):
            if r0 <= r <= r1 and c0 <= c <= c1 and ((r, c) in spans or (r, c) not in covered):
                rs, cs = spans.get((r, c), (1, 1))
                rs, cs = min(rs, r1 - r + 1), min(cs, c1 - c + 1)
                cells.append(CellSpec(r - r0, c - c0, text, rs, cs, is_header=r == r0))
        builder.table(cells, xs[c0 - 1 : c1 + 1], ys[r0 - 1 : r1 + 1], CELL_PT)
    for anchor, picture, chart in _drawings(ws):
        r, c = anchor
        x, y = xs[min(c, len(xs) - 1)], ys[min(r, len(ys) - 1)]
        builder.figure((x, y, x + 240.0, y + 160.0), picture)
        if chart is not None:
            _chart(builder, chart, x, y + 164.0)
    y = builder.bottom() + CELL_PT
    for note in _comments(ws):
        lines = wrap(note, 400.0, NOTE_PT)
        y = builder.text("text", lines, (MARGIN_PT, y, MARGIN_PT + 400.0, y + 1e6), NOTE_PT) + 4.0
    builder.items.sort(key=lambda item: (item.kind != "title", item.box[1], item.box[0]))
    return builder.finish()


def _origin_filled(g: Grid, spans: dict[Grid, tuple[int, int]], values: dict[Grid, str]) -> bool:
    """A cell covered by a merged range counts as filled when the range's origin holds text."""
    for (r, c), (rs, cs) in spans.items():
        if r <= g[0] < r + rs and c <= g[1] < c + cs:
            return (r, c) in values
    return False


def _edges(sizes: list[float], start: float) -> list[float]:
    edges = [start]
    for size in sizes:
        edges.append(edges[-1] + size)
    return edges


def _col_width(ws: Any, col: int) -> float:
    dim = ws.column_dimensions.get(get_column_letter(col))
    chars = dim.width if dim is not None and dim.width else ws.sheet_format.defaultColWidth
    return float(chars or 8.43) * 5.25 + 3.75  # Excel's character width (Calibri 11) in points


def _row_height(ws: Any, row: int) -> float:
    dim = ws.row_dimensions.get(row)
    height = dim.height if dim is not None and dim.height else ws.sheet_format.defaultRowHeight
    return float(height or 15.0)


def _drawings(ws: Any) -> list[tuple[Grid, bytes | None, ChartData | None]]:
    """Pictures (with their bytes) and charts (with their data), by 0-based anchor cell."""
    out: list[tuple[Grid, bytes | None, ChartData | None]] = []
    for item in [*getattr(ws, "_images", []), *getattr(ws, "_charts", [])]:
        marker = getattr(getattr(item, "anchor", None), "_from", None)
        anchor = (int(marker.row), int(marker.col)) if marker is not None else (0, 0)
        data: bytes | None = None
        chart: ChartData | None = None
        try:
            if hasattr(item, "_data"):
                data = item._data()
            elif hasattr(item, "_write"):  # openpyxl keeps the chart part's cached values
                chart = read_chart(ElementTree.tostring(item._write()))
        except Exception:  # a part openpyxl cannot read back: keep the figure
            log.info("sheet %r: a drawing could not be read back", ws.title)
        out.append((anchor, data, chart))
    return out


def _chart(builder: PageBuilder, chart: ChartData, x: float, y: float) -> None:
    """A chart's title and data below its figure."""
    if chart.title:
        lines = wrap(chart.title, 240.0, CELL_PT)
        y = builder.text("caption", lines, (x, y, x + 240.0, y + 1e6), CELL_PT) + 4.0
    if chart.cells:
        n_rows = max(c.row for c in chart.cells) + 1
        cols = [x + 60.0 * i for i in range(chart.n_cols + 1)]
        rows = [y + 15.0 * i for i in range(n_rows + 1)]
        builder.table(chart.cells, cols, rows, CELL_PT)


def _comments(ws: Any) -> list[str]:
    notes = []
    for (r, c), cell in sorted(ws._cells.items()):
        if cell.comment is None:
            continue
        text = str(cell.comment.text or "")
        if text.startswith("[Threaded comment]") and "Comment:" in text:
            # Excel's fallback copy of a threaded comment: keep the thread, not the notice.
            thread = text.split("Comment:", 1)[1].replace("Reply:", "")
            text = " ".join(thread.split())
        author = str(cell.comment.author or "")
        if author.startswith("tc="):
            author = ""
        label = f"{get_column_letter(c)}{r}" + (f" ({author})" if author else "")
        notes.append(f"Comment {label}: {' '.join(text.split())}")
    return notes
