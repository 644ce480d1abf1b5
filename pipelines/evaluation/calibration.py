"""Confidence calibration: how often a confidence of 0.9 is right, and a map that makes it so.

- Expected calibration error (ECE): confidences put in `bins` equal-width bins over [0, 1];
  ECE = sum over bins of (share of items in the bin) x |accuracy in the bin - mean confidence
  in the bin|. 0 is perfectly calibrated.
- Isotonic calibration: the non-decreasing step function of confidence that best fits the 0/1
  outcomes in least squares (pool adjacent violators), applied by interpolating between the
  fitted points. It keeps the order of confidences (what was surer stays surer).
- Words on FUNSD: a predicted word is right when a ground-truth word's box holds its centre and
  the two texts are equal (case-insensitive, surrounding punctuation kept); predicted words
  whose centre lies in no ground-truth word are left out (nothing to check them against).
"""

from __future__ import annotations

import bisect
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from extractors.document import Document, Word


@dataclass(frozen=True)
class Calibration:
    """A fitted isotonic map: confidences `x` (increasing) to calibrated values `y`."""

    x: tuple[float, ...]
    y: tuple[float, ...]

    def __call__(self, confidence: float) -> float:
        if not self.x:
            return confidence
        if confidence <= self.x[0]:
            return self.y[0]
        if confidence >= self.x[-1]:
            return self.y[-1]
        i = bisect.bisect_right(self.x, confidence)
        x0, x1, y0, y1 = self.x[i - 1], self.x[i], self.y[i - 1], self.y[i]
        return y0 + (y1 - y0) * (confidence - x0) / (x1 - x0) if x1 > x0 else y1

    def threshold(self, target: float) -> float:
        """The raw confidence from which the calibrated value reaches `target`: since the map
        never decreases, "calibrated < target" is "raw < threshold" (1.01 when it never does,
        so everything counts as doubtful)."""
        if not self.x:
            return target
        for x0, x1, y0, y1 in zip(self.x, self.x[1:], self.y, self.y[1:], strict=False):
            if y1 >= target > y0 and y1 > y0:
                return x0 + (x1 - x0) * (target - y0) / (y1 - y0)
        if self.y[0] >= target:
            return 0.0
        return 1.01

    def to_json(self) -> dict[str, Any]:
        return {"x": list(self.x), "y": list(self.y)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Calibration:
        return cls(tuple(float(v) for v in data["x"]), tuple(float(v) for v in data["y"]))


def fit_isotonic(confidences: Sequence[float], correct: Sequence[bool]) -> Calibration:
    """Pool adjacent violators over the outcomes sorted by confidence."""
    tied: dict[float, list[float]] = {}  # equal confidences are one point: [right, count]
    for confidence, ok in zip(confidences, correct, strict=True):
        point = tied.setdefault(confidence, [0.0, 0.0])
        point[0] += float(ok)
        point[1] += 1.0
    # blocks of (sum of outcomes, count, mean confidence)
    blocks: list[list[float]] = []
    for confidence in sorted(tied):
        right, count = tied[confidence]
        blocks.append([right, count, confidence])
        while len(blocks) > 1 and blocks[-2][0] / blocks[-2][1] >= blocks[-1][0] / blocks[-1][1]:
            right, n, c = blocks.pop()
            blocks[-1][2] = (blocks[-1][2] * blocks[-1][1] + c * n) / (blocks[-1][1] + n)
            blocks[-1][0] += right
            blocks[-1][1] += n
    return Calibration(tuple(b[2] for b in blocks), tuple(b[0] / b[1] for b in blocks))


def expected_calibration_error(
    confidences: Sequence[float], correct: Sequence[bool], bins: int = 15
) -> float:
    if not confidences:
        return 0.0
    totals = [[0.0, 0.0, 0] for _ in range(bins)]  # confidence sum, right, count
    for confidence, ok in zip(confidences, correct, strict=True):
        b = min(bins - 1, max(0, int(confidence * bins)))
        totals[b][0] += confidence
        totals[b][1] += float(ok)
        totals[b][2] += 1
    n = len(confidences)
    return sum(c / n * abs(right / c - conf / c) for conf, right, c in totals if c)


def funsd_word_checks(document: Document, gt_path: Path) -> list[tuple[Word, bool]]:
    """(word, right) for the document's first-page words checkable against FUNSD."""
    form = json.loads(gt_path.read_text())["form"]
    truth = [(w["box"], w["text"].strip().lower()) for e in form for w in e["words"]]
    if not document.pages:
        return []
    page = document.pages[0]
    out = []
    for word in page.words():
        cx = (word.bbox[0] + word.bbox[2]) / 2 * page.width
        cy = (word.bbox[1] + word.bbox[3]) / 2 * page.height
        inside = [t for box, t in truth if box[0] <= cx <= box[2] and box[1] <= cy <= box[3]]
        if inside:
            out.append((word, word.text.strip().lower() in inside))
    return out


def funsd_word_outcomes(document: Document, gt_path: Path) -> list[tuple[float, bool]]:
    """(confidence, right) for the document's first-page words checkable against FUNSD."""
    return [(word.confidence, right) for word, right in funsd_word_checks(document, gt_path)]


def split_outcomes(
    split_dir: Path, documents: Sequence[tuple[dict[str, Any], Document | None]]
) -> list[tuple[float, bool]]:
    """Word outcomes over a FUNSD split's read documents."""
    out: list[tuple[float, bool]] = []
    for item, document in documents:
        gt = item.get("gt", {})
        if document is not None and "funsd" in gt:
            out += funsd_word_outcomes(document, split_dir / gt["funsd"])
    return out
