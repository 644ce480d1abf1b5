"""OCR with Debian's tesseract CLI (a second engine next to PP-OCR), parsed from its TSV output.

The page image goes in as PNG on stdin, nothing touches the file system. OMP_THREAD_LIMIT=1:
tesseract's OpenMP threads make it 5-6x slower on small machines.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
from pydantic import Field

from extractors.document import Line, Word
from extractors.stage import LINES, PageContext, PageStage, StageError, StageOptions, register

SOURCE = "ocr.tesseract"


class TesseractOptions(StageOptions):
    lang: str = "eng"
    psm: int = Field(default=3, ge=0, le=13)  # 3: automatic page segmentation
    # Words under this confidence (0..1) are dropped; tesseract reports 0..100.
    min_confidence: float = Field(default=0.0, ge=0, le=1)
    # Larger pages are shrunk first: beyond ~4000 px tesseract gets slow without reading better.
    max_side: int = Field(default=4000, ge=500)
    timeout_s: float = Field(default=120.0, gt=0)
    binary: str = "tesseract"


@dataclass(frozen=True)
class TsvWord:
    """One word of tesseract's TSV: its line key (block, paragraph, line) and pixel box."""

    line_key: tuple[int, int, int]
    box: tuple[float, float, float, float]
    confidence: float
    text: str


def parse_tsv(tsv: str, scale: float = 1.0) -> list[list[TsvWord]]:
    """Words grouped into lines in tesseract's order; boxes divided by `scale`."""
    lines: dict[tuple[int, int, int], list[TsvWord]] = {}
    rows = tsv.splitlines()
    if not rows or not rows[0].startswith("level"):
        return []
    for row in rows[1:]:
        cols = row.split("\t")
        if len(cols) < 12 or cols[0] != "5" or not cols[11].strip():
            continue
        left, top, width, height = (float(v) / scale for v in cols[6:10])
        key = (int(cols[2]), int(cols[3]), int(cols[4]))
        conf = max(0.0, min(1.0, float(cols[10]) / 100))
        word = TsvWord(key, (left, top, left + width, top + height), conf, cols[11].strip())
        lines.setdefault(key, []).append(word)
    return list(lines.values())


@register
class TesseractStage(PageStage[TesseractOptions]):
    kind = "ocr.tesseract"
    version = "1"
    requires = ("image",)
    produces = ("lines", "words")
    batch_size = 4
    Options = TesseractOptions

    def applies_to(self, ctx: PageContext) -> bool:
        return not ctx.text_layer_usable

    def predict(self, batch: Sequence[PageContext]) -> list[list[list[TsvWord]]]:
        binary = shutil.which(self.options.binary)
        if binary is None:
            raise StageError(
                self.kind,
                f"the {self.options.binary!r} program is not installed"
                " (Debian: apt-get install tesseract-ocr tesseract-ocr-eng)",
                batch[0].document_id if batch else "",
            )
        return [self._run(binary, ctx) for ctx in batch]

    def _run(self, binary: str, ctx: PageContext) -> list[list[TsvWord]]:
        image = ctx.work
        scale = min(1.0, self.options.max_side / max(image.shape[:2]))
        if scale < 1.0:
            size = (round(image.shape[1] * scale), round(image.shape[0] * scale))
            image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
        bgr = image if image.ndim == 2 else np.ascontiguousarray(image[:, :, ::-1])
        ok, png = cv2.imencode(".png", bgr)
        if not ok:
            raise StageError(
                self.kind, "could not encode the page image", ctx.document_id, ctx.page.index
            )
        psm, lang = str(self.options.psm), self.options.lang
        command = [binary, "stdin", "stdout", "-l", lang, "--psm", psm, "tsv"]
        try:
            done = subprocess.run(
                command,
                input=png.tobytes(),
                capture_output=True,
                timeout=self.options.timeout_s,
                env={**os.environ, "OMP_THREAD_LIMIT": "1"},
                check=False,
            )
        except subprocess.TimeoutExpired as error:
            raise StageError(
                self.kind,
                f"tesseract took over {self.options.timeout_s:g} s",
                ctx.document_id,
                ctx.page.index,
            ) from error
        if done.returncode != 0:
            message = done.stderr.decode(errors="replace").strip()[-500:]
            raise StageError(
                self.kind, f"tesseract failed: {message}", ctx.document_id, ctx.page.index
            )
        return parse_tsv(done.stdout.decode("utf-8", errors="replace"), scale)

    def annotate(
        self, batch: Sequence[PageContext], predictions: Sequence[list[list[TsvWord]]]
    ) -> None:
        for ctx, tsv_lines in zip(batch, predictions, strict=True):
            lines: list[Line] = []
            n_words = 0
            for tsv_line in tsv_lines:
                kept = [w for w in tsv_line if w.confidence >= self.options.min_confidence]
                if not kept:
                    continue
                words = [
                    Word(
                        id=f"w{n_words + i}",
                        text=w.text,
                        bbox=ctx.relative_bbox(_corners(w.box)),
                        confidence=round(w.confidence, 4),
                        source=SOURCE,
                    )
                    for i, w in enumerate(kept)
                ]
                n_words += len(words)
                corners = np.concatenate([_corners(w.box) for w in kept])
                lines.append(
                    Line(
                        id=f"l{len(lines)}",
                        text=" ".join(w.text for w in kept),
                        bbox=ctx.relative_bbox(corners),
                        confidence=round(float(np.mean([w.confidence for w in kept])), 4),
                        source=SOURCE,
                        words=words,
                    )
                )
            ctx.scratch[LINES] = lines
            ctx.page.text_source = "ocr"


def _corners(box: tuple[float, float, float, float]) -> np.ndarray:
    x0, y0, x1, y1 = box
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], dtype=np.float64)
