"""A page's reading-ordered text with a map from character offsets back to its words.

Blocks in `order`, lines in block order, words joined by one space, lines by a newline, blocks by
a blank line: the text entity finders read. Every word records its character span, so a match
at any offsets maps back to the words it touches (and their page and boxes).
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass, field

from extractors.document import BBox, Page, Word


@dataclass
class PageText:
    page: int  # the page's index
    text: str
    words: list[Word] = field(default_factory=list)
    starts: list[int] = field(default_factory=list)  # character span of each word
    ends: list[int] = field(default_factory=list)
    blocks: list[tuple[int, int]] = field(default_factory=list)  # character span of each block

    def words_in(self, start: int, end: int) -> list[Word]:
        """The words a character span touches (a match may start or end inside a word)."""
        return words_in_span(self.words, self.starts, self.ends, start, end)


def words_in_span(
    words: Sequence[Word], starts: Sequence[int], ends: Sequence[int], start: int, end: int
) -> list[Word]:
    """The words (with these character spans, in order) that a span of the text touches."""
    first = bisect.bisect_right(ends, start)
    out: list[Word] = []
    for i in range(first, len(words)):
        if starts[i] >= end:
            break
        out.append(words[i])
    return out


def join_words(words: Sequence[Word], at: int = 0) -> tuple[str, list[int], list[int]]:
    """The words' texts joined by single spaces, and each word's character span in that text,
    counted from `at`."""
    starts: list[int] = []
    ends: list[int] = []
    position = at
    for word in words:
        if starts:
            position += 1  # the space before it
        starts.append(position)
        position += len(word.text)
        ends.append(position)
    return " ".join(w.text for w in words), starts, ends


def page_text(page: Page) -> PageText:
    parts: list[str] = []
    out = PageText(page=page.index, text="")
    at = 0
    for block in sorted(page.blocks, key=lambda b: b.order):
        if not any(line.words or line.text for line in block.lines):
            continue
        if parts:
            parts.append("\n\n")
            at += 2
        block_start = at
        for n, line in enumerate(block.lines):
            if n:
                parts.append("\n")
                at += 1
            words = line.words or []
            if not words:  # a line without words still reads, but maps to nothing
                parts.append(line.text)
                at += len(line.text)
                continue
            text, starts, ends = join_words(words, at)
            parts.append(text)
            out.words.extend(words)
            out.starts.extend(starts)
            out.ends.extend(ends)
            at += len(text)
        out.blocks.append((block_start, at))
    out.text = "".join(parts)
    return out


def union_bbox(words: Sequence[Word]) -> BBox | None:
    if not words:
        return None
    return [
        min(w.bbox[0] for w in words),
        min(w.bbox[1] for w in words),
        max(w.bbox[2] for w in words),
        max(w.bbox[3] for w in words),
    ]
