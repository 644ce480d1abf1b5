"""Box arithmetic every stage shares: `[x0, y0, x1, y1]` tuples, page-relative, origin top-left."""

from __future__ import annotations

from collections.abc import Sequence

Box = tuple[float, float, float, float]


def as_box(values: Sequence[float]) -> Box:
    return (float(values[0]), float(values[1]), float(values[2]), float(values[3]))


def area(b: Box) -> float:
    return max(0.0, b[2] - b[0]) * max(0.0, b[3] - b[1])


def intersection(a: Box, b: Box) -> float:
    return max(0.0, min(a[2], b[2]) - max(a[0], b[0])) * max(0.0, min(a[3], b[3]) - max(a[1], b[1]))


def union(boxes: Sequence[Box]) -> Box:
    return (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )


def iou(a: Box, b: Box) -> float:
    inter = intersection(a, b)
    total = area(a) + area(b) - inter
    return inter / total if total > 0 else 0.0


def share_inside(inner: Box, outer: Box) -> float:
    """The share of `inner`'s area that lies inside `outer` (1.0 for a point-sized inner inside)."""
    a = area(inner)
    if a <= 0:
        cx, cy = (inner[0] + inner[2]) / 2, (inner[1] + inner[3]) / 2
        return float(outer[0] <= cx <= outer[2] and outer[1] <= cy <= outer[3])
    return intersection(inner, outer) / a


def centre(b: Box) -> tuple[float, float]:
    return ((b[0] + b[2]) / 2, (b[1] + b[3]) / 2)


def contains_point(b: Box, x: float, y: float) -> bool:
    return b[0] <= x <= b[2] and b[1] <= y <= b[3]


def projection_gaps(spans: Sequence[tuple[float, float]], min_gap: float) -> list[float]:
    """Cut positions in the empty stretches (wider than `min_gap`) of a 1-D projection of
    `(start, end)` spans: the middle of each gap."""
    cuts: list[float] = []
    ordered = sorted(spans)
    if not ordered:
        return cuts
    reach = ordered[0][1]
    for start, end in ordered[1:]:
        if start - reach > min_gap:
            cuts.append((start + reach) / 2)
        reach = max(reach, end)
    return cuts


def split_at(
    items: list[int], boxes: Sequence[Box], axis: int, cuts: list[float]
) -> list[list[int]]:
    """`items` (indices into `boxes`) grouped by which side of each cut their centre falls on
    (axis 0: x, 1: y); empty groups dropped."""
    parts: list[list[int]] = [[] for _ in range(len(cuts) + 1)]
    for i in items:
        centre = (boxes[i][axis] + boxes[i][axis + 2]) / 2
        parts[sum(centre > c for c in cuts)].append(i)
    return [p for p in parts if p]
