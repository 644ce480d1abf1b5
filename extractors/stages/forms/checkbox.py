"""`forms.checkbox`: check boxes found in the page image (OpenCV), written into the page's text.

A check box is a small, square, closed outline standing alone (no ruling runs on out of it, so
the cells of a table grid are not boxes); it is checked when there is ink inside it. Each box
becomes a word `☑` (checked) or `☐` (empty) in the line beside it, or in a line of its own, so
the page reads "☑ Yes ☐ No" like the form, and `forms.kv` makes CHECKBOX entities of them. An
OCR word that is the box itself ("口", "O", "[]") takes the mark's text instead of a second word;
any other word under a box (a letter, a number) is left as read.

`find_checkboxes` is the image half (pixels in, boxes out); `place_checkboxes` writes a page.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import cv2
import numpy as np
from pydantic import Field

from extractors.document import Block, Line, Page, Word
from extractors.geometry import Box, as_box, intersection, union
from extractors.stage import BLOCKS, IMAGE, PageContext, PageStage, StageOptions, register
from extractors.stages.forms.layout import MAX_RIGHT_GAP

logger = logging.getLogger(__name__)
KIND = "forms.checkbox"
CHECKED, EMPTY = "☑", "☐"


class CheckboxOptions(StageOptions):
    min_side: float = Field(default=0.007, gt=0, lt=1)
    """Smallest box side, as a share of the page's shorter side (about 1.5 mm on A4); never
    under 8 pixels."""
    max_side: float = Field(default=0.035, gt=0, lt=1)
    """Largest box side (about 7 mm on A4): bigger squares are frames and cells."""
    max_aspect: float = Field(default=1.3, ge=1)
    min_fill: float = Field(default=0.12, ge=0, le=1)
    """Share of ink inside the outline (its border left out) from which a box is checked."""
    max_outside_ink: float = Field(default=0.15, ge=0, le=1)
    """Share of ink allowed in a ring just outside the outline (rulings of a grid run on)."""


@dataclass(frozen=True)
class Checkbox:
    box: tuple[int, int, int, int]  # x0 y0 x1 y1 in the image's pixels
    checked: bool
    confidence: float


# A page whose shorter side is longer than this is looked at halved (a 200 dpi scan costs what
# a 100 dpi one does; a 4 mm box is still 16 pixels).
HALVE_ABOVE = 1200


def _ink(image: np.ndarray) -> tuple[np.ndarray, int]:
    """Ink mask (reduced for large pages) and the factor back to the image's pixels."""
    grey = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    factor = 1
    while min(grey.shape[:2]) > HALVE_ABOVE:
        grey = cv2.pyrDown(grey)  # blurs before halving: thin rulings stay
        factor *= 2
    _, mask = cv2.threshold(grey, 0, 255, cv2.THRESH_BINARY_INV | cv2.THRESH_OTSU)
    return mask, factor


def find_checkboxes(image: np.ndarray, options: CheckboxOptions | None = None) -> list[Checkbox]:
    """Square outlines in an RGB or grey image, checked or not."""
    opts = options or CheckboxOptions()
    mask, factor = _ink(image)
    h, w = mask.shape
    short = min(h, w)
    lo, hi = max(8, round(opts.min_side * short)), max(10, round(opts.max_side * short))
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    found: list[Checkbox] = []
    for contour in contours:
        x, y, bw, bh = cv2.boundingRect(contour)
        if not (lo <= bw <= hi and lo <= bh <= hi) or max(bw, bh) > opts.max_aspect * min(bw, bh):
            continue
        squareness = _straight_sides(mask[y : y + bh, x : x + bw])
        if squareness >= 0.8:
            found.append(_judge(mask, (x, y, x + bw, y + bh), squareness, opts))
    kept = _dedupe([c for c in found if c.confidence > 0])
    return [Checkbox(_scaled(c.box, factor), c.checked, c.confidence) for c in kept]


def _scaled(box: tuple[int, int, int, int], factor: int) -> tuple[int, int, int, int]:
    return (box[0] * factor, box[1] * factor, box[2] * factor, box[3] * factor)


def _straight_sides(patch: np.ndarray) -> float:
    """How fully the four sides are ruled (the least of them): an outline's edges are ink along
    their length; a letter's bowl ("o", "D") is not."""
    ink = patch > 0
    sides = (
        max(ink[0].mean(), ink[1].mean()),
        max(ink[-1].mean(), ink[-2].mean()),
        max(ink[:, 0].mean(), ink[:, 1].mean()),
        max(ink[:, -1].mean(), ink[:, -2].mean()),
    )
    return float(min(sides))


def _judge(
    mask: np.ndarray, box: tuple[int, int, int, int], squareness: float, opts: CheckboxOptions
) -> Checkbox:
    """Checked from the ink inside; confidence 0 for a square that is part of a grid or a glyph."""
    x0, y0, x1, y1 = box
    side = min(x1 - x0, y1 - y0)
    border = max(2, round(side * 0.2))
    inner = mask[y0 + border : y1 - border, x0 + border : x1 - border]
    fill = float(inner.mean()) / 255 if inner.size else 0.0
    pad = max(2, round(side * 0.25))
    h, w = mask.shape
    ox0, oy0, ox1, oy1 = max(0, x0 - pad), max(0, y0 - pad), min(w, x1 + pad), min(h, y1 + pad)
    ring = mask[oy0:oy1, ox0:ox1].astype(np.float64).sum() - mask[y0:y1, x0:x1].sum()
    ring_area = (ox1 - ox0) * (oy1 - oy0) - (x1 - x0) * (y1 - y0)
    outside = ring / 255 / max(1, ring_area)
    if outside > opts.max_outside_ink:
        return Checkbox(box, False, 0.0)
    confidence = round(min(1.0, squareness) * (1 - outside) * 0.95, 3)
    return Checkbox(box, fill >= opts.min_fill, confidence)


def _dedupe(boxes: list[Checkbox]) -> list[Checkbox]:
    """An outline's inner and outer contours are one box: keep the outer."""
    ordered = sorted(boxes, key=lambda c: -(c.box[2] - c.box[0]) * (c.box[3] - c.box[1]))
    kept: list[Checkbox] = []
    for c in ordered:
        cb = as_box(c.box)
        if not any(intersection(cb, as_box(k.box)) > 0.5 * _area(cb) for k in kept):
            kept.append(c)
    return sorted(kept, key=lambda c: (c.box[1], c.box[0]))


def _area(b: Box) -> float:
    return max(0.0, b[2] - b[0]) * max(0.0, b[3] - b[1])


def place_checkboxes(page: Page, boxes: Sequence[tuple[Box, bool, float]]) -> int:
    """Write page-relative boxes (box, checked, confidence) into the page as mark words; returns
    how many were written (an OCR word that is the box itself takes the mark's text)."""
    words = [(w, line, block) for block in page.blocks for line in block.lines for w in line.words]
    written = 0
    for n, (box, checked, confidence) in enumerate(boxes):
        mark = CHECKED if checked else EMPTY
        covering = [(w, ln) for w, ln, _ in words if intersection(as_box(w.bbox), box) > 0]
        itself = [
            w for w, _ in covering if is_box_reading(w.text) and _inside(as_box(w.bbox), box) > 0.6
        ]
        if itself:
            itself[0].text, itself[0].source = mark, KIND
            for w, line in covering:
                if w is itself[0]:
                    line.text = " ".join(x.text for x in line.words)
            written += 1
            continue
        if covering:
            continue  # the OCR read the box into a longer word ("☐No"): leave it
        word = Word(
            id=f"{page.id}-cb{n}", text=mark, bbox=list(box), confidence=confidence, source=KIND
        )
        _insert(page, word)
        written += 1
    return written


# What the OCR reads a check box as: box-like glyphs, and letters and brackets of that shape.
_BOX_READINGS = frozenset("口□☐☑☒■▢◻OoD0Q[]()|")


def is_box_reading(text: str) -> bool:
    """An OCR word that is the box itself ("口", "O", "[]"), not a letter or number the box
    finder took for one (a receipt's "(M)" read as "M", a "16")."""
    text = text.strip()
    return 0 < len(text) <= 2 and all(ch in _BOX_READINGS for ch in text)


def _inside(inner: Box, outer: Box) -> float:
    a = _area(inner)
    return intersection(inner, outer) / a if a > 0 else 0.0


def _insert(page: Page, word: Word) -> None:
    """Into the line beside the box on its row (nearest), else a line and block of its own."""
    box = as_box(word.bbox)
    cy, side = (box[1] + box[3]) / 2, box[3] - box[1]
    best: tuple[float, Line, Block] | None = None
    for block in page.blocks:
        for line in block.lines:
            lb = line.bbox
            if not lb[1] <= cy <= lb[3]:
                continue
            gap = max(lb[0] - box[2], box[0] - lb[2], 0.0)
            if gap < max(3 * side, MAX_RIGHT_GAP / 4) and (best is None or gap < best[0]):
                best = (gap, line, block)
    if best is None:
        order = max((b.order for b in page.blocks), default=-1) + 1
        line = Line(id=f"{word.id}-l", text=word.text, bbox=word.bbox, words=[word], source=KIND)
        page.blocks.append(
            Block(id=f"{word.id}-b", order=order, bbox=word.bbox, lines=[line], source=KIND)
        )
        return
    _, line, block = best
    line.words = sorted([*line.words, word], key=lambda w: w.bbox[0])
    line.text = " ".join(w.text for w in line.words)
    line.bbox = list(union([as_box(line.bbox), box]))
    block.bbox = list(union([as_box(block.bbox), box]))


@register
class CheckboxStage(PageStage[CheckboxOptions]):
    kind: ClassVar[str] = KIND
    version: ClassVar[str] = "1"
    requires: ClassVar[tuple[str, ...]] = (IMAGE, BLOCKS)
    produces: ClassVar[tuple[str, ...]] = (BLOCKS,)
    Options: ClassVar[type[StageOptions]] = CheckboxOptions

    def applies_to(self, ctx: PageContext) -> bool:
        return ctx.page.text_source != "native"

    def predict(self, batch: Sequence[PageContext]) -> list[Any]:
        return [find_checkboxes(ctx.work, self.options) for ctx in batch]

    def annotate(self, batch: Sequence[PageContext], predictions: Sequence[Any]) -> None:
        for ctx, found in zip(batch, predictions, strict=True):
            boxes = [
                (as_box(ctx.relative_bbox(_corners(c.box))), c.checked, c.confidence) for c in found
            ]
            written = place_checkboxes(ctx.page, boxes)
            logger.debug("%s page %d: %d check boxes", ctx.document_id, ctx.page.index, written)


def _corners(box: tuple[int, int, int, int]) -> np.ndarray:
    x0, y0, x1, y1 = box
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], dtype=np.float64)
