"""Office pages built from the file's own structure, with logical positions.

No Office library renders pages, so positions are logical: a reader lays out blocks in points
(stacked in reading order for DOCX, the sheet's grid for XLSX, shape frames for PPTX) and this
module turns them into `Block > Line > Word` and `Table > Cell` with page-relative boxes. Text is
wrapped at an average glyph width, so boxes are plausible (they keep reading order, overlays and
review working), not typeset. Embedded images become figure blocks; the pipeline runs each
decodable one through the page stages like a scanned image and `NativePage.apply` puts the lines
read from it into its figure block.
"""

from __future__ import annotations

import io
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from extractors.document import Block, BlockKind, Cell, Line, Page, Table, Word

Box = tuple[float, float, float, float]  # x0, y0, x1, y1 in points
GLYPH_WIDTH = 0.5  # average glyph width as a share of the font size (Latin text)
LINE_SPACING = 1.25
MIN_OCR_SIDE = 24  # px: smaller pictures are icons and bullets, not text
# Formats PIL decodes; EMF/WMF (common in Office files) it cannot rasterise.
OCR_IMAGE_FORMATS = frozenset({"PNG", "JPEG", "MPO", "GIF", "BMP", "TIFF", "WEBP"})


@dataclass
class EmbeddedImage:
    """A picture of an Office page, read by the OCR path (the pipeline's page stages)."""

    block_id: str
    bbox: list[float]  # page-relative box of its figure block
    data: bytes
    width_px: int
    height_px: int


@dataclass
class NativePage:
    """One Office page (section, sheet or slide): its structure and what still needs OCR."""

    width: float
    height: float
    blocks: list[Block]
    tables: list[Table]
    images: list[EmbeddedImage]
    pictures: list[tuple[list[float], bytes | None]] = field(default_factory=list)  # for render
    # Picture bytes -> RGB pixels (set by ingest: pixel cap, decompression-bomb guard).
    decode: Callable[[bytes], np.ndarray] | None = None

    def image_pages(self, page_index: int) -> list[tuple[Page, Callable[[], np.ndarray]]]:
        """A throwaway `Page` plus a lazy render per picture worth OCR."""
        if self.decode is None:
            return []
        decode = self.decode
        out = []
        for n, image in enumerate(self.images):
            page = Page(
                id=f"p{page_index}-{image.block_id}-image{n}",
                index=page_index,
                width=float(image.width_px),
                height=float(image.height_px),
                unit="px",
            )
            out.append((page, _bind(decode, image.data)))
        return out

    def apply(self, page: Page, image_pages: Sequence[Page] = ()) -> None:
        """Write this structure into `page`; lines read from pictures join their figure blocks
        (mapped from picture-relative into page-relative boxes); ids renumbered in order."""
        blocks = [b.model_copy(deep=True) for b in self.blocks]
        by_id = {b.id: b for b in blocks}
        n_ocr = 0
        # `image_pages` is empty when the stages failed on this page's pictures.
        for image, read in zip(self.images, image_pages, strict=False):
            figure = by_id[image.block_id]
            for block in sorted(read.blocks, key=lambda b: b.order):
                for line in block.lines:
                    figure.lines.append(_mapped_line(line, image.bbox))
                    n_ocr += 1
        n_line = n_word = 0
        for block in blocks:
            for line in block.lines:
                line.id = f"p{page.index}-l{n_line}"
                n_line += 1
                for word in line.words:
                    word.id = f"p{page.index}-w{n_word}"
                    n_word += 1
        page.blocks = blocks
        page.tables = [t.model_copy(deep=True) for t in self.tables]
        page.text_source = "mixed" if n_ocr else ("native" if n_line else "none")


def _bind(decode: Callable[[bytes], np.ndarray], data: bytes) -> Callable[[], np.ndarray]:
    return lambda: decode(data)


def _map_box(box: Sequence[float], frame: Sequence[float]) -> list[float]:
    fx0, fy0, fx1, fy1 = frame
    w, h = fx1 - fx0, fy1 - fy0
    return [fx0 + box[0] * w, fy0 + box[1] * h, fx0 + box[2] * w, fy0 + box[3] * h]


def _mapped_line(line: Line, frame: Sequence[float]) -> Line:
    words = [w.model_copy(update={"bbox": _map_box(w.bbox, frame)}) for w in line.words]
    return line.model_copy(update={"bbox": _map_box(line.bbox, frame), "words": words})


def picture_size(data: bytes) -> tuple[int, int] | None:
    """Pixel size of a picture PIL can decode (header only), else None."""
    try:
        with Image.open(io.BytesIO(data)) as im:
            if im.format not in OCR_IMAGE_FORMATS:
                return None
            return im.size
    except Exception:  # anything PIL cannot identify is simply not OCR'd
        return None


# --- building a page in points ----------------------------------------------------------------


@dataclass
class CellSpec:
    row: int
    col: int
    text: str
    row_span: int = 1
    col_span: int = 1
    is_header: bool = False


@dataclass
class _Item:
    kind: BlockKind
    box: Box
    lines: list[tuple[str, Box]]
    table: tuple[int, int, list[tuple[CellSpec, Box]]] | None = None
    picture: bytes | None = None


def wrap(text: str, width_pt: float, font_pt: float) -> list[str]:
    """Text wrapped at the average glyph width (blank lines dropped)."""
    chars = max(1, int(width_pt / (font_pt * GLYPH_WIDTH)))
    out: list[str] = []
    for paragraph in text.splitlines():
        out += textwrap.wrap(" ".join(paragraph.split()), chars) or []
    return out


class PageBuilder:
    """Collects blocks with boxes in points; `finish` makes the page-relative model."""

    def __init__(self, page_index: int, width: float, height: float, source: str) -> None:
        self.index, self.width, self.height, self.source = page_index, width, height, source
        self.items: list[_Item] = []

    def text(self, kind: BlockKind, lines: Sequence[str], box: Box, font_pt: float) -> float:
        """A text block: `lines` (already wrapped) stacked from the top of `box`; returns the
        bottom of the last line."""
        x0, y0, x1, y1 = box
        step = font_pt * LINE_SPACING
        if lines and y0 + step * len(lines) > y1:  # a frame too small (PPTX): squeeze, keep order
            step = (y1 - y0) / len(lines)
        placed = []
        for n, line in enumerate(lines):
            top = y0 + n * step
            width = min(x1 - x0, len(line) * font_pt * GLYPH_WIDTH)
            placed.append((line, (x0, top, x0 + width, top + step)))
        bottom = y0 + step * len(lines)
        self.items.append(_Item(kind, (x0, y0, x1, max(bottom, y0 + 1)), placed))
        return bottom

    def table(
        self,
        cells: Sequence[CellSpec],
        col_edges: Sequence[float],
        row_edges: Sequence[float],
        font_pt: float,
    ) -> None:
        """A table on a grid (edges in points); each cell's text becomes lines of the block."""
        n_rows, n_cols = len(row_edges) - 1, len(col_edges) - 1
        placed: list[tuple[CellSpec, Box]] = []
        lines: list[tuple[str, Box]] = []
        for cell in cells:
            c1 = min(n_cols, cell.col + cell.col_span)
            r1 = min(n_rows, cell.row + cell.row_span)
            box = (col_edges[cell.col], row_edges[cell.row], col_edges[c1], row_edges[r1])
            placed.append((cell, box))
            pad = min(2.0, (box[2] - box[0]) / 4)
            inner = (box[0] + pad, box[1] + pad, box[2] - pad, box[3] - pad)
            sub = PageBuilder(self.index, self.width, self.height, self.source)
            sub.text("text", wrap(cell.text, inner[2] - inner[0], font_pt), inner, font_pt)
            lines += sub.items[0].lines
        box = (col_edges[0], row_edges[0], col_edges[-1], row_edges[-1])
        self.items.append(_Item("table", box, lines, table=(n_rows, n_cols, placed)))

    def figure(self, box: Box, picture: bytes | None) -> None:
        self.items.append(_Item("figure", box, [], picture=picture))

    def bottom(self) -> float:
        return max((item.box[3] for item in self.items), default=0.0)

    def finish(self, min_height: float = 0.0) -> NativePage:
        """Page-relative blocks and tables; the page grows to hold what overflowed."""
        width = max(self.width, max((i.box[2] for i in self.items), default=0.0), 1.0)
        height = max(self.height, min_height, self.bottom(), 1.0)

        def rel(b: Box) -> list[float]:
            return [b[0] / width, b[1] / height, b[2] / width, b[3] / height]

        page = NativePage(width, height, [], [], [])
        for n, item in enumerate(self.items):
            block_id = f"p{self.index}-b{n}"
            lines = [self._line(text, rel(box)) for text, box in item.lines]
            block = Block(
                id=block_id,
                kind=item.kind,
                order=n,
                bbox=rel(item.box),
                source=self.source,
                lines=lines,
            )
            page.blocks.append(block)
            if item.table is not None:
                n_rows, n_cols, cells = item.table
                page.tables.append(
                    Table(
                        id=block_id,  # a table block and its table share the id (export pairs them)
                        block_id=block_id,
                        bbox=rel(item.box),
                        n_rows=n_rows,
                        n_cols=n_cols,
                        source=self.source,
                        cells=[
                            Cell(
                                row=c.row,
                                col=c.col,
                                row_span=c.row_span,
                                col_span=c.col_span,
                                text=c.text,
                                bbox=rel(box),
                                is_header=c.is_header,
                            )
                            for c, box in cells
                        ],
                    )
                )
            if item.kind == "figure":
                page.pictures.append((block.bbox, item.picture))
                size = picture_size(item.picture) if item.picture else None
                if item.picture and size and min(size) >= MIN_OCR_SIDE:
                    page.images.append(EmbeddedImage(block_id, block.bbox, item.picture, *size))
        return page

    def _line(self, text: str, box: list[float]) -> Line:
        """A line whose words split its box by character offsets (ids set in `apply`)."""
        words: list[Word] = []
        chars = max(1, len(text))
        x0, y0, x1, y1 = box
        offset = 0
        for token in text.split(" "):
            if token:
                a = x0 + (x1 - x0) * offset / chars
                b = x0 + (x1 - x0) * (offset + len(token)) / chars
                words.append(Word(id="", text=token, bbox=[a, y0, b, y1], source=self.source))
            offset += len(token) + 1
        return Line(id="", text=text, bbox=box, source=self.source, words=words)
