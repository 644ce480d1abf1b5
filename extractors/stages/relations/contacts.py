"""Relations read from the lines of a block rather than from sentences: contact details and
signature blocks (no parse needed).

An email, phone or URL belongs to a party whose name it spells (`jane.doe@...` to Jane Doe,
`@acme-corp.com` to Acme Corp), otherwise to the nearest party on the same line or up to
`MAX_LINES_UP` lines above it in the same block (letterheads, signatures, contact cards). A
person's name with an organisation on one of the next two lines of a block (the title between)
is a signature: `person_org`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from extractors.document import Entity
from extractors.stages.entities.text import PageText
from extractors.stages.relations.sentences import (
    LEGAL_FORMS,
    SHORT_LINE_WORDS,
    entity_spans,
    relation_label,
)

CONTACTS = {"EMAIL": "email", "PHONE": "phone", "URL": "url"}
OWNERS = ("PERSON", "ORG")
MAX_LINES_UP = 3
_NAME_PART = re.compile(r"[a-z]{3,}")


@dataclass(frozen=True)
class LineMention:
    entity: Entity
    block: int
    line: int  # line number within its block
    start: int  # offsets into the page text
    end: int

    @property
    def label(self) -> str:
        return relation_label(self.entity)


@dataclass(frozen=True)
class LineRelation:
    label: str
    head: Entity
    tail: Entity
    confidence: float
    evidence: str


def _mentions(pt: PageText, entities: Sequence[Entity]) -> list[LineMention]:
    out = []
    for start, end, entity in entity_spans(pt, (e for e in entities if e.page == pt.page)):
        for b, (bs, be) in enumerate(pt.blocks):
            if bs <= start < be:
                out.append(LineMention(entity, b, pt.text.count("\n", bs, start), start, end))
                break
    return out


def _name_parts(text: str) -> set[str]:
    return {p for p in _NAME_PART.findall(text.lower()) if p not in LEGAL_FORMS}


def _spells(contact: Entity, owner: LineMention) -> bool:
    """An email or URL that spells the owner's name (local part for people, domain for
    organisations)."""
    if contact.label == "PHONE":
        return False
    value = (contact.value or contact.text).lower()
    local, _, domain = value.rpartition("@") if "@" in value else ("", "", value)
    where = local if owner.label == "PERSON" else domain
    return bool(_name_parts(owner.entity.text) & set(_NAME_PART.findall(where)))


def _evidence(pt: PageText, first: LineMention, last: LineMention) -> str:
    bs, be = pt.blocks[first.block]
    start = pt.text.rfind("\n", bs, min(first.start, last.start)) + 1 or bs
    end = pt.text.find("\n", max(first.end, last.end), be)
    return " ".join(pt.text[max(start, bs) : be if end < 0 else end].split())


def _owner(contact: LineMention, owners: Sequence[LineMention]) -> tuple[LineMention, float] | None:
    spelled = [o for o in owners if _spells(contact.entity, o)]
    if spelled:  # people first: jane.doe@acme.com is Jane's address more than Acme's
        spelled.sort(key=lambda o: (o.label != "PERSON", abs(o.start - contact.start)))
        return spelled[0], 0.8
    near = [
        o
        for o in owners
        if o.block == contact.block
        and 0 <= contact.line - o.line <= MAX_LINES_UP
        and o.start < contact.start
    ]
    if not near:
        return None
    near.sort(key=lambda o: (contact.line - o.line, contact.start - o.end))
    return near[0], (0.65 if near[0].line == contact.line else 0.55)


def line_relations(pt: PageText, entities: Sequence[Entity]) -> list[LineRelation]:
    mentions = _mentions(pt, entities)
    owners = [m for m in mentions if m.label in OWNERS]
    out = []
    for contact in (m for m in mentions if m.label in CONTACTS):
        found = _owner(contact, owners)
        if found is None:
            continue
        owner, confidence = found
        kind = CONTACTS[contact.label]
        first, last = sorted((owner, contact), key=lambda m: m.start)
        out.append(
            LineRelation(
                f"{owner.label.lower()}_{kind}",
                owner.entity,
                contact.entity,
                confidence,
                _evidence(pt, first, last),
            )
        )
    out.extend(_signatures(pt, mentions))
    return out


def _short_lines(pt: PageText, block: int) -> bool:
    start, end = pt.blocks[block]
    lines = pt.text[start:end].split("\n")
    return len(lines) > 1 and len(pt.text[start:end].split()) / len(lines) < SHORT_LINE_WORDS


def _signatures(pt: PageText, mentions: Sequence[LineMention]) -> list[LineRelation]:
    """Only in blocks of short lines (a signature, a card): in wrapped prose the next line
    holds the next words of a sentence."""
    out = []
    short = {b: _short_lines(pt, b) for b in {m.block for m in mentions}}
    for n, person in enumerate(mentions):
        if person.label != "PERSON" or not short[person.block]:
            continue
        for other in mentions[n + 1 :]:
            if other.block != person.block or other.line - person.line > 2:
                break
            if other.label == "PERSON":
                break  # the next name starts its own signature
            if other.label == "ORG" and other.line > person.line:
                evidence = _evidence(pt, person, other)
                out.append(LineRelation("person_org", person.entity, other.entity, 0.6, evidence))
                break
    return out
