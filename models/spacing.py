"""Spaces the recogniser left out, put back where the line's own ink shows a word gap.

PP-OCR's CTC recogniser often drops the space between words that are far apart on receipts
("TOTAL   : 12.00" read as "TOTAL: 12.00", "DATE:18/01/2018"), which costs the page CER and
splits no words for the field and entity stages. The crop says where the gaps are: columns
with no ink between two characters. A gap becomes a space when it is as wide as the page's
real word gaps (those where the recogniser did emit a space) and much wider than the line's
usual gap between letters, so letter-spaced titles ("M A R D E N") and wide fonts stay whole.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import cv2
import numpy as np

from models.ppocr import Recognition

_BAND = 0.15  # rows this share of the crop height at top and bottom are left out (neighbours)


@dataclass(frozen=True)
class GapSpacing:
    word_gap_share: float = 0.9  # of the page's median word gap
    min_gap: float = 0.25  # crop heights: never a narrower gap
    letter_gap_factor: float = 2.0  # times the line's median gap between letters
    default_gap: float = 0.35  # crop heights, on pages with too few spaces to measure
    min_spaces: int = 5  # spaces a page needs for its word gap to be measured


def ink_columns(crop: np.ndarray) -> np.ndarray:
    """Per crop column: whether it holds text ink (Otsu on the middle rows; the minority
    class is ink, so light text on a dark ground works too)."""
    grey = crop if crop.ndim == 2 else cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY)
    h = grey.shape[0]
    top = int(h * _BAND)
    band = grey[top : max(int(h * (1 - _BAND)), top + 1)]
    _, binary = cv2.threshold(band, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    dark = binary == 0
    if dark.mean() > 0.5:
        dark = ~dark
    return np.asarray(dark.any(axis=0))


def _empty_runs(ink: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(starts, ends) of the runs of inkless columns (ends exclusive)."""
    edges = np.diff(np.concatenate([[0], (~ink).astype(np.int8), [0]]))
    return np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)


def _longest_gaps(
    runs: tuple[np.ndarray, np.ndarray], a: np.ndarray, b: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per interval [a, b): (length, start) of the longest inkless run inside it, all
    intervals against all runs at once (a line has tens of each)."""
    starts, ends = runs
    if len(starts) == 0 or len(a) == 0:
        return np.zeros(len(a), np.int64), np.asarray(a, np.int64)
    lo = np.maximum(starts[None, :], a[:, None])
    hi = np.minimum(ends[None, :], b[:, None])
    lengths = np.clip(hi - lo, 0, None)
    best = lengths.argmax(axis=1)
    rows = np.arange(len(a))
    return lengths[rows, best], lo[rows, best]


def _gaps(rec: Recognition, ink: np.ndarray) -> tuple[list[float], list[tuple[int, int, int]]]:
    """Gaps (crop pixels) at the spaces the recogniser emitted, and (char index, length,
    start) of the gap after each character followed by another non-space character."""
    text = rec.text
    if len(text) < 2:
        return [], []
    mids = np.rint(rec.char_spans.astype(np.float64).mean(axis=1)).astype(np.int64)
    chars = np.frombuffer(text.encode("utf-32-le"), np.uint32)
    solid = chars != ord(" ")
    runs = _empty_runs(ink)
    # Letter pairs: char i and i+1 both non-space. Word gaps: i, a space, then i+2.
    pair = np.flatnonzero(solid[:-1] & solid[1:])
    spaced = np.flatnonzero(solid[:-2] & ~solid[1:-1] & solid[2:]) if len(text) > 2 else pair[:0]
    lengths, starts = _longest_gaps(runs, mids[pair], mids[pair + 1])
    space_lengths, _ = _longest_gaps(runs, mids[spaced], mids[spaced + 2])
    letters = list(zip(pair.tolist(), lengths.tolist(), starts.tolist(), strict=True))
    return [float(v) for v in space_lengths], letters


_NUMBER_MARKS = frozenset("/.,-")


def _inside_number(text: str, i: int) -> bool:
    """Whether the gap after `text[i]` lies inside a number: two digits, a digit and a date
    or amount separator, or either side of a time's colon ("11:41"). Wide digit gaps in
    monospaced print are no word gap, and "27/03 /2018" is no date."""
    left, right = text[i], text[i + 1]
    numeric = (left.isdigit() or left in _NUMBER_MARKS) and (
        right.isdigit() or right in _NUMBER_MARKS
    )
    if numeric and (left.isdigit() or right.isdigit()):
        return True
    before = text[i - 1] if i > 0 else ""
    after = text[i + 2] if i + 2 < len(text) else ""
    return (left.isdigit() and right == ":" and after.isdigit()) or (
        before.isdigit() and left == ":" and right.isdigit()
    )


def restore_spaces(
    recognitions: Sequence[Recognition],
    crops: Sequence[np.ndarray],
    spacing: GapSpacing = GapSpacing(),
) -> list[Recognition]:
    """The readings of one page's lines with the missing spaces put back (a reading's
    `narrow` alternative too)."""
    inks = [ink_columns(crop) for crop in crops]
    measured = [_gaps(rec, ink) for rec, ink in zip(recognitions, inks, strict=True)]
    word_gaps = [
        gap / crop.shape[0] for (spaces, _), crop in zip(measured, crops, strict=True)
        for gap in spaces
    ]  # fmt: skip
    if len(word_gaps) >= spacing.min_spaces:
        threshold = max(spacing.min_gap, spacing.word_gap_share * float(np.median(word_gaps)))
    else:
        threshold = spacing.default_gap
    out = []
    for rec, (_, letters), ink, crop in zip(recognitions, measured, inks, crops, strict=True):
        min_gap, factor = threshold * crop.shape[0], spacing.letter_gap_factor
        fixed = _spaced(rec, letters, min_gap, factor)
        if rec.narrow is not None:
            narrow_letters = _gaps(rec.narrow, ink)[1]
            fixed = replace(fixed, narrow=_spaced(rec.narrow, narrow_letters, min_gap, factor))
        out.append(fixed)
    return out


def _spaced(
    rec: Recognition, letters: list[tuple[int, int, int]], min_gap: float, factor: float
) -> Recognition:
    """`rec` with a space in each letter gap (char index, length, start) wide enough."""
    if not letters:
        return rec
    typical = max(1.0, float(np.median([length for _, length, _ in letters])))
    cuts = {i: (start, start + length) for i, length, start in letters
            if length >= min_gap and length >= factor * typical
            and not _inside_number(rec.text, i)}  # fmt: skip
    if not cuts:
        return rec
    text: list[str] = []
    probs: list[float] = []
    spans: list[list[float]] = []
    for i, char in enumerate(rec.text):
        span = [float(v) for v in rec.char_spans[i]]
        if i - 1 in cuts:
            span[0] = cuts[i - 1][1]
        if i in cuts:
            span[1] = cuts[i][0]
        text.append(char)
        probs.append(float(rec.char_probs[i]))
        spans.append(span)
        if i in cuts:  # the space spans the gap; its probability does not lower the line's
            text.append(" ")
            probs.append(float(np.mean(rec.char_probs[i : i + 2])))
            spans.append([float(cuts[i][0]), float(cuts[i][1])])
    return replace(
        rec,
        text="".join(text),
        char_probs=np.asarray(probs, np.float32),
        char_spans=np.asarray(spans, np.float32),
    )
