"""Rulings: the straight horizontal and vertical strokes a PDF page draws (table borders, rules).

Taken from pdfium's path objects: stroked straight segments, the edges of stroked rectangles, and
thin filled rectangles (many generators draw cell borders as filled bars). Each object's matrix is
applied, form XObjects are entered (their matrices compose), and every ruling lands in the
presented frame (after /Rotate, relative to the crop box, 0..1, origin top-left) like every bbox
of the document model. Curves and slanted segments are skipped. Only path objects are read, one
ctypes call per segment: pages of text cost well under a millisecond, chart-heavy pages more.
"""

from __future__ import annotations

import ctypes
import itertools
import logging
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from extractors.text_layer import PageFrame, page_frame

log = logging.getLogger(__name__)

# A filled shape no thicker than this (pt) is a drawn line, not an area.
MAX_BAR_WIDTH = 3.0
# Shorter strokes (pt) are glyph parts, ticks or bullets rather than rules.
MIN_LENGTH = 3.0
# A segment is axis-aligned when it drifts less than this (pt) across its length.
AXIS_TOLERANCE = 0.5
# Paint with every channel at or above this (0-255) is white: invisible on a white page.
WHITE = 250
# Forms nest rarely; a cap keeps a malicious self-referencing file finite.
MAX_FORM_DEPTH = 8
_Matrix = tuple[float, float, float, float, float, float]  # a b c d e f (PDF order)
_IDENTITY: _Matrix = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)
# A filled shape's box in user space and whether its paint is dark.
_Painted = tuple[tuple[float, float, float, float], bool]
# How far back in paint order a white shape looks for what lies under it (bounds the cost).
MAX_UNDER = 500


@dataclass(frozen=True)
class Ruling:
    """One straight rule: `x0..x1` and `y0..y1` page-relative (a horizontal ruling has
    y0 == y1, a vertical one x0 == x1); `width` is the stroke (or bar) thickness in pt."""

    x0: float
    y0: float
    x1: float
    y1: float
    orientation: Literal["h", "v"]
    width: float
    filled: bool = False  # drawn as a filled bar rather than a stroke

    @property
    def length(self) -> float:
        return (self.x1 - self.x0) if self.orientation == "h" else (self.y1 - self.y0)


def _compose(inner: _Matrix, outer: _Matrix) -> _Matrix:
    """The matrix applying `inner` first, then `outer`."""
    a, b, c, d, e, f = inner
    A, B, C, D, E, F = outer
    return (a * A + b * C, a * B + b * D, c * A + d * C, c * B + d * D,
            e * A + f * C + E, e * B + f * D + F)  # fmt: skip


def _matrix(obj: pdfium_c.FPDF_PAGEOBJECT) -> _Matrix:
    m = pdfium_c.FS_MATRIX()
    if not pdfium_c.FPDFPageObj_GetMatrix(obj, ctypes.byref(m)):
        return _IDENTITY
    return (m.a, m.b, m.c, m.d, m.e, m.f)


def _path_points(obj: pdfium_c.FPDF_PAGEOBJECT) -> list[tuple[list[tuple[float, float]], bool]]:
    """Subpaths of straight segments as point lists (object space) with their closed flag;
    a subpath holding a curve is dropped."""
    n = pdfium_c.FPDFPath_CountSegments(obj)
    x, y = ctypes.c_float(), ctypes.c_float()
    rx, ry = ctypes.byref(x), ctypes.byref(y)
    out: list[tuple[list[tuple[float, float]], bool]] = []
    points: list[tuple[float, float]] = []
    curved = closed = False
    for i in range(n):
        seg = pdfium_c.FPDFPath_GetPathSegment(obj, i)
        kind = pdfium_c.FPDFPathSegment_GetType(seg)
        pdfium_c.FPDFPathSegment_GetPoint(seg, rx, ry)
        if kind == pdfium_c.FPDF_SEGMENT_MOVETO:
            if len(points) > 1 and not curved:
                out.append((points, closed))
            points, curved, closed = [], False, False
        elif kind == pdfium_c.FPDF_SEGMENT_BEZIERTO:
            curved = True
        points.append((x.value, y.value))
        if pdfium_c.FPDFPathSegment_GetClose(seg):
            closed = True
    if len(points) > 1 and not curved:
        out.append((points, closed))
    return out


def _segments(
    obj: pdfium_c.FPDF_PAGEOBJECT, matrix: _Matrix
) -> tuple[list[list[tuple[float, float, float, float]]], bool, bool, float]:
    """The path's straight segments in user space, per subpath, whether it is filled /
    stroked, and its stroke width in user space (scaled by the matrix)."""
    fill, stroke = ctypes.c_int(), ctypes.c_int()
    pdfium_c.FPDFPath_GetDrawMode(obj, ctypes.byref(fill), ctypes.byref(stroke))
    width = ctypes.c_float()
    pdfium_c.FPDFPageObj_GetStrokeWidth(obj, ctypes.byref(width))
    a, b, c, d, e, f = matrix
    segs: list[list[tuple[float, float, float, float]]] = []
    for points, closed in _path_points(obj):
        pts = [(a * px + c * py + e, b * px + d * py + f) for px, py in points]
        if closed and pts[0] != pts[-1]:
            pts.append(pts[0])
        segs.append([(*p, *q) for p, q in itertools.pairwise(pts)])
    scale = float(np.sqrt(abs(a * d - b * c))) or 1.0
    return segs, fill.value != pdfium_c.FPDF_FILLMODE_NONE, bool(stroke.value), width.value * scale


def _walk(
    objects: list[pdfium_c.FPDF_PAGEOBJECT],
    parent: _Matrix,
    depth: int,
    found: list[tuple[float, float, float, float, float, bool]],
    painted: list[_Painted] | None = None,
) -> None:
    painted = [] if painted is None else painted  # filled shapes so far, in paint order
    for obj in objects:
        kind = pdfium_c.FPDFPageObj_GetType(obj)
        if kind == pdfium_c.FPDF_PAGEOBJ_FORM and depth < MAX_FORM_DEPTH:
            n = pdfium_c.FPDFFormObj_CountObjects(obj)
            inner = [pdfium_c.FPDFFormObj_GetObject(obj, i) for i in range(n)]
            _walk(inner, _compose(_matrix(obj), parent), depth + 1, found, painted)
        elif kind == pdfium_c.FPDF_PAGEOBJ_PATH:
            subpaths, filled, stroked, width = _segments(obj, _compose(_matrix(obj), parent))
            if not subpaths:
                continue
            if stroked and _dark(obj, pdfium_c.FPDFPageObj_GetStrokeColor):
                found.extend((*s, max(width, 0.0), False) for segs in subpaths for s in segs)
            elif filled:
                dark = _dark(obj, pdfium_c.FPDFPageObj_GetFillColor)
                # Each subpath is its own shape: one path often holds a row's border pieces
                # (short bars and junction squares), whose union box is no bar at all.
                for segs in subpaths:
                    xs = [v for g in segs for v in g[0::2]]
                    ys = [v for g in segs for v in g[1::2]]
                    box = (min(xs), min(ys), max(xs), max(ys))
                    if dark or _on_dark(box, painted):
                        _filled_bar(segs, found)
                    painted.append((box, dark))


def _dark(obj: pdfium_c.FPDF_PAGEOBJECT, color_of: Any) -> bool:
    """Paint that shows on a white page: not white, not transparent."""
    r, g, b, a = (ctypes.c_uint() for _ in range(4))
    if not color_of(obj, *(ctypes.byref(v) for v in (r, g, b, a))):
        return True  # no colour to read (pattern, shading): keep it, as before
    return a.value > 0 and min(r.value, g.value, b.value) < WHITE


def _on_dark(box: tuple[float, float, float, float], painted: list[_Painted]) -> bool:
    """Whether a white shape lies on a dark one (the last filled shape painted under it):
    white cells on a black table make their borders, but the white boxes generators put
    behind cell texts (camelot's twotables_2: 399 of them) lie on white and show nothing;
    read as rulings they cut every wrapped header into rows."""
    x0, y0, x1, y1 = box
    for (a0, b0, a1, b1), dark in reversed(painted[-MAX_UNDER:]):
        tol = AXIS_TOLERANCE
        if a0 - tol <= x0 and b0 - tol <= y0 and x1 <= a1 + tol and y1 <= b1 + tol:
            return dark
    return False  # on the page itself


def _filled_bar(
    segs: list[tuple[float, float, float, float]],
    found: list[tuple[float, float, float, float, float, bool]],
) -> None:
    """A filled axis-aligned shape thin in one direction becomes a ruling along its middle; a
    wider one contributes its edges (shaded rows and cells bound each other there)."""
    xs = [v for s in segs for v in (s[0], s[2])]
    ys = [v for s in segs for v in (s[1], s[3])]
    x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
    axis_aligned = all(
        abs(s[0] - s[2]) <= AXIS_TOLERANCE or abs(s[1] - s[3]) <= AXIS_TOLERANCE for s in segs
    )
    if not axis_aligned:
        return
    w, h = x1 - x0, y1 - y0
    if h <= MAX_BAR_WIDTH and w > h:
        mid = (y0 + y1) / 2
        found.append((x0, mid, x1, mid, h, True))
    elif w <= MAX_BAR_WIDTH and h > w:
        mid = (x0 + x1) / 2
        found.append((mid, y0, mid, y1, w, True))
    else:
        found.extend((*s, 0.0, True) for s in segs)


def rulings_from_segments(
    raw: np.ndarray, frame: PageFrame, min_length: float = MIN_LENGTH
) -> list[Ruling]:
    """User-space segments (n x 6: x0 y0 x1 y1 width filled) -> axis-aligned presented rulings."""
    if len(raw) == 0:
        return []
    px0, py0 = frame.to_presented(raw[:, 0], raw[:, 1])
    px1, py1 = frame.to_presented(raw[:, 2], raw[:, 3])
    dx, dy = np.abs(px1 - px0), np.abs(py1 - py0)
    horizontal = (dy <= AXIS_TOLERANCE) & (dx >= min_length)
    vertical = (dx <= AXIS_TOLERANCE) & (dy >= min_length)
    width, height = frame.size
    out: list[Ruling] = []
    for i in np.flatnonzero(horizontal | vertical).tolist():
        h = bool(horizontal[i])
        xa, xb = sorted((float(px0[i]), float(px1[i])))
        ya, yb = sorted((float(py0[i]), float(py1[i])))
        if h:
            ya = yb = (ya + yb) / 2
        else:
            xa = xb = (xa + xb) / 2
        # Clip to the page: rules partly outside the crop box keep their visible part.
        xa, xb = max(xa, 0.0) / width, min(xb, width) / width
        ya, yb = max(ya, 0.0) / height, min(yb, height) / height
        if xa > xb or ya > yb or not (0 <= ya <= 1 and 0 <= xa <= 1):
            continue
        out.append(
            Ruling(
                round(xa, 5), round(ya, 5), round(xb, 5), round(yb, 5),
                "h" if h else "v", round(float(raw[i, 4]), 3), bool(raw[i, 5]),
            )
        )  # fmt: skip
    return out


def extract_rulings(page: pdfium.PdfPage, frame: PageFrame | None = None) -> list[Ruling]:
    """The page's horizontal and vertical rulings in the presented frame."""
    frame = frame or page_frame(page)
    raw = page.raw
    objects = [
        pdfium_c.FPDFPage_GetObject(raw, i) for i in range(pdfium_c.FPDFPage_CountObjects(raw))
    ]
    found: list[tuple[float, float, float, float, float, bool]] = []
    _walk(objects, _IDENTITY, 0, found)
    rulings = rulings_from_segments(np.array(found, dtype=np.float64).reshape(-1, 6), frame)
    log.debug("%d rulings from %d segments", len(rulings), len(found))
    return rulings


__all__ = ["Ruling", "extract_rulings", "rulings_from_segments"]
