"""Neighbours of form segments: what lies right of a segment on its row, and what lies below.

A form pairs a label with the value right of it on the same row, or with the value under it;
these two relations (the nearest segment each way) are all the geometry the labelling and the
linking read.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from extractors.geometry import Box
from extractors.stages.forms.segments import Segment

# How far a value may lie from its label: right, in page widths; below, in text heights.
MAX_RIGHT_GAP = 0.45
MAX_BELOW_GAP = 2.0


@dataclass
class Neighbours:
    right: list[int | None]  # the nearest segment right of each on its row
    left: list[int | None]
    below: list[int | None]  # the nearest segment under each that overlaps it horizontally
    above: list[int | None]


def _first_line(box: Box, height: float) -> tuple[float, float]:
    """Top and bottom of a segment's first line (a wrapped value is as tall as its lines)."""
    return box[1], box[1] + min(height * 1.2, box[3] - box[1])


def same_row(a: Segment, b: Segment) -> bool:
    """Vertical overlap of at least half the shorter of the two first lines."""
    return _rows_overlap(_first_line(a.box, a.height), _first_line(b.box, b.height))


def _rows_overlap(a: tuple[float, float], b: tuple[float, float]) -> bool:
    overlap = min(a[1], b[1]) - max(a[0], b[0])
    return overlap > 0.5 * min(a[1] - a[0], b[1] - b[0])


def _nearest(best: list[float], found: list[int | None], i: int, j: int, gap: float) -> None:
    if gap < best[i]:
        best[i], found[i] = gap, j


def neighbours(segs: Sequence[Segment]) -> Neighbours:
    n = len(segs)
    boxes = [s.box for s in segs]
    heights = [s.height for s in segs]
    rows = [_first_line(b, h) for b, h in zip(boxes, heights, strict=True)]
    right: list[int | None] = [None] * n
    below: list[int | None] = [None] * n
    best_right = [float("inf")] * n
    best_below = [float("inf")] * n
    for i in range(n):
        a, h = boxes[i], heights[i]
        for j in range(n):
            b = boxes[j]
            if i == j or b[3] < a[1] or b[1] > a[3] + MAX_BELOW_GAP * h:
                continue  # above it, or far below
            gap_x = b[0] - a[2]
            if -h < gap_x < MAX_RIGHT_GAP and b[0] > a[0] and _rows_overlap(rows[i], rows[j]):
                _nearest(best_right, right, i, j, gap_x)
            gap_y = b[1] - a[3]
            overlaps = min(a[2], b[2]) - max(a[0], b[0]) > 0
            if -0.3 * h < gap_y < MAX_BELOW_GAP * h and overlaps and b[1] > a[1] + 0.5 * h:
                _nearest(best_below, below, i, j, gap_y)
    return Neighbours(right, _inverse(right, boxes, 2), below, _inverse(below, boxes, 3))


def _inverse(links: Sequence[int | None], boxes: Sequence[Box], edge: int) -> list[int | None]:
    """For each segment, the one whose nearest neighbour it is (the closest of several)."""
    out: list[int | None] = [None] * len(links)
    for i, j in enumerate(links):
        if j is None:
            continue
        current = out[j]
        if current is None or boxes[current][edge] < boxes[i][edge]:
            out[j] = i
    return out
