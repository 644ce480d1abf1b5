"""Sentences of a page's reading-ordered text and the entities each one holds.

Blocks come from `entities.text.page_text` (the same text the entity finders read), so an
entity's words map to character offsets there. A block splits into sentences at end punctuation
(not after abbreviations such as `Ltd.` or `Mr.`); blocks of short lines (forms, letterheads,
signature blocks) split at every line, since there a line break ends a field.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from extractors.document import Entity
from extractors.stages.entities.text import PageText


# A sentence ends at . ! ? followed by space and something that can start a sentence.
def word_set(text: str) -> frozenset[str]:
    """A set of words written as one string (long vocabularies stay readable)."""
    return frozenset(text.split())


_BOUNDARY = re.compile(r"(?<=[.!?])[\"')\]]?\s+(?=[\"'(\[]?[A-Z0-9])")
_DURATION = re.compile(
    r"(?i)\b(?:days?|weeks?|months?|years?|hours?|quarters?|decades?|today|tomorrow|yesterday)\b"
)
_LAST_WORD = re.compile(r"(?<![A-Za-z.])([A-Za-z][A-Za-z.]*)\.[\"')\]]?$")
ABBREVIATIONS = word_set(
    """
    mr mrs ms dr prof sr jr st no nr vs etc e.g i.e fig al ltd inc co corp plc llc bv nv
    ag sa gmbh jan feb mar apr jun jul aug sep sept oct nov dec art sec dept approx u.s
    u.k
    """
)
SHORT_LINE_WORDS = 5  # a block whose lines average fewer words reads line by line
MAX_SENTENCE_WORDS = 80  # longer runs (a block without punctuation) read line by line


# The small NER model calls some companies people ("Globex Corporation"): a name that ends in a
# legal form is an organisation whatever its label.
LEGAL_FORMS = word_set(
    """
    ltd limited inc incorporated corp corporation llc llp plc gmbh ag bv nv sa sas sarl
    srl spa oy ab as co company group holdings
    """
)


# Job titles and currency codes the small model calls organisations ("joined Acme as CTO",
# "GBP 780.50"): not parties.
NOT_PARTIES = word_set(
    """
    ceo cfo cto coo cio vp md chairman president director manager eur usd gbp inr myr sgd
    chf jpy aud cad rm
    """
)


def relation_label(entity: Entity) -> str:
    """The label relations read: an entity's own, except a PERSON named like a company, an
    ORG that is only a legal form, a title or a currency ("OTHER"), and a DATE with no
    calendar date ("last year", "thirty days": "DURATION")."""
    words = entity.text.lower().replace(".", " ").replace(",", " ").split()
    if entity.label == "PERSON" and words and words[-1] in LEGAL_FORMS:
        return "ORG"
    if entity.label == "ORG" and all(w in LEGAL_FORMS or w in NOT_PARTIES for w in words):
        return "OTHER"
    if entity.label == "DATE" and not entity.value and _DURATION.search(entity.text):
        return "DURATION"
    return entity.label


@dataclass(frozen=True)
class Mention:
    entity: Entity
    start: int  # character offsets into the sentence text
    end: int

    @property
    def label(self) -> str:
        return relation_label(self.entity)


@dataclass
class Sentence:
    page: int
    block: int  # position of its block in the page's blocks
    text: str  # line breaks read as spaces, so offsets match the page text
    mentions: list[Mention] = field(default_factory=list)

    @property
    def evidence(self) -> str:
        return " ".join(self.text.split())

    def labels(self) -> set[str]:
        return {m.label for m in self.mentions}


def _split_prose(text: str, offset: int) -> list[tuple[int, int]]:
    spans, start = [], 0
    for m in _BOUNDARY.finditer(text):
        last = _LAST_WORD.search(text[max(0, m.start() - 24) : m.start()])
        if last and last.group(1).lower() in ABBREVIATIONS:
            continue
        spans.append((offset + start, offset + m.start()))
        start = m.end()
    spans.append((offset + start, offset + len(text)))
    return spans


def _line_spans(text: str, offset: int) -> list[tuple[int, int]]:
    spans, at = [], 0
    for line in text.split("\n"):
        spans.append((offset + at, offset + at + len(line)))
        at += len(line) + 1
    return spans


def block_sentences(text: str, offset: int = 0) -> list[tuple[int, int]]:
    """Character spans (offset added) of the sentences of one block's text."""
    lines = text.split("\n")
    words = len(text.split())
    if len(lines) > 1 and words / len(lines) < SHORT_LINE_WORDS:
        return _line_spans(text, offset)
    out: list[tuple[int, int]] = []
    for start, end in _split_prose(text, offset):
        piece = text[start - offset : end - offset]
        if len(piece.split()) > MAX_SENTENCE_WORDS and "\n" in piece:
            out.extend(_line_spans(piece, start))
        else:
            out.append((start, end))
    return out


def entity_spans(pt: PageText, entities: Iterable[Entity]) -> list[tuple[int, int, Entity]]:
    position = {w.id: i for i, w in enumerate(pt.words)}
    out = []
    for entity in entities:
        found = [position[w] for w in entity.word_ids if w in position]
        if found:
            start, end = pt.starts[min(found)], pt.ends[max(found)]
            # Words keep their punctuation ("Smith,"): the entity's own text is narrower.
            at = pt.text.find(entity.text, start, end) if entity.text else -1
            if at >= 0:
                start, end = at, at + len(entity.text)
            out.append((start, end, entity))
    return sorted(out, key=lambda item: item[0])


def page_sentences(pt: PageText, entities: Sequence[Entity]) -> list[Sentence]:
    """The page's sentences that hold at least one of `entities` (those on this page)."""
    spans = entity_spans(pt, (e for e in entities if e.page == pt.page))
    out: list[Sentence] = []
    k = 0
    for b, (block_start, block_end) in enumerate(pt.blocks):
        for start, end in block_sentences(pt.text[block_start:block_end], block_start):
            while k < len(spans) and spans[k][0] < start:
                k += 1  # an entity that began before this sentence (across a boundary)
            mentions = []
            j = k
            while j < len(spans) and spans[j][0] < end:
                s, e, entity = spans[j]
                if e <= end:
                    mentions.append(Mention(entity, s - start, e - start))
                j += 1
            if mentions:
                text = pt.text[start:end].replace("\n", " ")
                out.append(Sentence(pt.page, b, text, mentions))
    return out
