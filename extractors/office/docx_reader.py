"""DOCX -> one `NativePage` per section: headings, list items (with their numbers), paragraphs,
tables and pictures in body order, stacked top to bottom inside the section's margins.

The body XML is walked directly (python-docx gives the parts, styles and relationships) so that
content controls, text boxes, equations and hyperlinks keep their text and their place.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO

import docx
from docx.oxml.ns import qn
from docx.section import Section

from extractors.document import BlockKind
from extractors.office.charts import ChartData, read_chart
from extractors.office.native import CellSpec, NativePage, PageBuilder, wrap

SOURCE = "office.docx"
BODY_PT, HEADING_PT, TABLE_PT = 11.0, 15.0, 10.0
GAP_PT = 6.0  # space after a block
EMU_PER_PT = 12700
TWIPS_PER_PT = 20
_MC_FALLBACK = "{http://schemas.openxmlformats.org/markup-compatibility/2006}Fallback"
_M_T = "{http://schemas.openxmlformats.org/officeDocument/2006/math}t"
_M_MATH = "{http://schemas.openxmlformats.org/officeDocument/2006/math}oMath"
_A_BLIP = "{http://schemas.openxmlformats.org/drawingml/2006/main}blip"
_V_IMAGEDATA = "{urn:schemas-microsoft-com:vml}imagedata"
_WP_EXTENT = "{http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing}extent"
_C_CHART = "{http://schemas.openxmlformats.org/drawingml/2006/chart}chart"
_R_EMBED = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}embed"
_R_ID = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
_HEADING = re.compile(r"^(heading|title|subtitle|überschrift|titre)", re.IGNORECASE)
_BULLET_FORMATS = frozenset({"bullet", "none", ""})


def read_docx(source: str | BinaryIO) -> list[NativePage]:
    document = docx.Document(source)
    reader = _DocxReader(document)
    return reader.pages()


@dataclass
class _Numbering:
    """List numbers as Word shows them: counters per abstract numbering and level, so a list
    interrupted by another one resumes where it stopped."""

    formats: dict[tuple[str, int], tuple[str, int]] = field(default_factory=dict)
    abstract_of: dict[str, str] = field(default_factory=dict)
    counters: dict[tuple[str, int], int] = field(default_factory=dict)

    @classmethod
    def of(cls, document: Any) -> _Numbering:
        numbering = cls()
        try:
            root = document.part.numbering_part.element
        except (KeyError, NotImplementedError, AttributeError):  # no numbering part
            return numbering
        for abstract in root.iterchildren(qn("w:abstractNum")):
            aid = abstract.get(qn("w:abstractNumId"))
            for lvl in abstract.iterchildren(qn("w:lvl")):
                fmt = lvl.find(qn("w:numFmt"))
                start = lvl.find(qn("w:start"))
                numbering.formats[(aid, int(lvl.get(qn("w:ilvl"), "0")))] = (
                    fmt.get(qn("w:val"), "") if fmt is not None else "",
                    int(start.get(qn("w:val"), "1")) if start is not None else 1,
                )
        for num in root.iterchildren(qn("w:num")):
            ref = num.find(qn("w:abstractNumId"))
            if ref is not None:
                numbering.abstract_of[num.get(qn("w:numId"))] = ref.get(qn("w:val"))
        return numbering

    def label(self, num_id: str, level: int) -> str:
        """The number of the next item ("3.") or "" for bullets."""
        aid = self.abstract_of.get(num_id)
        if aid is None:
            return ""
        fmt, start = self.formats.get((aid, level), ("", 1))
        value = self.counters.get((aid, level), start - 1) + 1
        self.counters[(aid, level)] = value
        for key in [k for k in self.counters if k[0] == aid and k[1] > level]:
            del self.counters[key]  # a deeper list restarts under a new parent item
        if fmt in _BULLET_FORMATS:
            return ""
        if fmt in ("lowerLetter", "upperLetter"):
            letter = chr(ord("a") + (value - 1) % 26)
            return (letter.upper() if fmt == "upperLetter" else letter) + "."
        return f"{value}."


def paragraph_text(element: Any) -> str:
    """Visible text of a paragraph (or any subtree): runs, hyperlinks, content controls, text
    boxes and equations; markup-compatibility fallbacks are skipped (they repeat the choice)."""
    parts: list[str] = []

    def visit(node: Any) -> None:
        tag = node.tag
        if tag == _MC_FALLBACK or tag == qn("w:del"):
            return
        if tag in (qn("w:t"), _M_T) and node.text:
            parts.append(node.text)
        elif tag in (qn("w:tab"), qn("w:ptab")):
            parts.append(" ")
        elif tag in (qn("w:br"), qn("w:cr")) or (tag == qn("w:p") and parts):
            parts.append("\n")
        elif tag == _M_MATH:  # neighbouring equations are separate expressions
            parts.append(" ")
        for child in node:
            if isinstance(child.tag, str):
                visit(child)

    visit(element)
    return "".join(parts).strip()


class _DocxReader:
    def __init__(self, document: Any) -> None:
        self.document = document
        self.part = document.part
        self.numbering = _Numbering.of(document)
        self.styles: dict[str, str] = {}
        self.style_lists: dict[str, str] = {}  # style id -> numId of list styles ("List Number")
        for style in document.styles:
            try:
                self.styles[style.style_id] = style.name or ""
                num_id = style.element.find(f"{qn('w:pPr')}/{qn('w:numPr')}/{qn('w:numId')}")
            except (AttributeError, ValueError):
                continue
            if num_id is not None:
                self.style_lists[style.style_id] = num_id.get(qn("w:val"), "")
        self.builder: PageBuilder | None = None
        self.pages_: list[NativePage] = []
        self.y = 0.0
        self.frame = (72.0, 468.0)  # content left, width

    def pages(self) -> list[NativePage]:
        body = self.document.element.body
        sections = [Section(s, self.part) for s in body.xpath(".//w:sectPr")]
        section_iter = iter(sections)
        self._start(next(section_iter, None))
        for kind, element in self._content(body):
            if kind == "p":
                self._paragraph(element)
                if element.find(f"{qn('w:pPr')}/{qn('w:sectPr')}") is not None:
                    self._end()
                    self._start(next(section_iter, None))
            else:
                self._table(element)
        self._end()
        return self.pages_

    def _content(self, container: Any) -> Iterator[tuple[str, Any]]:
        """Paragraphs and tables in order, looking through content controls and insertions."""
        for child in container.iterchildren():
            if child.tag == qn("w:p"):
                yield "p", child
            elif child.tag == qn("w:tbl"):
                yield "tbl", child
            elif child.tag in (qn("w:sdt"), qn("w:sdtContent"), qn("w:ins"), qn("w:customXml")):
                yield from self._content(child)

    # --- sections -------------------------------------------------------------------------------

    def _start(self, section: Section | None) -> None:
        width, height, left, right, top = 612.0, 792.0, 72.0, 72.0, 72.0
        if section is not None:
            width = _pt(section.page_width, width)
            height = _pt(section.page_height, height)
            left = _pt(section.left_margin, left)
            right = _pt(section.right_margin, right)
            top = _pt(section.top_margin, top)
        self.builder = PageBuilder(len(self.pages_), width, height, SOURCE)
        self.frame = (left, max(72.0, width - left - right))
        self.y = top
        self.bottom_margin = top
        if section is not None:
            self._header(section)

    def _header(self, section: Section) -> None:
        try:
            text = "\n".join(p.text for p in section.header.paragraphs if p.text.strip())
        except (KeyError, ValueError, AttributeError):  # a dangling header relationship
            return
        lines = wrap(text, self.frame[1], 9.0)
        if lines and self.builder is not None:
            top = max(18.0, self.y / 2 - 9.0 * len(lines))
            box = (self.frame[0], top, self.frame[0] + self.frame[1], self.y)
            self.builder.text("header", lines, box, 9.0)

    def _end(self) -> None:
        if self.builder is not None:
            self.pages_.append(self.builder.finish(self.y + self.bottom_margin))
            self.builder = None

    # --- blocks ---------------------------------------------------------------------------------

    def _add_text(self, kind: BlockKind, text: str, font_pt: float, indent: float = 0.0) -> None:
        assert self.builder is not None
        left, width = self.frame
        lines = wrap(text, width - indent, font_pt)
        if not lines:
            return
        box = (left + indent, self.y, left + width, self.y + font_pt * 1.25 * len(lines))
        self.y = self.builder.text(kind, lines, box, font_pt) + GAP_PT

    def _paragraph(self, p: Any) -> None:
        style_id = self._style_id(p)
        style = self.styles.get(style_id, style_id)
        text = paragraph_text(p)
        num = p.find(f"{qn('w:pPr')}/{qn('w:numPr')}")
        if text:
            if _HEADING.match(style) or p.find(f"{qn('w:pPr')}/{qn('w:outlineLvl')}") is not None:
                self._add_text("title", text, HEADING_PT)
            elif (
                num is not None or style_id in self.style_lists or style.lower().startswith("list")
            ):
                level = _int_attr(num, "w:ilvl") if num is not None else 0
                num_id = _attr(num, "w:numId") if num is not None else ""
                num_id = num_id or self.style_lists.get(style_id, "")
                label = self.numbering.label(num_id, level) if num_id else ""
                item = f"{label} {text}" if label else text
                self._add_text("list", item, BODY_PT, indent=18.0 * (level + 1))
            else:
                self._add_text("text", text, BODY_PT)
        for picture, size in self._pictures(p):
            self._figure(picture, size)
        for chart, size in self._charts(p):
            self._figure(None, size)
            if chart.title:
                self._add_text("caption", chart.title, BODY_PT)
            self._grid_table(chart.cells, chart.n_cols, [])

    def _style_id(self, p: Any) -> str:
        style = p.find(f"{qn('w:pPr')}/{qn('w:pStyle')}")
        return str(style.get(qn("w:val"), "")) if style is not None else ""

    def _pictures(self, p: Any) -> Iterator[tuple[bytes | None, tuple[float, float]]]:
        """Embedded pictures of a paragraph with their size in points (linked ones: no bytes)."""
        for node in p.iter(_A_BLIP, _V_IMAGEDATA):
            if any(a.tag == _MC_FALLBACK for a in node.iterancestors()):
                continue
            rid = node.get(_R_EMBED) or node.get(_R_ID)
            blob: bytes | None = None
            if rid:
                try:
                    blob = self.part.related_parts[rid].blob
                except (KeyError, AttributeError):  # external (linked) or dangling picture
                    blob = None
            yield blob, _extent(node, (200.0, 150.0))

    def _charts(self, p: Any) -> Iterator[tuple[ChartData, tuple[float, float]]]:
        """Charts of a paragraph: their cached data and their size in points."""
        for node in p.iter(_C_CHART):
            try:
                chart = read_chart(self.part.related_parts[node.get(_R_ID)].blob)
            except (KeyError, AttributeError):  # a dangling chart relationship
                chart = None
            if chart is not None:
                yield chart, _extent(node, (360.0, 216.0))

    def _figure(self, picture: bytes | None, size: tuple[float, float]) -> None:
        assert self.builder is not None
        left, width = self.frame
        w, h = size
        if w > width:  # keep the aspect ratio inside the text column
            w, h = width, h * width / w
        self.builder.figure((left, self.y, left + w, self.y + h), picture)
        self.y += h + GAP_PT

    def _table(self, tbl: Any) -> None:
        assert self.builder is not None
        rows = list(tbl.iterchildren(qn("w:tr")))
        only = rows[0].findall(qn("w:tc")) if len(rows) == 1 else []
        if len(only) == 1:  # a one-cell table is a frame around content: read the content
            for kind, element in self._content(only[0]):
                self._paragraph(element) if kind == "p" else self._table(element)
            return
        cells, n_cols = table_cells(tbl, self.numbering)
        columns = tbl.find(qn("w:tblGrid"))
        columns = columns.iterchildren(qn("w:gridCol")) if columns is not None else []
        self._grid_table(cells, n_cols, [_int_attr(c, "w:w") / TWIPS_PER_PT for c in columns])

    def _grid_table(self, cells: list[CellSpec], n_cols: int, grid: list[float]) -> None:
        """A table across the text column (Word's column widths, scaled to fit); row heights
        from the wrapped text of the cells."""
        assert self.builder is not None
        if not cells:
            return
        left, width = self.frame
        if len(grid) != n_cols or sum(grid) <= 0:
            grid = [width / n_cols] * n_cols
        scale = min(1.0, width / sum(grid))
        col_edges = [left]
        for w in grid:
            col_edges.append(col_edges[-1] + w * scale)
        n_rows = max(c.row + c.row_span for c in cells)
        heights = [TABLE_PT * 1.25 + 4.0] * n_rows
        for cell in cells:
            if cell.row_span == 1:
                span_w = col_edges[min(n_cols, cell.col + cell.col_span)] - col_edges[cell.col]
                n_lines = len(wrap(cell.text, max(span_w - 4.0, 8.0), TABLE_PT))
                heights[cell.row] = max(heights[cell.row], n_lines * TABLE_PT * 1.25 + 4.0)
        row_edges = [self.y]
        for h in heights:
            row_edges.append(row_edges[-1] + h)
        self.builder.table(cells, col_edges, row_edges, TABLE_PT)
        self.y = row_edges[-1] + GAP_PT


def table_cells(tbl: Any, numbering: _Numbering | None = None) -> tuple[list[CellSpec], int]:
    """Cells of a Word table with spans: `gridSpan` across, `vMerge` down; nested tables are
    part of their cell's text. The first row (or rows marked as repeating headers) is header."""
    rows = [tr for tr in tbl.iterchildren(qn("w:tr"))]
    marked = [tr.find(f"{qn('w:trPr')}/{qn('w:tblHeader')}") is not None for tr in rows]
    cells: list[CellSpec] = []
    open_merges: dict[int, CellSpec] = {}
    n_cols = 0
    for r, tr in enumerate(rows):
        col = _int_attr(tr.find(f"{qn('w:trPr')}/{qn('w:gridBefore')}"), "w:val")
        for tc in tr.iterchildren(qn("w:tc")):
            props = tc.find(qn("w:tcPr"))
            span = max(1, _int_attr(_child(props, "w:gridSpan"), "w:val") or 1)
            merge = _child(props, "w:vMerge")
            if merge is not None and merge.get(qn("w:val"), "continue") == "continue":
                above = open_merges.get(col)
                if above is not None:
                    above.row_span += 1
                    col += span
                    continue
            parts = [_numbered(child, numbering) for _, child in _cell_content(tc)]
            text = "\n".join(t for t in parts if t)
            header = marked[r] if any(marked) else r == 0
            cell = CellSpec(r, col, text, col_span=span, is_header=header)
            cells.append(cell)
            open_merges[col] = cell
            col += span
        n_cols = max(n_cols, col)
    return cells, max(1, n_cols)


def _numbered(element: Any, numbering: _Numbering | None) -> str:
    """Text of a paragraph with its list number ("2. Second"), or of a nested table."""
    text = paragraph_text(element)
    num = element.find(f"{qn('w:pPr')}/{qn('w:numPr')}")
    if numbering is None or num is None or not text:
        return text
    label = numbering.label(_attr(num, "w:numId"), _int_attr(num, "w:ilvl"))
    return f"{label} {text}" if label else text


def _cell_content(tc: Any) -> Iterator[tuple[str, Any]]:
    """Paragraphs and nested tables of a cell, in order (through content controls)."""
    for child in tc.iterchildren():
        if child.tag in (qn("w:p"), qn("w:tbl")):
            yield child.tag, child
        elif child.tag in (qn("w:sdt"), qn("w:sdtContent")):
            yield from _cell_content(child)


def _extent(node: Any, default: tuple[float, float]) -> tuple[float, float]:
    """Size in points of the drawing holding `node` (`wp:extent`), else `default`."""
    for ancestor in node.iterancestors():
        extent = ancestor.find(_WP_EXTENT)
        if extent is not None:
            cx, cy = int(extent.get("cx", "0")), int(extent.get("cy", "0"))
            return max(cx / EMU_PER_PT, 8.0), max(cy / EMU_PER_PT, 8.0)
    return default


def _child(node: Any, tag: str) -> Any:
    return node.find(qn(tag)) if node is not None else None


def _attr(node: Any, tag: str) -> str:
    child = node.find(qn(tag))
    return str(child.get(qn("w:val"), "")) if child is not None else ""


def _int_attr(node: Any, name: str) -> int:
    """An integer attribute (`w:w`, `w:val`) of a node or, for child tags, of that child."""
    if node is None:
        return 0
    value = node.get(qn(name))
    if value is None:
        child = node.find(qn(name))
        value = child.get(qn("w:val")) if child is not None else None
    try:
        return int(float(value)) if value is not None else 0
    except ValueError:
        return 0


def _pt(length: Any, default: float) -> float:
    return float(length.pt) if length is not None else default
