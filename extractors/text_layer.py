"""PDF text layer -> `document.Line`s with `Word`s, in the page frame the input presents.

pdfium gives characters in content-stream order with boxes in PDF user space (y up, origin of
the mediabox). We map every box into the presented frame (after /Rotate, relative to the crop
box, origin top-left), group characters into words in their own writing direction (so text that
reads top-to-bottom after a /Rotate 90 still forms words), then words into lines. The per-char
ctypes calls dominate the cost (~2 us/char); the grouping itself is vectorised.
"""

from __future__ import annotations

import ctypes
import unicodedata
from dataclasses import dataclass

import numpy as np
import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
from pydantic import BaseModel, ConfigDict, Field

from extractors.document import Line, Word

SOURCE = "pdf"
# The text layer is a stage of its own for versions and hashing: its version and options are
# part of every config hash, and corrections to PDF words record `pdf@<version>`. Bump the
# version whenever a change here can alter the lines it makes.
TEXT_LAYER_VERSION = "1"


class TextLayerOptions(BaseModel):
    """How a PDF text layer becomes lines and when it is trusted (`[ingest.text_layer]`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # Word break when the gap to the previous char exceeds this share of the char height.
    # pdfium already inserts (generated) spaces for ordinary word gaps; this catches the rest.
    word_gap: float = Field(default=0.3, gt=0)
    # Line break (i.e. do not bridge columns or table cells) above this share of line height.
    line_gap: float = Field(default=1.0, gt=0)
    # Two boxes are on one line when their vertical overlap is at least this share of the smaller.
    same_line_overlap: float = Field(default=0.5, gt=0, le=1)
    # A text layer this small on a page covered by images is a scan with a page number or stamp.
    nearly_empty_chars: int = Field(default=40, ge=0)
    image_coverage: float = Field(default=0.3, ge=0, le=1)
    # Share of unmapped/garbage characters above which the text layer is not trusted.
    garbage_share: float = Field(default=0.3, gt=0, le=1)


_MAP_ERROR_SAMPLE = 200
_SPACES = np.array([c for c in range(0x3001) if chr(c).isspace()], dtype=np.uint32)
# Ligatures become letters (search and NER want "fi", not U+FB01); pdfium marks a hyphen that
# ends a line as U+FFFE: keep the visible hyphen.
_CHAR_FIXES = str.maketrans(
    {**{c: unicodedata.normalize("NFKC", c) for c in "ﬀﬁﬂﬃﬄﬅﬆ"}, "\ufffe": "-"}
)


@dataclass(frozen=True)
class PageFrame:
    """Where the presented page lies in user space: crop box (x0, y0, x1, y1) and /Rotate."""

    box: tuple[float, float, float, float]
    rotation: int

    @property
    def size(self) -> tuple[float, float]:
        """Presented (width, height) in points."""
        w, h = self.box[2] - self.box[0], self.box[3] - self.box[1]
        return (h, w) if self.rotation in (90, 270) else (w, h)

    def to_presented(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """User-space points -> presented-frame points (pt, origin top-left, y down)."""
        x0, y0, x1, y1 = self.box
        u, v = x - x0, y1 - y  # unrotated, top-left origin
        w, h = x1 - x0, y1 - y0
        if self.rotation == 90:  # /Rotate turns the page clockwise for display
            return h - v, u
        if self.rotation == 180:
            return w - u, h - v
        if self.rotation == 270:
            return v, w - u
        return u, v


@dataclass
class TextLayer:
    lines: list[Line]
    usable: bool
    reason: str  # why it is not usable ("" when usable)
    n_chars: int


def page_frame(page: pdfium.PdfPage) -> PageFrame:
    # get_bbox is pdfium's effective page box (crop box clipped to the media box, normalised),
    # the same box its renderer and FPDF_GetPageWidthF use.
    x0, y0, x1, y1 = page.get_bbox()
    return PageFrame(
        (min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)), page.get_rotation() % 360
    )


def _read_chars(textpage: pdfium.PdfTextPage) -> tuple[str, np.ndarray, np.ndarray]:
    """All characters: text (one code unit per char), loose boxes (n x 4 user space), angles."""
    n = textpage.count_chars()
    raw = textpage.raw
    text = textpage.get_text_range(0, n) if n else ""
    if len(text) != n:  # surrogate pairs or dropped chars: fall back to one call per char
        text = "".join(chr(pdfium_c.FPDFText_GetUnicode(raw, i) or 0xFFFD) for i in range(n))
    boxes = [(0.0, 0.0, 0.0, 0.0)] * n
    angles = [0.0] * n
    rect = pdfium_c.FS_RECTF()
    ref = ctypes.byref(rect)
    loose, angle = pdfium_c.FPDFText_GetLooseCharBox, pdfium_c.FPDFText_GetCharAngle
    # Loose boxes span the font's ascent..descent, so all chars of a line share one height.
    # Whitespace (incl. pdfium's generated spaces and line breaks) only separates words.
    for i in np.flatnonzero(~is_space(text)).tolist():
        loose(raw, i, ref)
        boxes[i] = (rect.left, rect.bottom, rect.right, rect.top)
        angles[i] = angle(raw, i)
    return text, np.array(boxes, dtype=np.float64).reshape(n, 4), np.array(angles)


def _codes(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)


def is_space(text: str) -> np.ndarray:
    """Per char: is it whitespace (as str.isspace), vectorised."""
    return np.isin(_codes(text), _SPACES)


def garbage_share(text: str) -> float:
    """Share of non-space chars that are replacement, control, surrogate or private-use chars."""
    codes = _codes(text)
    codes = codes[~np.isin(codes, _SPACES)]
    if len(codes) == 0:
        return 0.0
    bad = (
        (codes < 0x20)
        | ((codes >= 0x7F) & (codes < 0xA0))  # C0/C1 controls
        | ((codes >= 0xD800) & (codes < 0xF900))  # surrogates, private use
        | (codes == 0xFFFD)
        | (codes >= 0xF0000)  # supplementary private use planes
    )
    return float(bad.mean())


def _map_error_share(textpage: pdfium.PdfTextPage, n: int) -> float:
    """Share of chars without a Unicode mapping (Type3/symbolic fonts lacking ToUnicode)."""
    if n == 0:
        return 0.0
    step = max(1, n // _MAP_ERROR_SAMPLE)
    idx = range(0, n, step)
    errors = sum(1 for i in idx if pdfium_c.FPDFText_HasUnicodeMapError(textpage.raw, i) == 1)
    return errors / len(idx)


def image_coverage(page: pdfium.PdfPage, frame: PageFrame) -> float:
    """Share of the page area covered by image objects (bounding boxes, overlaps counted twice)."""
    x0, y0, x1, y1 = frame.box
    area = max((x1 - x0) * (y1 - y0), 1e-6)
    covered = 0.0
    for obj in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE], max_depth=3):
        left, bottom, right, top = obj.get_bounds()  # (nested in forms: approximate)
        w = max(0.0, min(right, x1) - max(left, x0))
        h = max(0.0, min(top, y1) - max(bottom, y0))
        covered += w * h
    return min(1.0, covered / area)


def extract_text_layer(
    page: pdfium.PdfPage, page_index: int, options: TextLayerOptions | None = None
) -> TextLayer:
    """Words and lines of one page, plus whether the layer can stand in for OCR."""
    o = options or TextLayerOptions()
    frame = page_frame(page)
    textpage = page.get_textpage()
    try:
        text, boxes, angles = _read_chars(textpage)
        map_errors = _map_error_share(textpage, len(text))
    finally:
        textpage.close()
    lines = group_lines(text, boxes, angles, frame, page_index, o)
    n_visible = int(np.count_nonzero(~is_space(text)))
    reason = ""
    if n_visible == 0:
        reason = "no text layer"
    elif max(garbage_share(text), map_errors) >= o.garbage_share:
        reason = "text layer is garbage (unmapped glyphs or control characters)"
    elif n_visible < o.nearly_empty_chars and image_coverage(page, frame) >= o.image_coverage:
        reason = f"scanned page: only {n_visible} chars of text over images"
    return TextLayer(lines=lines, usable=not reason, reason=reason, n_chars=n_visible)


def _reading_frame(
    px0: np.ndarray, py0: np.ndarray, px1: np.ndarray, py1: np.ndarray, direction: np.ndarray
) -> np.ndarray:
    """Presented boxes -> boxes in each char's own frame (writing along +x, lines stacked +y)."""
    # direction k: text runs at k*90 degrees clockwise in the presented (y-down) frame.
    cos = np.array([1, 0, -1, 0])[direction]
    sin = np.array([0, 1, 0, -1])[direction]
    # x' = p . d, y' = p . n with d = (cos, sin), n = (-sin, cos); exact for multiples of 90.
    ax, ay = cos * px0 + sin * py0, -sin * px0 + cos * py0
    bx, by = cos * px1 + sin * py1, -sin * px1 + cos * py1
    return np.stack(
        [np.minimum(ax, bx), np.minimum(ay, by), np.maximum(ax, bx), np.maximum(ay, by)], 1
    )


def group_lines(
    text: str,
    boxes: np.ndarray,
    angles: np.ndarray,
    frame: PageFrame,
    page_index: int,
    options: TextLayerOptions | None = None,
) -> list[Line]:
    """Chars (content order, user-space boxes, angles in radians) -> lines of words."""
    o = options or TextLayerOptions()
    n = len(text)
    if n == 0:
        return []
    px_a, py_a = frame.to_presented(boxes[:, 0], boxes[:, 1])
    px_b, py_b = frame.to_presented(boxes[:, 2], boxes[:, 3])
    pres = np.stack([np.minimum(px_a, px_b), np.minimum(py_a, py_b),
                     np.maximum(px_a, px_b), np.maximum(py_a, py_b)], 1)  # fmt: skip
    # pdfium's char angle turns clockwise as seen (text matrix [0 1 -1 0], written upwards,
    # reports 270), and /Rotate turns the page clockwise too: the two add up.
    quarter = np.rint(np.degrees(angles) / 90.0).astype(np.int64)
    direction = (frame.rotation // 90 + quarter) % 4
    rf = _reading_frame(pres[:, 0], pres[:, 1], pres[:, 2], pres[:, 3], direction)
    height = rf[:, 3] - rf[:, 1]
    typical = float(np.median(height[height > 0])) if np.any(height > 0) else 1.0
    height = np.where(height > 0, height, typical)

    keep = ~is_space(text)
    brk = np.zeros(n, dtype=bool)
    if n > 1:
        prev, cur = rf[:-1], rf[1:]
        h = np.maximum(height[:-1], height[1:])
        overlap = np.minimum(prev[:, 3], cur[:, 3]) - np.maximum(prev[:, 1], cur[:, 1])
        brk[1:] = (
            (direction[1:] != direction[:-1])
            | (cur[:, 0] - prev[:, 2] > o.word_gap * h)  # gap
            | (cur[:, 2] < prev[:, 0])  # jumps back
            | (overlap < o.same_line_overlap * np.minimum(height[:-1], height[1:]))  # other line
        )
    starts_mask = keep & np.concatenate([[True], ~keep[:-1]]) | keep & brk
    starts = np.flatnonzero(starts_mask)
    if len(starts) == 0:
        return []
    bounds = np.flatnonzero(starts_mask | ~keep)
    ends = np.append(bounds, n)[np.searchsorted(bounds, starts, side="right")]
    seg = np.stack([starts, ends], 1).ravel()
    w_pres, w_rf = _union(pres, seg), _union(rf, seg)
    w_text = [
        text[s:e].translate(_CHAR_FIXES)
        for s, e in zip(starts.tolist(), ends.tolist(), strict=True)
    ]
    return _words_to_lines(w_text, w_pres, w_rf, direction[starts], frame.size, page_index, o)


def _union(boxes: np.ndarray, seg: np.ndarray) -> np.ndarray:
    """Union box of each char range; `seg` interleaves starts and (exclusive) ends."""
    padded = np.vstack([boxes, boxes[:1]])  # reduceat needs every end to be a valid index
    lo = np.minimum.reduceat(padded[:, :2], seg)[::2]
    hi = np.maximum.reduceat(padded[:, 2:], seg)[::2]
    return np.hstack([lo, hi])


def _words_to_lines(
    texts: list[str],
    pres: np.ndarray,
    rf: np.ndarray,
    direction: np.ndarray,
    size: tuple[float, float],
    page_index: int,
    o: TextLayerOptions,
) -> list[Line]:
    """Cluster words (per direction) by vertical overlap, then split clusters at wide gaps."""
    width, height = size
    boxes = rf.tolist()
    groups: list[list[int]] = []
    for d in np.unique(direction).tolist():
        idx = np.flatnonzero(direction == d)
        order = idx[np.argsort(rf[idx, 1] + rf[idx, 3], kind="stable")].tolist()
        # A line's band is its first word's (top, bottom); never widened, so lines cannot chain
        # into each other through one tall word that overlaps two of them.
        bands: list[tuple[float, float]] = []
        members: list[list[int]] = []
        open_: list[int] = []
        for i in order:
            _, top, _, bot = boxes[i]
            h = max(bot - top, 1e-6)
            open_ = [c for c in open_ if bands[c][1] > top - h]
            best, best_ratio = -1, o.same_line_overlap
            for c in open_:
                ctop, cbot = bands[c]
                ratio = (min(bot, cbot) - max(top, ctop)) / max(min(h, cbot - ctop), 1e-6)
                if ratio >= best_ratio:
                    best, best_ratio = c, ratio
            if best < 0:
                bands.append((top, bot))
                members.append([i])
                open_.append(len(bands) - 1)
            else:
                members[best].append(i)
        for (ctop, cbot), line in zip(bands, members, strict=True):
            line.sort(key=lambda k: boxes[k][0])
            limit = o.line_gap * (cbot - ctop)
            current = [line[0]]
            for k in line[1:]:
                if boxes[k][0] - boxes[current[-1]][2] > limit:  # a column gutter or table cell
                    groups.append(current)
                    current = []
                current.append(k)
            groups.append(current)
    groups.sort(key=min)  # content-stream order of a line's first word: usually reading order
    # Boxes as the model's validator would store them (clamped, ordered, rounded), computed in
    # one go: validating ~2000 models per page costs more than the whole text extraction.
    rel = np.round(np.clip(pres / (width, height, width, height), 0.0, 1.0), 5)
    visible = ((rel[:, 2] > rel[:, 0]) & (rel[:, 3] > rel[:, 1])).tolist()
    rel_list = rel.tolist()
    lines: list[Line] = []
    for group in groups:
        kept = [k for k in group if visible[k]]  # drop words wholly outside the crop box
        if not kept:
            continue
        ln = len(lines)
        words = [
            Word.model_construct(id=f"p{page_index}-pdf-l{ln}-w{wn}", text=texts[k],
                                 bbox=rel_list[k], confidence=1.0, source=SOURCE)
            for wn, k in enumerate(kept)
        ]  # fmt: skip
        sub = rel[kept]
        box = [*sub[:, :2].min(axis=0).tolist(), *sub[:, 2:].max(axis=0).tolist()]
        text = " ".join(w.text for w in words)
        lines.append(
            Line.model_construct(id=f"p{page_index}-pdf-l{ln}", text=text, bbox=box, words=words,
                                 confidence=1.0, source=SOURCE)
        )  # fmt: skip
    return lines


__all__ = [
    "PageFrame",
    "TextLayer",
    "extract_text_layer",
    "garbage_share",
    "group_lines",
    "image_coverage",
    "page_frame",
]
