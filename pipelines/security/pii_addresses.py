"""Lines of a page text and the addresses assembled from them, for `pii.detect_pii`.

An address is found line by line (a street line, a postal-code line, a place beside them, a
district line between them, an address field); the lines of one address, stacked in one column,
merge into one finding. `Hit` is a finding still made of words, before types are resolved.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from extractors.document import Word
from extractors.stages.entities.text import PageText, union_bbox
from pipelines.security.pii_patterns import PiiType

MAX_POSTAL_LINE_WORDS = 8  # "81100 JOHOR BAHRU, JOHOR." is an address line; a long line is not
MAX_GAP_LINE_WORDS = 6  # a district or town line inside an address


@dataclass
class Hit:
    type: PiiType
    words: list[Word]
    confidence: float
    detector: str


@dataclass
class PageLines:
    """A page text's lines: character spans, their block, their words."""

    spans: list[tuple[int, int]]
    block: list[int]
    words: list[list[Word]]
    line_of: dict[str, int]

    @classmethod
    def of(cls, pt: PageText) -> PageLines:
        spans = [(m.start(), m.end()) for m in re.finditer(r"[^\n]+", pt.text)]
        block = [
            next((b for b, (s, e) in enumerate(pt.blocks) if s <= a < e), -1) for a, _ in spans
        ]
        words = [pt.words_in(a, b) for a, b in spans]
        line_of = {w.id: n for n, ws in enumerate(words) for w in ws}
        return cls(spans, block, words, line_of)

    def stacked(self, a: int, b: int) -> bool:
        """Lines of one block, one above the other (a column's neighbours, not the text beside
        it that reading order put in the same block)."""
        if not (0 <= a < len(self.words) and 0 <= b < len(self.words)):
            return False
        box_a, box_b = union_bbox(self.words[a]), union_bbox(self.words[b])
        if self.block[a] != self.block[b] or box_a is None or box_b is None:
            return False
        return min(box_a[2], box_b[2]) > max(box_a[0], box_b[0])

    def of_type(self, hits: Iterable[Hit], kind: str) -> set[int]:
        return {
            self.line_of[w.id]
            for h in hits
            if h.type == kind
            for w in h.words
            if w.id in self.line_of
        }


def postal_lines(postal: Iterable[list[Word]], lines: PageLines) -> list[Hit]:
    """A postal code stands for its line ("1012 AB Amsterdam") when the line is short."""
    out = []
    for found in postal:
        line = lines.line_of.get(found[0].id) if found else None
        whole = line is not None and len(lines.words[line]) <= MAX_POSTAL_LINE_WORDS
        out.append(
            Hit(
                "ADDRESS",
                lines.words[line] if whole and line is not None else found,
                0.6,
                "postal_code",
            )
        )
    return out


def places_near_addresses(
    places: Iterable[list[Word]], hits: Sequence[Hit], lines: PageLines
) -> list[Hit]:
    """A city, state or country on an address line or just above or below one belongs to the
    address ("JOHOR." under "81100 JOHOR BAHRU,")."""
    address = lines.of_type(hits, "ADDRESS")
    out = []
    for found in places:
        line = lines.line_of.get(found[0].id) if found else None
        if line is None:
            continue
        if line in address or any(
            n in address and lines.stacked(n, line) for n in (line - 1, line + 1)
        ):
            out.append(Hit("ADDRESS", found, 0.6, "spacy.place_near_address"))
    return out


def address_gaps(hits: Sequence[Hit], lines: PageLines) -> list[Hit]:
    """A short line between two address lines is part of the address (the district of a
    Malaysian address, "TAMAN DESA HARMONI.", has no street word or number)."""
    address = lines.of_type(hits, "ADDRESS")
    return [
        Hit("ADDRESS", lines.words[n], 0.6, "address_gap")
        for n in range(1, len(lines.words) - 1)
        if n not in address
        and {n - 1, n + 1} <= address
        and lines.stacked(n - 1, n)
        and lines.stacked(n, n + 1)
        and 0 < len(lines.words[n]) <= MAX_GAP_LINE_WORDS
    ]


def merge_addresses(hits: list[Hit], lines: PageLines) -> list[Hit]:
    """Address hits on the same or adjacent lines of one block become one address."""
    spans = []
    for hit in (h for h in hits if h.type == "ADDRESS"):
        mine = [lines.line_of[w.id] for w in hit.words if w.id in lines.line_of]
        if mine:
            spans.append((min(mine), max(mine), hit))
    groups: list[tuple[int, Hit]] = []  # (last line, merged hit), in line order
    for first, last, hit in sorted(spans, key=lambda s: (s[0], s[1])):
        below = groups and first == groups[-1][0] + 1 and lines.stacked(groups[-1][0], first)
        if groups and (first <= groups[-1][0] or below):
            end, group = groups[-1]
            seen = {w.id for w in group.words}
            group.words += [w for w in hit.words if w.id not in seen]
            group.confidence = max(group.confidence, hit.confidence)
            if hit.detector not in group.detector.split("+"):
                group.detector += "+" + hit.detector
            groups[-1] = (max(end, last), group)
        else:
            groups.append((last, Hit("ADDRESS", list(hit.words), hit.confidence, hit.detector)))
    return [h for h in hits if h.type != "ADDRESS"] + [g for _, g in groups]
