"""Ruled lines on a page image (OpenCV morphology), and the grids they draw.

Dark strokes are opened with a long horizontal and a long vertical kernel: what survives is a
ruling, text does not (no glyph is that long). A grid is a connected set of rulings holding at
least a few of each direction: the mark of a ruled table that the layout model may have missed.
Horizontal rules alone (booktabs-style tables) make no grid: such tables come from the layout. A
form is a frame of rulings too: only bands of it where column rules run side by side are tables.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

import cv2
import numpy as np

PixelBox = tuple[int, int, int, int]  # x0 y0 x1 y1, image pixels


@dataclass(frozen=True)
class Rulings:
    """Ruling masks of one image and their segments (pixel boxes)."""

    horizontal: list[PixelBox]
    vertical: list[PixelBox]
    grids: list[PixelBox]  # boxes of connected rulings with >= min_lines of each direction


def _segments(mask: np.ndarray) -> list[PixelBox]:
    n, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    return [
        (int(x), int(y), int(x + w), int(y + h)) for x, y, w, h, _ in stats[1:n] if w > 0 and h > 0
    ]


def _inside(seg: PixelBox, box: PixelBox, slack: int) -> bool:
    return (
        seg[0] >= box[0] - slack
        and seg[1] >= box[1] - slack
        and seg[2] <= box[2] + slack
        and seg[3] <= box[3] + slack
    )


def find_rulings(
    image: np.ndarray, min_length: float = 0.04, min_lines: int = 3, min_grid: float = 0.08
) -> Rulings:
    """Rulings at least `min_length` of the image's width (horizontal) or height (vertical);
    grids span at least `min_grid` of the image in both directions."""
    gray = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    h, w = gray.shape[:2]
    # Local threshold: scans have uneven light; a stroke is darker than its neighbourhood.
    ink = cv2.adaptiveThreshold(
        gray, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV, 25, 12
    )
    hlen, vlen = max(15, int(w * min_length)), max(15, int(h * min_length))
    horizontal = cv2.morphologyEx(ink, cv2.MORPH_OPEN, np.ones((1, hlen), np.uint8))
    vertical = cv2.morphologyEx(ink, cv2.MORPH_OPEN, np.ones((vlen, 1), np.uint8))
    # Rulings interrupted by a pixel or two (scan noise, dashes) still count as one.
    horizontal = cv2.dilate(horizontal, np.ones((3, 9), np.uint8))
    vertical = cv2.dilate(vertical, np.ones((9, 3), np.uint8))
    h_segs, v_segs = _segments(horizontal), _segments(vertical)
    grids: list[PixelBox] = []
    for frame in _segments(cv2.bitwise_or(horizontal, vertical)):
        for box in lattices(frame, h_segs, v_segs):
            if box[2] - box[0] < min_grid * w or box[3] - box[1] < min_grid * h:
                continue
            n_h = sum(_crosses(s, box) for s in h_segs)
            n_v = sum(_inside(s, box, 2) for s in v_segs)
            if n_h >= min_lines and n_v >= min_lines:
                grids.append(box)
    return Rulings(h_segs, v_segs, grids)


def _crosses(seg: PixelBox, box: PixelBox) -> bool:
    """A horizontal ruling inside the box's rows that spans most of its width."""
    inside_rows = box[1] - 3 <= seg[1] and seg[3] <= box[3] + 3
    return inside_rows and min(seg[2], box[2]) - max(seg[0], box[0]) >= 0.6 * (box[2] - box[0])


def lattices(
    frame: PixelBox, h_segs: list[PixelBox], v_segs: list[PixelBox], full: float = 0.85
) -> list[PixelBox]:
    """The ruled tables in one connected set of rulings. A form is one frame whose sides run
    its whole height, with tables inside where interior column rules share a band of rows: each
    such band (within the frame's width) is a table. A frame without interior rules, or with one
    that runs its full height, is one table."""
    height, width = max(1, frame[3] - frame[1]), max(1, frame[2] - frame[0])
    verticals = [s for s in v_segs if _inside(s, frame, 2)]
    # The frame's sides are the rules at its left and right edges; a column rule that runs its
    # whole height makes the whole frame one table (its header may hold spanning cells).
    edge = 0.03 * width
    inner = [s for s in verticals if s[0] > frame[0] + edge and s[2] < frame[2] - edge]
    interior = [s for s in inner if s[3] - s[1] < full * height]
    if not interior or len(interior) < len(inner):
        return [frame]
    bands: list[tuple[int, int, list[float]]] = []  # y0, y1, x of each column rule
    for seg in sorted(interior, key=lambda s: s[1]):
        for n, (y0, y1, xs) in enumerate(bands):
            overlap = min(y1, seg[3]) - max(y0, seg[1])
            if overlap >= 0.5 * min(y1 - y0, seg[3] - seg[1]):
                bands[n] = (min(y0, seg[1]), max(y1, seg[3]), [*xs, (seg[0] + seg[2]) / 2])
                break
        else:
            bands.append((seg[1], seg[3], [(seg[0] + seg[2]) / 2]))
    # Two interior rules (three columns with the frame's sides) make a table; fewer is a form's
    # label/value split. A section row (a label across all columns) cuts every column rule:
    # bands a row or two apart with the same column rules are one table.
    tables = sorted((b for b in bands if len(b[2]) >= 2), key=lambda b: b[0])
    pitch = _row_pitch(frame, h_segs)
    merged: list[tuple[int, int, list[float]]] = []
    for band in tables:
        if merged and band[0] - merged[-1][1] <= 2.5 * pitch:
            last = merged[-1]
            if _same_columns(last[2], band[2], max(4.0, 0.01 * width)):
                merged[-1] = (last[0], max(last[1], band[1]), last[2])
                continue
        merged.append(band)
    return [(frame[0], y0, frame[2], y1) for y0, y1, _ in merged]


def _row_pitch(frame: PixelBox, h_segs: list[PixelBox]) -> float:
    """The median distance between the frame's full-width row rules."""
    ys = sorted((s[1] + s[3]) / 2 for s in h_segs if _crosses(s, frame))
    gaps = [b - a for a, b in pairwise(ys) if b - a > 2]
    return float(np.median(gaps)) if gaps else float(frame[3] - frame[1])


def _same_columns(a: list[float], b: list[float], tolerance: float) -> bool:
    """Most column rules of the band with fewer stand where the other band has one."""
    fewer, more = (a, b) if len(a) <= len(b) else (b, a)
    matched = sum(any(abs(x - y) <= tolerance for y in more) for x in fewer)
    return matched >= 0.8 * len(fewer)
