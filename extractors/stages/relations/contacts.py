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
MIN_INSIDE = 5  # letters of a name part found inside a longer word of the address
CAPS_PERSON = 0.8  # confidence factor, see _caps_factor
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
    found = _NAME_PART.findall(where)
    # A whole part ("cdc" in cdc.gov) or a longer one inside ("tenbensel" in ttenbensel@).
    return any(
        part in found or (len(part) >= MIN_INSIDE and any(part in f for f in found))
        for part in _name_parts(owner.entity.text)
    )


def _evidence(pt: PageText, first: LineMention, last: LineMention) -> str:
    bs, be = pt.blocks[first.block]
    start = pt.text.rfind("\n", bs, min(first.start, last.start)) + 1 or bs
    end = pt.text.find("\n", max(first.end, last.end), be)
    return " ".join(pt.text[max(start, bs) : be if end < 0 else end].split())


def _owner(
    pt: PageText, contact: LineMention, owners: Sequence[LineMention]
) -> tuple[LineMention, float] | None:
    spelled = [o for o in owners if _spells(contact.entity, o)]
    if spelled:  # people first: jane.doe@acme.com is Jane's address more than Acme's
        spelled.sort(key=lambda o: (o.label != "PERSON", abs(o.start - contact.start)))
        return spelled[0], 0.8
    # Without a spelled name, a party owns the contact below it when it heads its line: a
    # letterhead or signature, not a street or a shop's town in an address line.
    near = [
        o
        for o in owners
        if o.block == contact.block
        and 0 <= contact.line - o.line <= MAX_LINES_UP
        and o.start < contact.start
        and (_same_line_owner(pt, o, contact) if o.line == contact.line else _alone(pt, o))
    ]
    if not near:
        return None
    near.sort(key=lambda o: (contact.line - o.line, contact.start - o.end))
    confidence = 0.65 if near[0].line == contact.line else 0.55
    return near[0], confidence * _caps_factor(near[0])


def _caps_factor(mention: LineMention) -> float:
    """A "person" in capitals next to a phone is as often a street or a shop (receipts, OCR of
    letterheads): without a name spelled in the contact, it ranks below the default cut."""
    letters = [ch for ch in mention.entity.text if ch.isalpha()]
    return CAPS_PERSON if mention.label == "PERSON" and all(ch.isupper() for ch in letters) else 1.0


def line_relations(pt: PageText, entities: Sequence[Entity]) -> list[LineRelation]:
    mentions = _mentions(pt, entities)
    owners = [m for m in mentions if m.label in OWNERS]
    out = []
    for contact in (m for m in mentions if m.label in CONTACTS):
        found = _owner(pt, contact, owners)
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


_TITLE = re.compile(r"^(?:(?:mr|mrs|ms|dr|prof|sir)\.?\s+)?", re.IGNORECASE)
MIN_ORG_SHARE = 0.6  # of its line's characters


def _line_of(pt: PageText, mention: LineMention) -> str:
    start = pt.text.rfind("\n", 0, mention.start) + 1
    end = pt.text.find("\n", mention.end)
    return pt.text[start : len(pt.text) if end < 0 else end].strip(" ,;")


def _previous_line(pt: PageText, mention: LineMention) -> str:
    bs, _ = pt.blocks[mention.block]
    start = pt.text.rfind("\n", bs, mention.start)
    if start < 0:
        return ""
    return pt.text[max(bs, pt.text.rfind("\n", bs, start) + 1) : start].strip()


def _alone(pt: PageText, mention: LineMention) -> bool:
    """A full name alone on its line (a title before it at most), or an organisation that
    fills most of its line: a signature or letterhead, not two cells of a table or words of a
    heading."""
    text, line = mention.entity.text.strip(" ,"), _line_of(pt, mention)
    if ":" in line[: max(0, line.find(text))] or _previous_line(pt, mention).endswith(":"):
        return False  # after a label ("To: Acme Ltd"): a field of a form or a memo
    if mention.label == "PERSON":
        return len(text.split()) > 1 and _TITLE.sub("", line) == text
    return len(text) >= MIN_ORG_SHARE * len(line)


def _same_line_owner(pt: PageText, owner: LineMention, contact: LineMention) -> bool:
    """On the contact's own line: the party that heads it ("Acme Ltd, tel ..."), or for an
    email a full name anywhere before it ("Corresponding author: J. Doe (j@x.org)"); phones
    after a name inside an address line are the shop's, not the street's."""
    if contact.label == "EMAIL" and owner.label == "PERSON":
        return len(owner.entity.text.split()) > 1
    line = _TITLE.sub("", _line_of(pt, owner))
    return line.startswith(owner.entity.text.strip(" ,"))


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
            if (
                other.label == "ORG"
                and other.line > person.line
                and _alone(pt, person)
                and _alone(pt, other)
            ):
                evidence = _evidence(pt, person, other)
                confidence = 0.6 * _caps_factor(person)
                out.append(
                    LineRelation("person_org", person.entity, other.entity, confidence, evidence)
                )
                break
    return out
