"""Tables whose text is turned a quarter (a wide table set sideways on the page): which way
the words read, and the grid turned so that its rows are the table's rows."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from extractors.document import Page, Word
from extractors.stages.tables.common import CellBox


def line_numbers(page: Page, words: Sequence[Word]) -> list[int]:
    """For each of `words` (page order), the number of the line holding it."""
    number = {w.id: n for n, ln in enumerate(ln for b in page.blocks for ln in b.lines)
              for w in ln.words}  # fmt: skip
    return [number.get(w.id, -1) for w in words]


def text_direction(
    ids: Sequence[int],
    boxes: np.ndarray,
    texts: Sequence[str],
    lines_of: Sequence[int],
    rotation: int,
) -> int:
    """0 for horizontal text; +1 when the words read top to bottom (text turned clockwise),
    -1 bottom to top, when most words of 3+ characters stand tall: decided by the order of
    words in multi-word lines, else by the page's /Rotate (90 turns upright text clockwise)."""
    longer = [k for k in ids if len(texts[k]) >= 3]
    if not longer:
        return 0
    w = boxes[longer, 2] - boxes[longer, 0]
    h = boxes[longer, 3] - boxes[longer, 1]
    if float(np.mean(h > 1.5 * w)) < 0.6:
        return 0
    first: dict[int, int] = {}
    vote = 0
    for k in ids:
        line = lines_of[k]
        if line in first:
            vote += 1 if boxes[k, 1] > boxes[first[line], 1] else -1
        else:
            first[line] = k
    if vote == 0:
        return {90: 1, 270: -1}.get(rotation, 0)
    return 1 if vote > 0 else -1


def reading_order(words: Sequence[Word], direction: int) -> Sequence[Word]:
    """Words in the order a turned table's cells read them (lines, then along each line)."""
    if direction > 0:
        return sorted(words, key=lambda w: (-round(w.bbox[2], 3), w.bbox[1]))
    if direction < 0:
        return sorted(words, key=lambda w: (round(w.bbox[0], 3), -w.bbox[3]))
    return words


def turn(cells: list[CellBox], n_rows: int, n_cols: int, direction: int) -> list[CellBox]:
    """Rows and columns of a table whose text is turned: its rows run across the page."""
    out = []
    for c in cells:
        if direction > 0:  # reading downwards: the table's top is the page's right side
            row, col = n_cols - c.col - c.col_span, c.row
        else:  # reading upwards: its top is the page's left side
            row, col = c.col, n_rows - c.row - c.row_span
        out.append(CellBox(row, col, c.bbox, row_span=c.col_span, col_span=c.row_span,
                           is_header=c.is_header, confidence=c.confidence))  # fmt: skip
    return out


__all__ = ["line_numbers", "reading_order", "text_direction", "turn"]
