"""Form segments: runs of a page's words that read as one form entity (a label, a value, a title).

OCR lines on forms often hold a key and its value ("DATE: June 21, 1993"), or two fields of one
row; a value that wraps continues on the lines below. So lines are cut after a colon, at wide
gaps between words and around check boxes, and then cut pieces that continue each other on the
next line (a wrapped paragraph, a two-line title) are joined again.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field

from extractors.document import Page, Word
from extractors.geometry import Box, as_box, union

CHECK_MARKS = frozenset("☐☑☒□■▢◻✓✔✗✘")
CHECKED_MARKS = frozenset("☑☒■✓✔✗✘")
_VALUE_TOKEN = re.compile(r"^[$#(€£]?\d[\d.,/:%)-]*$")
_MONTH = re.compile(r"^(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?,?$", re.I)
_LETTER = re.compile(r"[^\W\d_]")
_LIST_START = re.compile(r"^(?:\(?\d{1,2}[.)]|\(?[a-hA-H][.)]|[-•*])\s")
# A wide gap between two words of one OCR line, in line heights: two fields of one row.
GAP_CUT = 1.6
# A line of this many words (or a wide one) may wrap on to the next.
WRAP_WORDS = 8


@dataclass
class Segment:
    """Words of one page in reading order, and the box they cover (page-relative)."""

    page: int
    words: list[Word]
    lines: int = 1  # OCR lines it spans
    after_colon: bool = False  # it follows "Label:" on its OCR line
    label: str = ""  # KEY, VALUE, HEADER or "" (unlabelled)
    score: float = 0.0  # confidence of the label
    _cache: tuple[int, Box, float, str, bool] | None = field(
        default=None, repr=False, compare=False
    )

    def _measure(self) -> tuple[int, Box, float, str, bool]:
        # Box, height and text are read many times by the neighbour search; words only ever
        # grow (a wrapped line joins), so the word count tells whether they are still right.
        if self._cache is None or self._cache[0] != len(self.words):
            box = union([as_box(w.bbox) for w in self.words])
            height = statistics.median(w.bbox[3] - w.bbox[1] for w in self.words)
            text = " ".join(w.text for w in self.words)
            mark = len(self.words) == 1 and is_check_mark(text)
            self._cache = (len(self.words), box, height, text, mark)
        return self._cache

    @property
    def box(self) -> Box:
        return self._measure()[1]

    @property
    def height(self) -> float:
        """Median word height: the size of the text, whatever the number of lines."""
        return self._measure()[2]

    @property
    def text(self) -> str:
        return self._measure()[3]

    @property
    def is_checkbox(self) -> bool:
        return self._measure()[4]


def is_check_mark(text: str) -> bool:
    return bool(text) and len(text) <= 2 and all(c in CHECK_MARKS for c in text)


def _value_tail(words: Sequence[Word]) -> int:
    """Where a run of number, date or amount tokens ending the line starts, after text (the
    OCR joins "Date Rec'd  6/21/93" into one line); len(words) when there is none."""
    start = len(words)
    while start > 0 and _VALUE_TOKEN.match(words[start - 1].text):
        start -= 1
    if start == len(words) or start == 0:
        return len(words)
    head = words[:start]
    if any(w.text.endswith(":") for w in head) or _MONTH.match(head[-1].text):
        return len(words)  # cut at the colon already; or a date ("June 21, 1993")
    label = len(head) <= 3 and all(_LETTER.search(w.text) for w in head)
    return start if label else len(words)


def _cut_line(words: Sequence[Word], page_height: float) -> list[list[Word]]:
    """Pieces of one OCR line: after a colon, at wide gaps, check marks alone, before a value
    that ends a line of text."""
    tail = _value_tail(words)
    pieces: list[list[Word]] = []
    current: list[Word] = []
    for n, word in enumerate(words):
        if current:
            prev = current[-1]
            h = max(prev.bbox[3] - prev.bbox[1], word.bbox[3] - word.bbox[1], 1e-6)
            gap = word.bbox[0] - prev.bbox[2]
            if (
                prev.text.endswith(":")
                or gap > GAP_CUT * h
                or is_check_mark(prev.text)
                or is_check_mark(word.text)
                or n == tail
            ):
                pieces.append(current)
                current = []
        current.append(word)
    if current:
        pieces.append(current)
    return pieces


def line_pieces(page: Page) -> list[Segment]:
    """Every OCR line of the page cut into pieces, in reading order."""
    out: list[Segment] = []
    for block in sorted(page.blocks, key=lambda b: b.order):
        for line in block.lines:
            words = [w for w in line.words if w.text.strip()]
            pieces = _cut_line(sorted(words, key=lambda w: w.bbox[0]), page.height)
            for n, piece in enumerate(pieces):
                after = n > 0 and pieces[n - 1][-1].text.endswith(":")
                out.append(Segment(page.index, piece, after_colon=after))
    return out


def _continues(upper: Segment, lower: Segment, page_width_share: float) -> bool:
    """Whether `lower` is the next line of `upper` (a wrapped value, a two-line title)."""
    a, b = upper.box, lower.box
    h = max(upper.height, lower.height)
    if upper.is_checkbox or lower.is_checkbox or upper.text.endswith((":", "?")):
        return False
    if not 0.66 < upper.height / max(lower.height, 1e-6) < 1.5:
        return False
    if not -0.3 * h < b[1] - a[3] < 0.7 * h:
        return False
    if _LIST_START.match(lower.text + " "):
        return False
    aligned = abs(b[0] - a[0]) < 1.5 * h
    inside = a[0] - h < b[0] and b[2] < a[2] + h
    if lower.text.endswith(":"):
        return False
    if _starts_anew(upper.text, lower.text):
        return False
    # A long value after its key on the line ("Remarks: the current ...") wraps back to the
    # left margin.
    hanging = upper.after_colon and len(upper.words) >= 5 and b[0] < a[0] and b[2] > a[0] + 2 * h
    # Stacked short labels ("Date", "Name") and list items are separate fields; wrapped text
    # fills its line, so the upper line reaches as far right as the one below.
    wide = (a[2] - a[0]) > page_width_share or len(upper.words) >= WRAP_WORDS
    full = a[2] >= b[2] - 2 * h
    return wide and full and (aligned or inside or hanging)


def _starts_anew(upper: str, lower: str) -> bool:
    """The lower line begins a new item: a capital after a line that ended a phrase (a name,
    a closing bracket, a full stop) rather than one broken mid-phrase ("... to be", "... and,")."""
    last = upper.split()[-1] if upper.split() else ""
    broken = upper.endswith((",", "-", "&", "/")) or (last.isalpha() and last.islower())
    return lower[:1].isupper() and not broken


def segments(page: Page, wrap_width: float = 0.3) -> list[Segment]:
    """The page's form segments: line pieces, wrapped continuations joined (reading order)."""
    pieces = line_pieces(page)
    order = sorted(range(len(pieces)), key=lambda i: (pieces[i].box[1], pieces[i].box[0]))
    merged: list[Segment] = []
    tail: dict[int, int] = {}  # merged segment -> index of its last piece
    open_: list[int] = []  # merged segments a later piece may still continue
    for i in order:
        piece = pieces[i]
        top = piece.box[1]
        # Pieces come top to bottom: a segment ending well above this one is closed for good.
        open_ = [m for m in open_ if top - pieces[tail[m]].box[3] < 2 * pieces[tail[m]].height]
        target = None
        for m in open_:
            last = pieces[tail[m]]
            if _continues(last, piece, wrap_width) and _only_below(last, piece, pieces):
                target = m
                break
        if target is None:
            merged.append(Segment(piece.page, list(piece.words)))
            tail[len(merged) - 1] = i
            open_.append(len(merged) - 1)
        else:
            merged[target].words.extend(piece.words)
            merged[target].lines += 1
            tail[target] = i
    return merged


def _only_below(upper: Segment, lower: Segment, pieces: Sequence[Segment]) -> bool:
    """No other piece sits between `upper` and `lower` overlapping both horizontally."""
    a, b = upper.box, lower.box
    x0, x1 = max(a[0], b[0]), min(a[2], b[2])
    for p in pieces:
        if p is upper or p is lower:
            continue
        c = p.box
        if c[1] >= a[3] - 1e-6 and c[3] <= b[1] + 1e-6 and c[0] < x1 and c[2] > x0:
            return False
    return True
