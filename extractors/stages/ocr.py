"""OCR with PP-OCRv6 small: detect lines per page, recognise all crops of a batch together.

Writes `document.Line`s (with words) into `ctx.scratch[LINES]`; a later reading-order stage
groups them into blocks and renumbers the placeholder ids.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from itertools import pairwise

import numpy as np
from pydantic import Field

from extractors.document import Line, Word
from extractors.stage import LINES, PageContext, PageStage, StageError, StageOptions, register
from models.ppocr import (
    PpOcrDetector,
    PpOcrRecognizer,
    Recognition,
    TextScale,
    crop_quad,
    is_wide,
    map_points,
    pad_quad,
)
from models.spacing import restore_spaces

SOURCE = "ocr.ppocr"


class PpOcrOptions(StageOptions):
    # Detector resolution from the text size: a first pass at most det_probe_side on the long
    # side measures the median line height, a second one runs at the scale that gives lines
    # det_line_height pixels (at most det_max_upscale, at most det_max_pixels of input).
    # det_line_height = 0 turns this off: one pass with the fixed caps below.
    det_line_height: float = Field(default=32.0, ge=0)
    det_probe_side: int = Field(default=960, ge=32, multiple_of=32)
    det_max_pixels: int = Field(default=2_500_000, ge=32 * 32)
    det_max_upscale: float = Field(default=2.0, ge=1.0)
    # Fixed mode only: long-side cap of the detector input (multiple of 32).
    det_max_side: int = Field(default=960, ge=32, multiple_of=32)
    # Fixed mode only: small pages are enlarged until their short side reaches this.
    det_min_side: int = Field(default=0, ge=0)
    det_thresh: float = Field(default=0.3, gt=0, lt=1)
    det_box_thresh: float = Field(default=0.5, gt=0, lt=1)
    det_unclip_ratio: float = Field(default=1.6, gt=0)
    rec_batch_size: int = Field(default=16, ge=1)
    # Narrower crops are padded to this width (at height 48) before recognition. PP-OCR trains
    # on 320-wide inputs, but padding short words that far adds 60% of the pixels on receipts
    # for no measurable gain: page CER with 320 / without, SROIE dev 0.0441 / 0.0451, train
    # 0.0476 / 0.0474, FUNSD dev 0.0978 / 0.0977, train 0.1091 / 0.1094.
    rec_min_width: int = Field(default=0, ge=0)
    # Crops are taken this many line heights beyond the detected quad on every side (0.15 gave
    # the same CER as 0 on 70 dev/train pages: off by default).
    rec_crop_pad: float = Field(default=0.0, ge=0, le=1)
    # On pages with more Latin than East Asian wide letters, lines keep the reading without
    # stray wide characters ('：' for ':', '二' for '='); runs of wide letters stay as read.
    rec_narrow_lines: bool = True
    # Spaces the recogniser dropped are put back where the crop's ink shows a word gap
    # (models/spacing.py).
    rec_restore_spaces: bool = True
    # Letters read inside numbers become the digits they look like ('29O' -> '290',
    # '7/1l8B' -> '7/118B'; see digits_in_numbers).
    rec_digits_in_numbers: bool = True
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
    version = "4"
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
            text_scale=self.text_scale,
            runtime=self.runtime,
        )

    @property
    def text_scale(self) -> TextScale | None:
        o = self.options
        if not o.det_line_height:
            return None
        return TextScale(
            probe_side=o.det_probe_side,
            line_height=o.det_line_height,
            max_upscale=o.det_max_upscale,
            max_pixels=o.det_max_pixels,
        )

    @cached_property
    def recognizer(self) -> PpOcrRecognizer:
        return PpOcrRecognizer(
            batch_size=self.options.rec_batch_size,
            min_width=self.options.rec_min_width,
            narrow_lines=self.options.rec_narrow_lines,
            runtime=self.runtime,
        )

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
                    crop, homography = crop_quad(image, pad_quad(quad, self.options.rec_crop_pad))
                    crops.append(crop)
                    owners.append((position, quad, homography))
            except Exception as error:
                raise StageError(
                    self.kind, f"detection failed: {error}", ctx.document_id, ctx.page.index
                ) from error
        # One recognition pass over every line of every page: full batches, little padding.
        recognitions = self.recognizer(crops) if crops else []
        if self.options.rec_restore_spaces:
            recognitions = _with_spaces(recognitions, crops, [o[0] for o in owners])
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
            readings = page_readings([o.recognition for o in ocr_lines])
            if self.options.rec_digits_in_numbers:
                readings = [replace(r, text=digits_in_numbers(r.text)) for r in readings]
            for ocr_line, rec in zip(ocr_lines, readings, strict=True):
                if rec.confidence < self.options.text_score or not rec.text.strip():
                    continue
                words = _words(ctx, ocr_line, rec, first_id=n_words)
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


def _with_spaces(
    recognitions: Sequence[Recognition], crops: Sequence[np.ndarray], pages: Sequence[int]
) -> list[Recognition]:
    """Missing spaces restored page by page (each page measures its own word gaps)."""
    out = list(recognitions)
    for page in sorted(set(pages)):
        mine = [i for i, p in enumerate(pages) if p == page]
        fixed = restore_spaces([out[i] for i in mine], [crops[i] for i in mine])
        for i, rec in zip(mine, fixed, strict=True):
            out[i] = rec
    return out


# O between digits, or after two digits and before no letter; l, I or | between digits.
_LETTER_O = re.compile(r"(?<=\d)[Oo](?=\d)|(?<=\d\d)[Oo](?![^\W\d_])")
_LETTER_ONE = re.compile(r"(?<=\d)[lI|](?=\d)")


def digits_in_numbers(text: str) -> str:
    """Look-alike letters inside numbers read as the digits they are ('29O' -> '290',
    '1l8' -> '118'), one character for one, so character spans still hold. Words with a
    letter beside the number keep it ('H2O', 'CO2', '3RD'). On 269 SROIE and FUNSD pages this
    leaves page CER as it was (+-0.0001) and fixes postcodes and house numbers in addresses."""
    return _LETTER_ONE.sub("1", _LETTER_O.sub("0", text))


def _wide_letter(char: str) -> bool:
    return char.isalpha() and is_wide(char)


def _wide_run(text: str) -> bool:
    """Two wide letters in a row: real CJK text, not a stray look-alike."""
    return any(_wide_letter(a) and _wide_letter(b) for a, b in pairwise(text))


def page_readings(recognitions: Sequence[Recognition]) -> list[Recognition]:
    """The reading kept per line. On a page with more Latin than wide letters, a line takes its
    reading without wide characters unless it holds a run of wide letters (a Chinese shop name
    on a Malaysian receipt stays)."""
    texts = [r.text for r in recognitions]
    latin = sum(c.isascii() and c.isalpha() for t in texts for c in t)
    if latin <= sum(_wide_letter(c) for t in texts for c in t):
        return list(recognitions)
    return [r.narrow if r.narrow is not None and not _wide_run(r.text) else r for r in recognitions]


def _words(ctx: PageContext, ocr_line: OcrLine, rec: Recognition, first_id: int) -> list[Word]:
    """Split a line on spaces; a word's box is its characters' span across the full crop
    height, mapped back through the crop's homography into the page."""
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
