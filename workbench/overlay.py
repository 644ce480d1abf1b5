"""What the page view draws: boxes per layer with colours, and the page image as a data URL.

Boxes stay page-relative (0..1) all the way to the browser, so they fit any render size.
"""

from __future__ import annotations

import base64
import io
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from PIL import Image

from extractors.document import Block, Document, Line, Page, Word

LAYERS = ("blocks", "lines", "words", "tables", "entities", "fields")
DEFAULT_LAYERS = ("blocks", "words", "tables", "entities", "fields")
BLOCK_COLOURS = {
    "text": "#4c78a8",
    "title": "#b279a2",
    "list": "#72b7b2",
    "table": "#f58518",
    "figure": "#9d755d",
    "caption": "#bab0ac",
    "header": "#54a24b",
    "footer": "#54a24b",
    "reference": "#eeca3b",
    "equation": "#ff9da6",
}
ENTITY_COLOUR = "#7b3fe4"
FIELD_COLOUR = "#0f9d9a"
TABLE_COLOUR = "#f58518"
CORRECTED_COLOUR = "#1f6feb"


@dataclass(frozen=True)
class Shading:
    """Where a word's or line's colour changes, as raw confidences: green from `doubtful` up
    (likely right at the review target), amber from `poor` (within 0.1 of it), red below. Per
    stage (`source`) when the workspace is calibrated, else the defaults; so the colours say the
    same as J/K and the queue's doubtful counts."""

    doubtful: float = 0.9
    poor: float = 0.8
    doubtful_by_source: dict[str, float] | None = None
    poor_by_source: dict[str, float] | None = None

    def colour(self, confidence: float | None, source: str = "") -> str:
        if confidence is None:
            return "#888888"
        if confidence >= (self.doubtful_by_source or {}).get(source, self.doubtful):
            return "#2e9d57"
        if confidence >= (self.poor_by_source or {}).get(source, self.poor):
            return "#e0a100"
        return "#d62728"


RAW_SHADING = Shading()


def confidence_colour(confidence: float | None) -> str:
    """Green when sure, amber when doubtful, red below 0.8 (raw confidence)."""
    return RAW_SHADING.colour(confidence)


@dataclass
class Box:
    id: str
    layer: str
    x0: float
    y0: float
    x1: float
    y1: float
    colour: str
    label: str

    def as_dict(self) -> dict[str, Any]:
        return _rounded(self)


def _rounded(item: Any) -> dict[str, Any]:
    """A box or link for the page view: page-relative coordinates to 5 places (shorter JSON)."""
    return {k: round(v, 5) if isinstance(v, float) else v for k, v in asdict(item).items()}


def _box(id_: str, layer: str, bbox: list[float] | None, colour: str, label: str) -> Box | None:
    if not bbox or len(bbox) != 4:
        return None
    x0, y0, x1, y1 = bbox
    return Box(id_, layer, x0, y0, x1, y1, colour=colour, label=label)


def page_boxes(
    page: Page,
    layers: set[str] | list[str] | tuple[str, ...],
    texts: dict[str, str] | None = None,
    deleted: set[str] | None = None,
    entities: list[dict[str, Any]] | None = None,
    fields: list[dict[str, Any]] | None = None,
    shading: dict[str, Shading] | None = None,
) -> list[Box]:
    """Boxes of the chosen layers, drawn bottom to top: blocks, tables, lines, words, items.

    `texts` maps element ids to reviewed text (for tooltips); `deleted` ids are not drawn.
    Entities and fields are row dicts with `x0..y1` and `page_index`, as the views give them.
    `shading` colours lines and words by the workspace's calibration (`{"line": ..., "word":
    ...}`); without it raw confidence is shaded at 0.9 and 0.8.
    """
    line_shading = (shading or {}).get("line", RAW_SHADING)
    word_shading = (shading or {}).get("word", RAW_SHADING)
    texts = texts or {}
    deleted = deleted or set()
    wanted = set(layers)
    boxes: list[Box | None] = []
    if "blocks" in wanted:
        for block in page.blocks:
            colour = BLOCK_COLOURS.get(block.kind, "#4c78a8")
            boxes.append(
                _box(block.id, "blocks", block.bbox, colour, f"{block.kind} #{block.order}")
            )
    if "tables" in wanted:
        for table in page.tables:
            boxes.append(
                _box(
                    table.id,
                    "tables",
                    table.bbox,
                    TABLE_COLOUR,
                    f"table {table.n_rows}x{table.n_cols}",
                )
            )
            for cell in table.cells:
                legacy = f"{table.id}:{cell.row}:{cell.col}"  # round 1 corrections' cell id
                cell_id = cell.id or legacy
                text = texts.get(cell_id, texts.get(legacy, cell.text))
                boxes.append(_box(cell_id, "tables", cell.bbox, TABLE_COLOUR, text))
    if "lines" in wanted:
        for line in page.lines():
            if line.id not in deleted:
                colour = (
                    CORRECTED_COLOUR
                    if line.id in texts
                    else line_shading.colour(line.confidence, line.source)
                )
                boxes.append(
                    _box(
                        line.id,
                        "lines",
                        line.bbox,
                        colour,
                        f"{texts.get(line.id, line.text)} ({line.confidence:.2f})",
                    )
                )
    if "words" in wanted:
        for word in page.words():
            if word.id not in deleted:
                colour = (
                    CORRECTED_COLOUR
                    if word.id in texts
                    else word_shading.colour(word.confidence, word.source)
                )
                boxes.append(
                    _box(
                        word.id,
                        "words",
                        word.bbox,
                        colour,
                        f"{texts.get(word.id, word.text)} ({word.confidence:.2f})",
                    )
                )
    for layer, items, colour in (
        ("entities", entities, ENTITY_COLOUR),
        ("fields", fields, FIELD_COLOUR),
    ):
        if layer not in wanted:
            continue
        for item in items or []:
            if item.get("page_index") != page.index or item.get("x0") is None:
                continue
            id_ = item.get("entity_id") or f"field:{item.get('name')}"
            bbox = [item["x0"], item["y0"], item["x1"], item["y1"]]
            label = (
                f"{item.get('label') or item.get('name')}: {item.get('text') or item.get('value')}"
            )
            boxes.append(_box(str(id_), layer, bbox, colour, label))
    return [box for box in boxes if box is not None]


LINK_COLOURS = {"key_value": "#b279a2", "checkbox_label": "#e45756"}
LINK_COLOUR = "#9d755d"


@dataclass
class Link:
    """A relation drawn on the page: a line from its head's box centre to its tail's."""

    x0: float
    y0: float
    x1: float
    y1: float
    colour: str
    label: str

    def as_dict(self) -> dict[str, Any]:
        return _rounded(self)


def page_links(
    page_index: int, relations: list[dict[str, Any]], entities: list[dict[str, Any]]
) -> list[Link]:
    """Lines for the relations whose two ends are entities boxed on this page."""
    boxes = {
        str(e["entity_id"]): e
        for e in entities
        if e.get("page_index") == page_index and e.get("x0") is not None
    }
    out: list[Link] = []
    for relation in relations:
        head, tail = boxes.get(str(relation["head"])), boxes.get(str(relation["tail"]))
        if head is None or tail is None:
            continue
        label = str(relation["label"])
        out.append(
            Link(
                (head["x0"] + head["x1"]) / 2,
                (head["y0"] + head["y1"]) / 2,
                (tail["x0"] + tail["x1"]) / 2,
                (tail["y0"] + tail["y1"]) / 2,
                LINK_COLOURS.get(label, LINK_COLOUR),
                f"{label}: {head.get('text')} → {tail.get('text')}",
            )
        )
    return out


def image_data_url(image: np.ndarray, max_width: int = 1000) -> tuple[str, int, int]:
    """A PNG data URL of the page image, downscaled to at most `max_width` pixels wide."""
    picture = Image.fromarray(image)
    if picture.width > max_width:
        height = max(1, round(picture.height * max_width / picture.width))
        picture = picture.resize((max_width, height), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG", optimize=False, compress_level=3)
    encoded = base64.b64encode(buffer.getvalue()).decode()
    return f"data:image/png;base64,{encoded}", picture.width, picture.height


def blank_page(page: Page, width: int = 800) -> np.ndarray:
    """A light grey stand-in when the file is gone, so boxes still show where they are."""
    ratio = page.height / page.width if page.width else 1.4
    return np.full((max(1, round(width * ratio)), width, 3), 236, dtype=np.uint8)


@dataclass
class Element:
    """One reviewable element, found by id, with what the side panel needs."""

    id: str
    target_type: str  # word, line, block, cell, entity, field
    page_index: int
    text: str
    confidence: float
    source: str
    bbox: list[float] | None


def find_element(document: Document, element_id: str) -> Element | None:
    """Look up a word, line, block or table cell by id across the document's pages."""
    for page in document.pages:
        for block in page.blocks:
            candidates: list[tuple[str, Block | Line | Word]] = [("block", block)]
            for line in block.lines:
                candidates += [("line", line), *(("word", word) for word in line.words)]
            for kind, item in candidates:
                if item.id == element_id:
                    return Element(
                        item.id,
                        kind,
                        page.index,
                        item.text,
                        item.confidence,
                        item.source,
                        item.bbox,
                    )
        for table in page.tables:
            for cell in table.cells:
                legacy = f"{table.id}:{cell.row}:{cell.col}"
                cell_id = cell.id or legacy
                if element_id in (cell_id, legacy):
                    return Element(
                        cell_id,
                        "cell",
                        page.index,
                        cell.text,
                        cell.confidence,
                        table.source,
                        cell.bbox,
                    )
    return None


def review_order(
    page: Page,
    threshold: float = 0.9,
    layer: str = "words",
    by_source: dict[str, float] | None = None,
) -> list[str]:
    """Ids of doubtful words (or lines) in reading order: what J/K step through. `by_source`
    holds calibrated thresholds per stage; other sources use `threshold`."""
    items = page.words() if layer == "words" else page.lines()
    by_source = by_source or {}
    return [i.id for i in items if i.confidence < by_source.get(i.source, threshold)]
