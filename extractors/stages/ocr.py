"""OCR with PP-OCRv6 small: detect lines per page, recognise all crops of a batch together.

Writes `document.Line`s (with words) into `ctx.scratch[LINES]`; a later reading-order stage
groups them into blocks and renumbers the placeholder ids.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from pydantic import Field

from extractors.document import Line, Word
from extractors.stage import LINES, PageContext, PageStage, StageError, StageOptions, register
from models.ppocr import (
    PpOcrDetector,
    PpOcrRecognizer,
    Recognition,
    crop_quad,
    map_points,
)

SOURCE = "ocr.ppocr"


class PpOcrOptions(StageOptions):
    # Long-side cap of the detector input (multiple of 32): the main speed/accuracy knob.
    det_max_side: int = Field(default=960, ge=32, multiple_of=32)
    # Small pages are enlarged until their short side reaches this (never past det_max_side).
    det_min_side: int = Field(default=0, ge=0)
    det_thresh: float = Field(default=0.3, gt=0, lt=1)
    det_box_thresh: float = Field(default=0.5, gt=0, lt=1)
    det_unclip_ratio: float = Field(default=1.6, gt=0)
    rec_batch_size: int = Field(default=16, ge=1)
    # Lines whose mean character probability is below this are dropped.
    text_score: float = Field(default=0.5, ge=0, le=1)


@dataclass(frozen=True)
class OcrLine:
    """One recognised line: its quad and crop homography (work-image pixels), and its text."""

    quad: np.ndarray
    homography: np.ndarray
    crop_height: int
    recognition: Recognition


@register
class PpOcrStage(PageStage[PpOcrOptions]):
    kind = "ocr.ppocr"
    version = "1"
    requires = ("image",)
    produces = ("lines", "words")
    batch_size = 4
    Options = PpOcrOptions

    @cached_property
    def detector(self) -> PpOcrDetector:
        o = self.options
        return PpOcrDetector(
            max_side=o.det_max_side,
            min_side=o.det_min_side,
            thresh=o.det_thresh,
            box_thresh=o.det_box_thresh,
            unclip_ratio=o.det_unclip_ratio,
        )

    @cached_property
    def recognizer(self) -> PpOcrRecognizer:
        return PpOcrRecognizer(batch_size=self.options.rec_batch_size)

    def applies_to(self, ctx: PageContext) -> bool:
        return not ctx.text_layer_usable

    def predict(self, batch: Sequence[PageContext]) -> list[list[OcrLine]]:
        crops: list[np.ndarray] = []
        owners: list[tuple[int, np.ndarray, np.ndarray]] = []  # (page in batch, quad, homography)
        for position, ctx in enumerate(batch):
            image = ctx.work
            try:
                detection = self.detector(image)
                for quad in detection.quads:
                    crop, homography = crop_quad(image, quad)
                    crops.append(crop)
                    owners.append((position, quad, homography))
            except Exception as error:
                raise StageError(
                    self.kind, f"detection failed: {error}", ctx.document_id, ctx.page.index
                ) from error
        # One recognition pass over every line of every page: full batches, little padding.
        recognitions = self.recognizer(crops) if crops else []
        results: list[list[OcrLine]] = [[] for _ in batch]
        for (position, quad, homography), crop, rec in zip(
            owners, crops, recognitions, strict=True
        ):
            results[position].append(OcrLine(quad, homography, crop.shape[0], rec))
        return results

    def annotate(self, batch: Sequence[PageContext], predictions: Sequence[list[OcrLine]]) -> None:
        for ctx, ocr_lines in zip(batch, predictions, strict=True):
            lines: list[Line] = []
            n_words = 0
            for ocr_line in ocr_lines:
                rec = ocr_line.recognition
                if rec.confidence < self.options.text_score or not rec.text.strip():
                    continue
                words = _words(ctx, ocr_line, first_id=n_words)
                n_words += len(words)
                lines.append(
                    Line(
                        id=f"l{len(lines)}",
                        text=" ".join(rec.text.split()),
                        bbox=ctx.relative_bbox(ocr_line.quad),
                        confidence=round(rec.confidence, 4),
                        source=SOURCE,
                        words=words,
                    )
                )
            ctx.scratch[LINES] = lines
            ctx.page.text_source = "ocr"


def _words(ctx: PageContext, ocr_line: OcrLine, first_id: int) -> list[Word]:
    """Split a line on spaces; a word's box is its characters' span across the full crop
    height, mapped back through the crop's homography into the page."""
    rec = ocr_line.recognition
    words: list[Word] = []
    start = None
    for i, char in enumerate([*rec.text, " "]):
        if char != " " and start is None:
            start = i
        elif char == " " and start is not None:
            x0, x1 = float(rec.char_spans[start, 0]), float(rec.char_spans[i - 1, 1])
            h = ocr_line.crop_height
            corners = np.array([[x0, 0], [x1, 0], [x1, h], [x0, h]], dtype=np.float64)
            words.append(
                Word(
                    id=f"w{first_id + len(words)}",
                    text=rec.text[start:i],
                    bbox=ctx.relative_bbox(map_points(ocr_line.homography, corners)),
                    confidence=round(float(rec.char_probs[start:i].mean()), 4),
                    source=SOURCE,
                )
            )
            start = None
    return words
