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
from extractors.stages.entities.normalise import MONTH_PATTERN
from extractors.stages.entities.text import PageText


# A sentence ends at . ! ? followed by space and something that can start a sentence.
def word_set(text: str) -> frozenset[str]:
    """A set of words written as one string (long vocabularies stay readable)."""
    return frozenset(text.split())


_BOUNDARY = re.compile(r"(?<=[.!?])[\"')\]]?\s+(?=[\"'(\[]?[A-Z0-9])")
_DURATION = re.compile(
    r"(?i)\b(?:days?|weeks?|months?|years?|hours?|quarters?|decades?|today|tomorrow|yesterday)\b"
)
_MONTH = re.compile(rf"(?i)\b(?:{MONTH_PATTERN})")
_DAY = re.compile(r"(?<!\d)(?:[12]\d|3[01]|0?[1-9])(?!\d)")
_NUMERIC_DATE = re.compile(r"\d{1,4}[./-]\d{1,2}[./-]\d{1,4}")
_CURRENCY = re.compile(
    r"[$€£¥₹₩₽]|(?<![A-Za-z])[A-Z]{3}(?![A-Za-z])|(?i:\b(?:rm|rs|dollars?|euros?|pounds?|rupees?|"
    r"ringgit|yen|francs?|cents?)\b)"
)
_LAST_WORD = re.compile(r"(?<![A-Za-z.])([A-Za-z][A-Za-z.]*)\.[\"')\]]?$")
# Words whose period ends no sentence (they stand before what follows). Legal forms are not
# among them: "... signed by Acme Ltd. The fee ..." is two sentences.
ABBREVIATIONS = word_set(
    """
    mr mrs ms dr prof sr jr st no nr vs e.g i.e fig al jan feb mar apr jun jul aug sep sept
    oct nov dec art sec dept approx
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


NAME_PARTICLES = word_set("van von de der den da di du la le al el bin binti ibn dos das del")
MAX_NAME_WORDS = 5
MAX_ORG_WORDS = 8
_LETTERS = re.compile(r"[^\W\d_]{2,}")


def looks_like_name(text: str) -> bool:
    """What the small model calls a person but no name is written like: lower case
    ("mauris eu"), digits ("Grant 2012R1"), one short or all-caps word ("GM", "Tel")."""
    words = text.replace(",", " ").split()
    if len(words) > MAX_NAME_WORDS or any(ch.isdigit() for ch in text):
        return False
    if len(words) == 1:  # a surname, or a first name whose surname wrapped to the next line
        return len(words[0]) >= 4 and words[0][0].isupper() and not words[0].isupper()
    return all(w[0].isupper() or w.lower() in NAME_PARTICLES for w in words if w[0].isalpha())


FIELD_LABELS = word_set("no nr tel fax ref date")


def relation_label(entity: Entity) -> str:
    """The label relations read: an entity's own, except a PERSON named like a company
    ("ORG"), a PERSON not written like a name and an ORG that is only a legal form, a title or
    a currency ("OTHER"), a MONEY with no currency written ("NUMBER"), and a DATE that names
    no day ("2019", "thirty days": "PERIOD")."""
    words = entity.text.lower().replace(".", " ").replace(",", " ").split()
    if entity.label == "PERSON" and words and words[-1] in LEGAL_FORMS:
        return "ORG"
    if entity.label == "PERSON" and not looks_like_name(entity.text):
        return "OTHER"
    if entity.label == "ORG" and (
        len(words) > MAX_ORG_WORDS
        or not _LETTERS.search(entity.text)
        or entity.text.islower()  # "the", "training": no proper name
    ):
        return "OTHER"
    if entity.label == "MONEY" and not _CURRENCY.search(entity.text):
        return "NUMBER"  # "(0.92)" in a table of ratios: no currency written, no amount
    if entity.label == "ORG" and all(w in LEGAL_FORMS or w in NOT_PARTIES for w in words):
        return "OTHER"
    if entity.label == "ORG" and words and words[-1] in FIELD_LABELS:
        return "OTHER"  # "ROC No", "Customer Tel": a form's label read as a name
    if entity.label == "DATE" and not entity.value and not _calendar(entity.text):
        return "PERIOD"
    return entity.label


def _calendar(text: str) -> bool:
    """A day of a month ("March 3", "3/4/2023"), not a year or a span ("2019", "30 days")."""
    if _DURATION.search(text):
        return False
    return bool(_NUMERIC_DATE.search(text) or (_MONTH.search(text) and _DAY.search(text)))


@dataclass(frozen=True)
class Mention:
    entity: Entity
    start: int  # character offsets into the sentence text
    end: int
    label: str  # relation_label(entity)


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
    labels = {entity.id: relation_label(entity) for _, _, entity in spans}
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
                    mentions.append(Mention(entity, s - start, e - start, labels[entity.id]))
                j += 1
            if mentions:
                text = pt.text[start:end].replace("\n", " ")
                out.append(Sentence(pt.page, b, text, mentions))
    return out
