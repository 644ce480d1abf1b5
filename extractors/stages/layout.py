"""Layout analysis with the CDLA detector (`layout.cdla`): page regions into ctx.scratch[REGIONS].

The raw detector output needs post-processing before it is usable: it emits overlapping boxes of
different classes for one region, nested boxes of one class, and it labels some dense text as
table/figure. Where a text layer gives us lines already, a "figure" full of text lines is text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import cv2
import numpy as np

from extractors.document import Line
from extractors.stage import (
    LINES,
    REGIONS,
    RULINGS,
    PageContext,
    PageStage,
    Region,
    StageOptions,
    register,
)
from extractors.stages.layout_lines import (
    body_height,
    column_sections,
    ink_outside_lines,
    one_column,
    regions_from_lines,
    split_paragraphs,
)
from models.runtime import DEFAULT_RUNTIME, Runtime

CDLA_TO_BLOCK: dict[str, str] = {
    "text": "text",
    "title": "title",
    "figure": "figure",
    "figure_caption": "caption",
    "table": "table",
    "table_caption": "caption",
    "header": "header",
    "footer": "footer",
    "reference": "reference",
    "equation": "equation",
}
# Kinds that hold pictures or grids: a small text box inside them is part of them (axis labels).
_CONTAINERS = frozenset({"figure", "table"})


@dataclass
class Candidate:
    """A detection in work-image pixels during post-processing."""

    kind: str
    box: np.ndarray  # x0 y0 x1 y1
    score: float


def _area(box: np.ndarray) -> float:
    return float(max(0.0, box[2] - box[0]) * max(0.0, box[3] - box[1]))


def _intersection(a: np.ndarray, b: np.ndarray) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    return float(max(0.0, w) * max(0.0, h))


def suppress_overlaps(
    candidates: Sequence[Candidate], iou_threshold: float, containment: float
) -> list[Candidate]:
    """Resolve overlapping detections, best score first.

    - any two boxes with IoU > iou_threshold: one region seen twice, keep the better one;
    - one box mostly (> containment) inside another of the same kind: the same region at two
      granularities (e.g. a paragraph and its column); keep the better-scored one (merging into
      their union only ever yields the coarser block);
    - a non-container box mostly inside a figure/table: a label of that figure/table, dropped.
    """
    kept: list[Candidate] = []
    for cand in sorted(candidates, key=lambda c: -c.score):
        absorbed = False
        for other in kept:
            inter = _intersection(cand.box, other.box)
            if inter <= 0:
                continue
            a_c, a_o = _area(cand.box), _area(other.box)
            iou = inter / (a_c + a_o - inter + 1e-9)
            same_region = iou > iou_threshold
            nested_same_kind = inter / (min(a_c, a_o) + 1e-9) > containment and (
                cand.kind == other.kind
            )
            label_of_container = (
                inter / (a_c + 1e-9) > containment
                and other.kind in _CONTAINERS
                and cand.kind not in _CONTAINERS
                and cand.kind != "caption"
            )
            absorbed = same_region or nested_same_kind or label_of_container
            if absorbed:
                break
        if not absorbed:
            kept.append(Candidate(cand.kind, cand.box.copy(), cand.score))
    return kept


def text_coverage(region: Sequence[float], lines: Sequence[Line]) -> tuple[float, float, int]:
    """(share of the region's area covered by lines, mean line width / region width, n lines)
    for the lines whose centre lies in the region (page-relative boxes)."""
    x0, y0, x1, y1 = region
    area = max((x1 - x0) * (y1 - y0), 1e-9)
    covered, widths, count = 0.0, 0.0, 0
    for line in lines:
        lx0, ly0, lx1, ly1 = line.bbox
        cx, cy = (lx0 + lx1) / 2, (ly0 + ly1) / 2
        if x0 <= cx <= x1 and y0 <= cy <= y1:
            box = np.array([lx0, ly0, lx1, ly1])
            covered += _intersection(box, np.array(region, dtype=np.float64))
            widths += (min(lx1, x1) - max(lx0, x0)) / max(x1 - x0, 1e-9)
            count += 1
    return covered / area, (widths / count if count else 0.0), count


class LayoutOptions(StageOptions):
    score_threshold: float = 0.5
    """Minimum detector score of a region."""
    nms_iou: float = 0.5
    """Class-wise NMS inside the detector."""
    cross_class_iou: float = 0.5
    """Two regions overlapping more than this (any classes) are one region: keep the better."""
    containment: float = 0.8
    """Share of a box inside another above which it is merged into / absorbed by it."""
    text_figure_coverage: float = 0.25
    """With a text layer: a figure (or a table whose lines span its width) whose area is covered
    by text lines at least this much becomes text."""
    min_text_lines: int = 3
    skip_plain_text_pages: bool = True
    """Pages with a usable text layer whose lines and vector rulings hold (almost) all the ink
    skip the detector: their layout is read from the text layer (columns by XY-cut, then
    paragraphs, titles, header/footer, references in each); tables on them come from the
    table stages (rulings and text alignment)."""
    max_ink_outside_lines: float = 0.01
    """Share of a page's ink outside its text lines and rulings above which it has graphics."""
    split_paragraphs: bool = True
    """Cut text regions (CDLA often finds whole columns) into paragraphs at indents, blank gaps
    and short last lines seen in the region's ink."""


PLAIN_TEXT = "plain-text page"  # predict()'s marker for a page read from its text layer


@register
class CdlaLayoutStage(PageStage[LayoutOptions]):
    """Finds text/title/figure/table/... regions on every page with the CDLA detector."""

    kind: ClassVar[str] = "layout.cdla"
    version: ClassVar[str] = "6"
    uses: ClassVar[tuple[str, ...]] = (RULINGS,)
    produces: ClassVar[tuple[str, ...]] = (REGIONS,)
    Options: ClassVar[type[StageOptions]] = LayoutOptions
    batch_size: ClassVar[int] = 8

    def __init__(
        self, options: LayoutOptions | None = None, runtime: Runtime = DEFAULT_RUNTIME
    ) -> None:
        super().__init__(options, runtime)
        self._model: Any = None

    @property
    def model(self) -> Any:
        if self._model is None:  # lazy: building a profile must not load weights
            from models.layout_cdla import CdlaLayoutModel

            opts = self.options
            self._model = CdlaLayoutModel(
                min_score=min(opts.score_threshold, 0.3),
                iou_threshold=opts.nms_iou,
                runtime=self.runtime,
            )
        return self._model

    def plain_text(self, ctx: PageContext) -> bool:
        """Whether the text layer alone says enough about this page's layout."""
        lines: list[Line] = ctx.scratch.get(LINES, []) if ctx.text_layer_usable else []
        opts = self.options
        if not (opts.skip_plain_text_pages and lines):
            return False
        rulings = [(r.x0, r.y0, r.x1, r.y1) for r in ctx.scratch.get(RULINGS, [])]
        if ink_outside_lines(ctx.image, lines, known=rulings) > opts.max_ink_outside_lines:
            return False
        # Each column must read as one column of text (a grid no gap cuts is left to the model).
        return all(one_column(section) for section in column_sections(lines))

    def predict(self, batch: Sequence[PageContext]) -> list[Any]:
        """Detections per page; `PLAIN_TEXT` for pages that skip the detector."""
        skip = [self.plain_text(ctx) for ctx in batch]
        todo = [ctx.work for ctx, plain in zip(batch, skip, strict=True) if not plain]
        detections = iter(self.model(todo) if todo else [])
        return [PLAIN_TEXT if plain else next(detections) for plain in skip]

    def regions(self, ctx: PageContext, detections: Any) -> list[Region]:
        """Post-processed regions of one page (presented-page relative boxes)."""
        from models.layout_cdla import CDLA_LABELS

        opts = self.options
        candidates = [
            Candidate(CDLA_TO_BLOCK[CDLA_LABELS[int(cid)]], np.asarray(box, np.float64), float(s))
            for box, s, cid in zip(
                detections.boxes, detections.scores, detections.class_ids, strict=True
            )
            if s >= opts.score_threshold
        ]
        kept = suppress_overlaps(candidates, opts.cross_class_iou, opts.containment)
        if opts.split_paragraphs and any(c.kind == "text" for c in kept):
            work = ctx.work
            gray = cv2.cvtColor(work, cv2.COLOR_RGB2GRAY) if work.ndim == 3 else work
            kept = [
                Candidate(c.kind, piece, c.score)
                for c in kept
                for piece in (split_paragraphs(c.box, gray) if c.kind == "text" else [c.box])
            ]
        lines: list[Line] = ctx.scratch.get(LINES, []) if ctx.text_layer_usable else []
        out: list[Region] = []
        for cand in kept:
            x0, y0, x1, y1 = cand.box
            corners = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]])
            bbox = ctx.relative_bbox(corners)
            kind = cand.kind
            if lines and kind in _CONTAINERS:
                coverage, width_share, count = text_coverage(bbox, lines)
                wide_lines = kind == "figure" or width_share >= 0.85
                if (
                    count >= opts.min_text_lines
                    and coverage >= opts.text_figure_coverage
                    and wide_lines
                ):
                    kind = "text"
            out.append(Region(kind, bbox, round(cand.score, 4), self.kind))
        return out

    def annotate(self, batch: Sequence[PageContext], predictions: Sequence[Any]) -> None:
        for ctx, detections in zip(batch, predictions, strict=True):
            if detections is PLAIN_TEXT:
                lines = ctx.scratch.get(LINES, [])
                body = body_height(lines)
                ctx.scratch[REGIONS] = [
                    Region(kind, bbox, 1.0, self.kind)
                    for section in column_sections(lines)
                    for kind, bbox in regions_from_lines(section, body)
                ]
            else:
                ctx.scratch[REGIONS] = self.regions(ctx, detections)
