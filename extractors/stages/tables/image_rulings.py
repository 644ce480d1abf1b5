"""Ruled lines on a page image (OpenCV morphology), and the grids they draw.

Dark strokes are opened with a long horizontal and a long vertical kernel: what survives is a
ruling, text does not (no glyph is that long). A grid is a connected set of rulings holding at
least a few of each direction: the mark of a ruled table that the layout model may have missed.
Horizontal rules alone (booktabs-style tables) only confirm a table the layout proposed.
"""

from __future__ import annotations

from dataclasses import dataclass

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
    for box in _segments(cv2.bitwise_or(horizontal, vertical)):
        if box[2] - box[0] < min_grid * w or box[3] - box[1] < min_grid * h:
            continue
        n_h = sum(_inside(s, box, 2) for s in h_segs)
        n_v = sum(_inside(s, box, 2) for s in v_segs)
        if n_h >= min_lines and n_v >= min_lines:
            grids.append(box)
    return Rulings(h_segs, v_segs, grids)


def full_width_rules(rulings: Rulings, box: PixelBox, min_share: float = 0.6) -> int:
    """How many horizontal rulings inside `box` span at least `min_share` of its width."""
    width = max(1, box[2] - box[0])
    count = 0
    for seg in rulings.horizontal:
        if seg[1] < box[1] - 3 or seg[3] > box[3] + 3:
            continue
        overlap = min(seg[2], box[2]) - max(seg[0], box[0])
        count += overlap >= min_share * width
    return count
