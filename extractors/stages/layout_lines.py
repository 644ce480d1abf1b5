"""Text-line evidence for the layout stage (`layout.cdla`): lines seen in a region's ink, where
paragraphs start, and whether a born-digital page's text layer says enough to skip the detector.

CDLA returns whole columns as one text region; paragraphs are what users and PubLayNet-style
annotations mean by a text block. On one-column text pages with nothing but text on them, the
text layer gives the layout (paragraphs, titles, header/footer, references) without the model.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence

import cv2
import numpy as np

from extractors.document import Line
from extractors.geometry import as_box, projection_gaps, split_at

# A text line as (top, bottom, left, right), in pixels or page fractions.
LineSpan = tuple[float, float, float, float]
# Text-layer evidence of a bibliography: its heading, and entries opening with "[12]".
_REFERENCES = re.compile(
    r"^(\d+\.?\s*)?(references|bibliography|literature cited|works cited)$", re.I
)
_CITATION = re.compile(r"^\[\d{1,3}\]")


def ink_lines(gray: np.ndarray, min_height: int = 2) -> list[LineSpan]:
    """Text lines of a crop by its row profile: (top, bottom, left ink, right ink) in crop
    pixels, top to bottom. Ink is at or below the crop's Otsu threshold (at most 160)."""
    if gray.size == 0 or int(gray.max()) - int(gray.min()) < 64:
        return []
    otsu, _ = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    ink = gray <= min(float(otsu), 160.0)
    rows = ink.sum(axis=1) > max(1, 0.005 * gray.shape[1])  # ignore specks
    edges = np.flatnonzero(np.diff(np.concatenate([[0], rows.astype(np.int8), [0]])))
    runs = [[int(t), int(b)] for t, b in zip(edges[::2], edges[1::2], strict=True)]
    if not runs:
        return []
    # Descenders, accents and rules show as thin runs beside a line: join them to the nearer one.
    height = float(np.median([b - t for t, b in runs]))
    merged: list[list[int]] = []
    for i, run in enumerate(runs):
        thin = run[1] - run[0] < 0.5 * height
        gap_up = run[0] - merged[-1][1] if merged else np.inf
        gap_down = runs[i + 1][0] - run[1] if i + 1 < len(runs) else np.inf
        if merged and thin and gap_up <= gap_down:
            merged[-1][1] = run[1]
        elif merged and merged[-1][1] - merged[-1][0] < 0.5 * height and gap_up < 0.5 * height:
            merged[-1][1] = run[1]  # the previous run was a thin fragment above this line
        else:
            merged.append(list(run))
    out: list[LineSpan] = []
    for top, bottom in merged:
        if bottom - top >= min_height:
            cols = np.flatnonzero(ink[top:bottom].any(axis=0))
            out.append((top, bottom, int(cols[0]), int(cols[-1]) + 1))
    return out


def paragraph_starts(lines: Sequence[LineSpan], width: float) -> list[int]:
    """Indices of lines (after the first) that open a new paragraph, from typesetting evidence:
    - a gap clearly larger than the usual line gap (block paragraphs);
    - a first-line indent (one to a few ems, with the next line back at the margin), or a line
      left of the margin (the first line of a hanging-indent entry, as in bibliographies);
    - the previous line stopping well short of the measure (a paragraph's last line) while this
      one starts at the margin and is not itself short (a list of short lines stays one block).
    """
    if len(lines) < 4:
        return []
    heights = np.array([b - t for t, b, _, _ in lines], np.float64)
    gaps = np.array([lines[i][0] - lines[i - 1][1] for i in range(1, len(lines))], np.float64)
    h, g = float(np.median(heights)), float(np.median(gaps))
    left = float(np.median([ln[2] for ln in lines]))
    right = float(np.percentile([ln[3] for ln in lines], 75))
    measure = max(right - left, 1.0)
    if measure < 0.5 * width:  # not a column of running text (centred lines, a list of labels)
        return []

    def at_margin(i: int) -> bool:
        return abs(lines[i][2] - left) < 0.4 * h

    def full(i: int) -> bool:
        return lines[i][3] > right - 0.15 * measure

    starts = []
    for i in range(1, len(lines)):
        gap = gaps[i - 1]
        blank = gap > max(1.8 * g, g + 0.5 * h)
        indent = lines[i][2] - left
        indented = 0.8 * h <= indent <= 0.2 * measure and i + 1 < len(lines) and at_margin(i + 1)
        after_short = (
            lines[i - 1][3] < right - 0.3 * measure and at_margin(i) and (full(i) or gap > g)
        )
        outdented = left - lines[i][2] >= 0.8 * h  # a hanging indent's first line
        if blank or indented or after_short or outdented:
            starts.append(i)
    return starts


def split_paragraphs(box: np.ndarray, gray_page: np.ndarray) -> list[np.ndarray]:
    """A text box cut into paragraphs at the gaps before paragraph-opening lines (work pixels).
    CDLA often returns a whole column as one text box; paragraphs are the unit users and
    PubLayNet-style annotations mean by a text block."""
    x0, y0, x1, y1 = (round(float(v)) for v in box)
    crop = gray_page[max(0, y0) : max(0, y1), max(0, x0) : max(0, x1)]
    lines = ink_lines(crop)
    starts = paragraph_starts(lines, crop.shape[1])
    if not starts:
        return [box]
    cuts = [y0 + (lines[i - 1][1] + lines[i][0]) / 2 for i in starts]
    edges = [float(box[1]), *cuts, float(box[3])]
    return [np.array([box[0], a, box[2], b]) for a, b in itertools.pairwise(edges)]


def _rows(boxes: Sequence[Sequence[float]]) -> list[list[Sequence[float]]]:
    """Line boxes grouped into rows: a box joins the row above when they overlap vertically by
    more than a third of the smaller height."""
    rows: list[list[Sequence[float]]] = []
    for box in sorted(boxes, key=lambda b: (b[1] + b[3]) / 2):
        if rows:
            last = rows[-1][0]
            overlap = min(last[3], box[3]) - max(last[1], box[1])
            if overlap > min(last[3] - last[1], box[3] - box[1]) / 3:
                rows[-1].append(box)
                continue
        rows.append([box])
    return rows


def one_column(lines: Sequence[Line]) -> bool:
    """One column of text: every row of side-by-side line pieces is one typeset line, and no
    piece edge recurs at one place down the page (the columns of a table, a gutter).

    A typeset line may come in pieces: a label (bullet, item or heading number) before its
    line, or a justified line the text layer split at its widened spaces (all gaps alike and
    under two line heights; table cells are spaced unevenly)."""
    boxes = [ln.bbox for ln in lines]
    if not boxes:
        return True
    measure = max(b[2] for b in boxes) - min(b[0] for b in boxes)
    edges: list[tuple[float, float]] = []  # (x, line height): piece edges beside a gap
    split_rows = 0
    for row in _rows(boxes):
        if len(row) == 1:
            continue
        row = sorted(row, key=lambda b: b[0])
        height = float(np.median([b[3] - b[1] for b in row]))
        gaps = [b[0] - a[2] for a, b in itertools.pairwise(row)]
        label, rest = row[0][2] - row[0][0], row[1][2] - row[1][0]
        if (
            len(row) == 2
            and gaps[0] <= 6 * height
            and (label <= 1.5 * height or (label <= 4 * height and rest >= 0.3 * measure))
        ):
            continue  # a label and its line
        if max(gaps) > 2 * height or (len(gaps) > 1 and max(gaps) - min(gaps) > 0.3 * height):
            return False
        split_rows += 1
        for a, b in itertools.pairwise(row):
            edges += [(a[2], height), (b[0], height)]
    aligned = max(4, 0.5 * split_rows)
    return not any(sum(abs(x - other) < 0.3 * h for other, _ in edges) >= aligned for x, h in edges)


def ink_outside_lines(
    image: np.ndarray,
    lines: Sequence[Line],
    pad: int = 2,
    known: Sequence[Sequence[float]] = (),
) -> float:
    """Share of the rendered page's ink outside every text line's box and the `known` boxes
    (a PDF's vector rulings): pictures, charts and other drawings (presented-page image,
    relative boxes)."""
    gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY) if image.ndim == 3 else image
    ink = gray < 160
    total = int(np.count_nonzero(ink))
    if total == 0:
        return 0.0
    h, w = gray.shape
    for x0, y0, x1, y1 in [*(ln.bbox for ln in lines), *known]:
        ink[
            max(0, int(y0 * h) - pad) : int(np.ceil(y1 * h)) + pad,
            max(0, int(x0 * w) - pad) : int(np.ceil(x1 * w)) + pad,
        ] = False
    return int(np.count_nonzero(ink)) / total


def body_height(lines: Sequence[Line]) -> float:
    """The median height of a page's text lines (page fraction): what "larger" is measured by."""
    return float(np.median([ln.bbox[3] - ln.bbox[1] for ln in lines])) if lines else 0.0


def column_sections(
    lines: Sequence[Line], min_column_gap: float = 0.015, min_row_gap_lines: float = 0.5
) -> list[list[Line]]:
    """The lines cut into sections that each read as one column, by recursive XY-cut: at
    vertical gaps running through a whole group (columns; narrower gaps are word or label gaps),
    then at horizontal gaps of at least `min_row_gap_lines` line heights (a full-width title or
    table above two columns). Sections come in no particular order (reading order orders the
    blocks made from them)."""
    if not lines:
        return []
    boxes = [as_box(ln.bbox) for ln in lines]
    row_gap = min_row_gap_lines * body_height(lines)

    def visit(items: list[int]) -> list[list[int]]:
        if len(items) <= 1:
            return [items]
        cuts = projection_gaps([(boxes[i][0], boxes[i][2]) for i in items], min_column_gap)
        if cuts:
            return [s for part in split_at(items, boxes, 0, cuts) for s in visit(part)]
        cuts = projection_gaps([(boxes[i][1], boxes[i][3]) for i in items], row_gap)
        strips = split_at(items, boxes, 1, cuts) if cuts else [items]
        if len(strips) == 1:
            return [items]
        # A strip no column gap splits stays with its neighbours: paragraphs of one column.
        out: list[list[int]] = []
        for strip in strips:
            parts = visit(strip)
            if len(parts) == 1 and out and _same_column(out[-1], strip, boxes):
                out[-1] = out[-1] + strip
            else:
                out.extend(parts)
        return out

    return [
        [lines[i] for i in sorted(s, key=lambda i: boxes[i][1])]
        for s in visit(list(range(len(lines))))
    ]


def _same_column(
    previous: list[int], strip: list[int], boxes: Sequence[tuple[float, float, float, float]]
) -> bool:
    """Whether `strip` continues the column `previous` ends with (they share its extent)."""
    px0, px1 = min(boxes[i][0] for i in previous), max(boxes[i][2] for i in previous)
    sx0, sx1 = min(boxes[i][0] for i in strip), max(boxes[i][2] for i in strip)
    overlap = min(px1, sx1) - max(px0, sx0)
    return overlap > 0.5 * min(px1 - px0, sx1 - sx0)


def regions_from_lines(
    lines: Sequence[Line], body: float | None = None
) -> list[tuple[str, list[float]]]:
    """Regions of one column of text from its text layer alone: paragraphs (same evidence as
    `paragraph_starts`), lines set clearly larger than the body (`body`: the page's median line
    height, else this column's) as titles, short groups isolated at the very top/bottom as
    header/footer, bibliography entries as references."""
    if not lines:
        return []
    # A row of pieces ("[12]" and its entry, a split justified line) is one typeset line.
    by_box = {id(ln.bbox): ln for ln in lines}
    rows = [sorted(row, key=lambda b: b[0]) for row in _rows([ln.bbox for ln in lines])]
    texts = [" ".join(by_box[id(b)].text for b in row) for row in rows]
    spans = [
        (min(b[1] for b in row), max(b[3] for b in row), row[0][0], max(b[2] for b in row))
        for row in rows
    ]
    body = body or float(np.median([b - t for t, b, _, _ in spans]))
    large = [b - t > 1.25 * body for t, b, _, _ in spans]
    width = max(r for *_, r in spans) - min(x for _, _, x, _ in spans)
    starts = set(paragraph_starts(spans, width))
    # the lines of one multi-line title sit tight; indents and short lines there mean nothing
    starts -= {
        i for i in starts if large[i] and large[i - 1] and spans[i][0] - spans[i - 1][1] < body / 2
    }
    starts |= {i for i in range(1, len(spans)) if large[i] != large[i - 1]}
    cuts = [0, *sorted(starts), len(spans)]
    groups = [list(range(a, b)) for a, b in itertools.pairwise(cuts)]
    out: list[tuple[str, list[float]]] = []
    in_references = False  # after a "References" heading every paragraph is an entry
    for n, group in enumerate(groups):
        x0 = min(spans[i][2] for i in group)
        x1 = max(spans[i][3] for i in group)
        y0, y1 = spans[group[0]][0], spans[group[-1]][1]
        text = texts[group[0]].strip()
        kind = "title" if large[group[0]] and len(group) <= 3 else "text"
        if kind == "text" and (in_references or _CITATION.match(text)):
            kind = "reference"
        in_references = in_references or (len(group) == 1 and bool(_REFERENCES.match(text)))
        gap_up = y0 - spans[groups[n - 1][-1]][1] if n else 1.0
        gap_down = spans[groups[n + 1][0]][0] - y1 if n + 1 < len(groups) else 1.0
        if len(group) <= 2 and y1 < 0.08 and gap_down > 2 * body:
            kind = "header"
        elif len(group) <= 2 and y0 > 0.92 and gap_up > 2 * body:
            kind = "footer"
        out.append((kind, [x0, y0, x1, y1]))
    return out
