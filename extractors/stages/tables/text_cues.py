"""What the words themselves say about a text-aligned table candidate: captions and notes that
bound a table, columns of running text (prose in a multi-column layout lines up too), and
lists whose first column holds only bullets or item numbers."""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence

from extractors.stages.tables.aligned import Cells

_CAPTION = re.compile(r"^(table|tab\.|figure|fig\.|exhibit|chart)$", re.IGNORECASE)
_CAPTION_NUMBER = re.compile(r"^[A-Z]?[-.]?[0-9IVX]")
_NOTE = re.compile(r"^(sources?|notes?|abbreviations?)\s*:|^[*†‡§¶]+\s*\S", re.IGNORECASE)
_MARKER = re.compile(r"^([•\-–—*·▪►○◦■□✓]|\(?[0-9]{1,2}[.)]|\(?[a-zA-Z][.)]|[ivx]{1,4}[.)])$")


def is_caption(first_words: Sequence[str]) -> bool:
    """A row that starts a caption ("Table A-3.", "Figure 2:") or a note ("Source: ...")."""
    if not first_words:
        return False
    if _NOTE.match(" ".join(first_words)):
        return True
    return (
        len(first_words) > 1
        and bool(_CAPTION.match(first_words[0]))
        and bool(_CAPTION_NUMBER.match(first_words[1]))
    )


def prose_columns(
    cells: Sequence[Sequence[Cells]], n_cols: int, min_words: int, share: float
) -> list[int]:
    """Columns where most rows hold a cell of `min_words`+ words: lines of running text."""
    rows = [r for r in cells if r]
    if not rows:
        return []
    out = []
    for col in range(n_cols):
        long = sum(any(c0 == col and len(ws) >= min_words for c0, _, ws in r) for r in rows)
        if long >= share * len(rows):
            out.append(col)
    return out


def prose_rows(cells: Sequence[Sequence[Cells]], min_words: int) -> list[bool]:
    """Per row: does it read as running text (a cell of `min_words`+ words over 2+ columns,
    or two such cells)?"""
    out = []
    for row in cells:
        long = [(c0, c1) for c0, c1, ws in row if len(ws) >= min_words]
        out.append(any(c1 > c0 for c0, c1 in long) or len(long) >= 2)
    return out


def is_list(cells: Sequence[Sequence[Cells]], texts: Sequence[str]) -> bool:
    """The first column holds only bullets or item markers ("•", "1.", "a)"), or, beside one
    column of text, line numbers counting up by one (a transcript): a list, not a table."""
    first = [ws for r in cells for c0, c1, ws in r if c0 == 0 and c1 == 0]
    single = [texts[ws[0]] if len(ws) == 1 else "" for ws in first]
    markers = [bool(_MARKER.match(t)) for t in single]
    if len(markers) >= 2 and sum(markers) >= 0.8 * len(markers):
        return True
    n_cols = 1 + max((c1 for r in cells for _, c1, _ in r), default=0)
    if n_cols == 2 and len(single) >= 3 and all(t.isdigit() for t in single):
        numbers = [int(t) for t in single]
        return all(b - a == 1 for a, b in itertools.pairwise(numbers))
    return False


__all__ = ["is_caption", "is_list", "prose_columns", "prose_rows"]
