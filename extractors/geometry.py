"""Box arithmetic every stage shares: `[x0, y0, x1, y1]` tuples, page-relative, origin top-left."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

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


def best_containers(items: Sequence[Box], containers: Sequence[Box], min_share: float) -> list[int]:
    """For each item, the container covering the largest share of its area (shares compared
    to two decimals; the smaller container on a tie, so a title nested in a text box goes to
    the title), or -1 where none covers `min_share` of it. One matrix, not a loop per pair:
    a dense page has thousands of words and hundreds of regions."""
    if not items:
        return []
    if not containers:
        return [-1] * len(items)
    a = np.asarray(items, dtype=np.float64).reshape(-1, 4)
    c = np.asarray(containers, dtype=np.float64).reshape(-1, 4)
    ix = np.minimum(a[:, None, 2], c[None, :, 2]) - np.maximum(a[:, None, 0], c[None, :, 0])
    iy = np.minimum(a[:, None, 3], c[None, :, 3]) - np.maximum(a[:, None, 1], c[None, :, 1])
    item_area = np.maximum((a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1]), 1e-12)
    share = np.clip(ix, 0, None) * np.clip(iy, 0, None) / item_area[:, None]
    container_area = np.clip(c[:, 2] - c[:, 0], 0, None) * np.clip(c[:, 3] - c[:, 1], 0, None)
    # Areas are page shares (<= 1), so 1e-6 x area only ever breaks a tie of rounded shares.
    key = np.where(share >= min_share, np.round(share, 2) - container_area[None, :] * 1e-6, -np.inf)
    best = key.argmax(axis=1)
    found = np.isfinite(key[np.arange(len(a)), best])
    return np.where(found, best, -1).tolist()
