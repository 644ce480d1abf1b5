"""PPTX -> one `NativePage` per slide, at the slide's real geometry (shape frames are positions
the file defines): titles, text frames (bulleted paragraphs as lists), tables with merged cells,
pictures. Shapes are read title first, then top to bottom, left to right; groups are flattened.
Speaker notes are not page content and are left out.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any, BinaryIO

import pptx
from pptx.enum.shapes import MSO_SHAPE_TYPE, PP_PLACEHOLDER

from extractors.document import BlockKind
from extractors.office.charts import read_chart
from extractors.office.native import CellSpec, NativePage, PageBuilder, wrap

log = logging.getLogger(__name__)

SOURCE = "office.pptx"
EMU_PER_PT = 12700
DEFAULT_PT, TITLE_PT = 18.0, 32.0
_TITLES = frozenset({PP_PLACEHOLDER.TITLE, PP_PLACEHOLDER.CENTER_TITLE, PP_PLACEHOLDER.SUBTITLE})
_BODIES = frozenset({PP_PLACEHOLDER.BODY, PP_PLACEHOLDER.OBJECT})
_A = "{http://schemas.openxmlformats.org/drawingml/2006/main}"


def read_pptx(source: str | BinaryIO) -> list[NativePage]:
    deck = pptx.Presentation(source)
    width = (deck.slide_width or 9144000) / EMU_PER_PT
    height = (deck.slide_height or 6858000) / EMU_PER_PT
    return [_slide(slide, index, width, height) for index, slide in enumerate(deck.slides)]


def _shapes(shapes: Any) -> Iterator[Any]:
    for shape in shapes:
        if shape.shape_type == MSO_SHAPE_TYPE.GROUP:
            yield from _shapes(shape.shapes)
        else:
            yield shape


def _is_title(shape: Any) -> bool:
    try:
        return bool(shape.is_placeholder and shape.placeholder_format.type in _TITLES)
    except ValueError:  # a placeholder without a type
        return False


def _frame(shape: Any, width: float, height: float) -> tuple[float, float, float, float]:
    x = (shape.left or 0) / EMU_PER_PT
    y = (shape.top or 0) / EMU_PER_PT
    w = (shape.width or 0) / EMU_PER_PT or width / 2
    h = (shape.height or 0) / EMU_PER_PT or DEFAULT_PT * 2
    x, y = min(max(x, 0.0), width - 1), min(max(y, 0.0), height - 1)
    return x, y, min(width, x + w), min(height, y + h)


def _slide(slide: Any, index: int, width: float, height: float) -> NativePage:
    builder = PageBuilder(index, width, height, SOURCE)
    shapes = list(_shapes(slide.shapes))
    shapes.sort(key=lambda s: (not _is_title(s), s.top or 0, s.left or 0))
    for shape in shapes:
        box = _frame(shape, width, height)
        if getattr(shape, "has_table", False) and shape.has_table:
            _table(builder, shape.table, box)
        elif shape.shape_type == MSO_SHAPE_TYPE.PICTURE or _has_picture_fill(shape):
            builder.figure(box, _picture(shape, index))
        elif getattr(shape, "has_chart", False) and shape.has_chart:
            builder.figure(box, None)
            _chart(builder, shape, box)
        elif shape.has_text_frame:
            _text(builder, shape, box)
    return builder.finish()


def _chart(builder: PageBuilder, shape: Any, box: tuple[float, float, float, float]) -> None:
    """A chart's title and cached data, laid over its frame (the slide has no room below)."""
    try:
        chart = read_chart(shape.chart.part.blob)
    except (KeyError, AttributeError, ValueError):  # a dangling or malformed chart part
        return
    if chart is None:
        return
    x0, y0, x1, y1 = box
    if chart.title:
        y0 = builder.text("caption", wrap(chart.title, x1 - x0, 12.0), (x0, y0, x1, y1), 12.0)
    if chart.cells:
        n_rows = max(c.row for c in chart.cells) + 1
        step = min(15.0, (y1 - y0) / n_rows)
        cols = [x0 + (x1 - x0) * i / chart.n_cols for i in range(chart.n_cols + 1)]
        builder.table(chart.cells, cols, [y0 + step * i for i in range(n_rows + 1)], 9.0)


def _has_picture_fill(shape: Any) -> bool:
    return shape.shape_type == MSO_SHAPE_TYPE.PLACEHOLDER and hasattr(shape, "image")


def _picture(shape: Any, index: int) -> bytes | None:
    try:
        return bytes(shape.image.blob)
    except (AttributeError, KeyError, ValueError, Exception) as error:  # malformed or linked
        log.info("slide %d: picture %r has no readable image (%s)", index + 1, shape.name, error)
        return None


def _font_pt(paragraph: Any, default: float) -> float:
    for run in paragraph.runs:
        if run.font.size is not None:
            return float(run.font.size.pt)
    return default


def _is_bullet(paragraph: Any, inherited: bool) -> bool:
    """Bulleted: said by the paragraph, else inherited (body placeholders are bulleted by the
    slide master unless a paragraph says `buNone`)."""
    ppr = paragraph._p.pPr
    if ppr is not None and ppr.find(f"{_A}buNone") is not None:
        return False
    if ppr is not None and (
        ppr.find(f"{_A}buChar") is not None or ppr.find(f"{_A}buAutoNum") is not None
    ):
        return True
    return inherited


def _is_body(shape: Any) -> bool:
    try:
        return bool(shape.is_placeholder and shape.placeholder_format.type in _BODIES)
    except ValueError:
        return False


def _text(builder: PageBuilder, shape: Any, box: tuple[float, float, float, float]) -> None:
    """A text frame: consecutive bulleted paragraphs form a list block, the rest text blocks."""
    title, body = _is_title(shape), _is_body(shape)
    x0, y0, x1, y1 = box
    runs: list[tuple[BlockKind, list[str], float]] = []
    for paragraph in shape.text_frame.paragraphs:
        text = " ".join(paragraph.text.replace("\v", " ").split())  # \v: a line break
        if not text:
            continue
        font = _font_pt(paragraph, TITLE_PT if title else DEFAULT_PT)
        kind: BlockKind = "title" if title else ("list" if _is_bullet(paragraph, body) else "text")
        lines = wrap(text, max(x1 - x0, 20.0), font)
        if runs and runs[-1][0] == kind and kind != "text":
            runs[-1][1].extend(lines)
        else:
            runs.append((kind, lines, font))
    total = sum(font * 1.25 * len(lines) for _, lines, font in runs) or 1.0
    squeeze = min(1.0, (y1 - y0) / total)  # text overflowing its frame: keep it inside, in order
    y = y0
    for kind, lines, font in runs:
        bottom = y + font * 1.25 * len(lines) * squeeze
        y = builder.text(kind, lines, (x0, y, x1, bottom), font)


def _table(builder: PageBuilder, table: Any, box: tuple[float, float, float, float]) -> None:
    x0, y0, _, _ = box
    col_edges, row_edges = [x0], [y0]
    for column in table.columns:
        col_edges.append(col_edges[-1] + (column.width or 0) / EMU_PER_PT)
    for row in table.rows:
        row_edges.append(row_edges[-1] + (row.height or 0) / EMU_PER_PT)
    header = bool(table.first_row)
    cells: list[CellSpec] = []
    for r, row in enumerate(table.rows):
        for c, cell in enumerate(row.cells):
            if cell.is_spanned:
                continue  # covered by a merge origin
            rs, cs = (cell.span_height, cell.span_width) if cell.is_merge_origin else (1, 1)
            text = "\n".join(p.text for p in cell.text_frame.paragraphs if p.text.strip())
            cells.append(CellSpec(r, c, text, rs, cs, is_header=header and r == 0))
    builder.table(cells, col_edges, row_edges, 10.0)
