"""Visual rows of a page: the words that sit side by side, whatever block they were read in.

A label and its value are often far apart on one printed row ("TOTAL ........ 33.90") and the
layout or OCR may put them in different blocks or lines; fields are found on rows. A row's text
joins its words left to right with one space, and keeps each word's character span so a match in
the text maps back to its words.
"""

from __future__ import annotations

import bisect
import dataclasses
import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from extractors.document import Line, Page, Word
from extractors.stages.entities.text import join_words, words_in_span

# Two lines are on one row when their vertical overlap is at least this share of the lower one.
SAME_ROW_OVERLAP = 0.5


@dataclass
class Row:
    page: int
    number: int  # top to bottom on the page
    words: list[Word] = field(default_factory=list)
    text: str = ""
    starts: list[int] = field(default_factory=list)
    ends: list[int] = field(default_factory=list)

    @property
    def top(self) -> float:
        return min(w.bbox[1] for w in self.words)

    @property
    def bottom(self) -> float:
        return max(w.bbox[3] for w in self.words)

    @property
    def left(self) -> float:
        return min(w.bbox[0] for w in self.words)

    @property
    def right(self) -> float:
        return max(w.bbox[2] for w in self.words)

    @property
    def height(self) -> float:
        return self.bottom - self.top

    def words_in(self, start: int, end: int) -> list[Word]:
        """The words a character span of `text` touches."""
        return words_in_span(self.words, self.starts, self.ends, start, end)


def _overlap(a: tuple[float, float], b: tuple[float, float]) -> float:
    return min(a[1], b[1]) - max(a[0], b[0])


def page_rows(page: Page) -> list[Row]:
    """The page's lines grouped into rows (a line joins the row it overlaps vertically and does
    not overlap horizontally), top to bottom, words left to right."""
    lines: list[Line] = [line for line in page.lines() if line.words]
    lines.sort(key=lambda line: (line.bbox[1] + line.bbox[3]) / 2)
    groups: list[list[Line]] = []
    spans: list[tuple[float, float]] = []
    for line in lines:
        y = (line.bbox[1], line.bbox[3])
        height = max(y[1] - y[0], 1e-9)
        placed = False
        # Only the last few rows can overlap a line that far down the sorted order.
        for n in range(len(groups) - 1, max(len(groups) - 4, -1), -1):
            span = spans[n]
            lower = min(height, span[1] - span[0]) or 1e-9
            side_by_side = all(
                _overlap((o.bbox[0], o.bbox[2]), (line.bbox[0], line.bbox[2])) <= 0
                for o in groups[n]
            )
            if _overlap(span, y) >= SAME_ROW_OVERLAP * lower and side_by_side:
                groups[n].append(line)
                spans[n] = (min(span[0], y[0]), max(span[1], y[1]))
                placed = True
                break
        if not placed:
            groups.append([line])
            spans.append(y)
    rows: list[Row] = []
    for number, group in enumerate(groups):
        words = [w for line in sorted(group, key=lambda line: line.bbox[0]) for w in line.words]
        text, starts, ends = join_words(words)
        rows.append(Row(page.index, number, words, text, starts, ends))
    return rows


# A gap this wide (share of the page width) between two words of a row parts two columns.
COLUMN_GAP = 0.08


def sub_row(row: Row, first: int, last: int) -> Row:
    """Words `first` to `last` (exclusive) of a row, as a row of their own."""
    offset = row.starts[first]
    return Row(
        row.page,
        row.number,
        row.words[first:last],
        row.text[offset : row.ends[last - 1]],
        [s - offset for s in row.starts[first:last]],
        [e - offset for e in row.ends[first:last]],
    )


def _char_width(word: Word) -> float:
    return (word.bbox[2] - word.bbox[0]) / max(1, len(word.text))


def split_row(row: Row, gap: float = COLUMN_GAP) -> list[Row]:
    """A row cut at wide gaps into the parts that sit in different columns ("Northwind Ltd"
    on the left, "INVOICE" on the right). A gap is wide past `gap` of the page width and past
    four characters of the words beside it (large type spaces its words widely)."""
    words = row.words
    cuts = [
        k
        for k in range(1, len(words))
        if words[k].bbox[0] - words[k - 1].bbox[2]
        > max(gap, 4 * max(_char_width(words[k]), _char_width(words[k - 1])))
    ]
    bounds = [0, *cuts, len(words)]
    return [sub_row(row, a, b) for a, b in itertools.pairwise(bounds) if b > a]


class _Span(Protocol):
    @property
    def start(self) -> int: ...
    @property
    def end(self) -> int: ...


SpanT = TypeVar("SpanT", bound=_Span)
# Joins row texts for one scan: no pattern matches it (`\s` does not, nor `\w`), so no match
# runs from one row into the next.
ROW_SEPARATOR = "\x00"


def scan_rows(rows: Sequence[Row], find: Callable[[str], list[SpanT]]) -> list[list[SpanT]]:
    """`find` run once over all rows' texts (regex scans cost per call, and pages have hundreds
    of rows), its matches handed back per row with offsets into that row's text. Matches are
    frozen dataclasses with `start` and `end`."""
    text = ROW_SEPARATOR.join(row.text for row in rows)
    starts: list[int] = []
    at = 0
    for row in rows:
        starts.append(at)
        at += len(row.text) + 1
    out: list[list[SpanT]] = [[] for _ in rows]
    for match in find(text):
        n = bisect.bisect_right(starts, match.start) - 1
        offset = starts[n]
        if match.end - offset > len(rows[n].text):
            continue  # crosses into the next row
        out[n].append(
            dataclasses.replace(match, start=match.start - offset, end=match.end - offset)  # type: ignore[type-var]
        )
    return out
