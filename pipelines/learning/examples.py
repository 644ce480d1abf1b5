"""Training examples from the workspace's reviewed documents: form segments for the form
labeller, whole documents for the document-type classifier.

A document counts when it is reviewed (`reviews.reviewed`: accepted whole or page by page).
Features are always what the stage computes on the document as processed (OCR text as read,
not as corrected: that is what the stage will see); targets are what the review left.

Form labeller:
The features are those `forms.kv` computes at run time: the same segments of the page as
processed (OCR text as read, not as corrected: that is what the stage will see), labelled by
the rules first. The target of a segment is the label of the reviewed form entity (KEY, VALUE,
HEADER; as corrected, added entities included) holding most of its words, "" (unlabelled) when
most of its words are in none: a reviewer who deleted an entity said it is no field.

A page counts when it carries form entities, as extracted or as reviewed. Check boxes are
left out: the labeller does not relabel them.

Document type: one row per reviewed document (the cue features of classify.doctype); the
target is the type the reviewer set (a `relabel` of the document), else the type as extracted
(the reviewer accepted it).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from extractors.document import Document, Entity
from extractors.stages.doctype import TYPES, feature_vector
from extractors.stages.forms.features import LABELS, segment_features
from extractors.stages.forms.kv import KIND, form_segments, rule_labelled, taken_words
from extractors.stages.forms.segments import Segment
from pipelines.store.database import load_document, query
from pipelines.store.reviewed import reviewed_document
from pipelines.store.workspace import Workspace

FORM_LABELS = frozenset(label for label in LABELS if label)


@dataclass(frozen=True)
class Examples:
    """Rows of one reviewed document (or page): features, the target and the rules' answer."""

    document_id: str
    page_index: int | None
    features: np.ndarray  # (rows, features), float32
    targets: np.ndarray  # (rows,), class indexes
    rules: np.ndarray  # (rows,), what the rules said


def reviewed_document_ids(workspace: Workspace) -> list[str]:
    rows = query(workspace, "SELECT document_id FROM reviews WHERE reviewed ORDER BY document_id")
    return [str(v) for v in rows.column("document_id").to_pylist()]


def _reviewed(workspace: Workspace) -> Iterator[tuple[Document, Document]]:
    """(as processed, as reviewed) for every reviewed document."""
    for document_id in reviewed_document_ids(workspace):
        document = load_document(workspace, document_id)
        if document is not None:
            yield document, reviewed_document(workspace, document)


def form_examples(workspace: Workspace, wrap_width: float = 0.3) -> list[Examples]:
    """Form labeller examples from every reviewed document of the workspace."""
    return [e for d, r in _reviewed(workspace) for e in page_examples(d, r, wrap_width)]


def doctype_examples(workspace: Workspace) -> list[Examples]:
    """Document-type examples from every reviewed document of the workspace."""
    return [e for d, r in _reviewed(workspace) if (e := document_example(d, r)) is not None]


def document_example(document: Document, reviewed: Document) -> Examples | None:
    if reviewed.doc_type not in TYPES or not document.pages:
        return None
    row = feature_vector(document)
    rule = int(row[0, : len(TYPES)].argmax())
    target = np.asarray([TYPES.index(reviewed.doc_type)], dtype=np.int64)
    return Examples(document.document_id, None, row, target, np.asarray([rule], dtype=np.int64))


def page_examples(
    document: Document, reviewed: Document, wrap_width: float = 0.3
) -> list[Examples]:
    """Examples of one document: `document` as processed, `reviewed` with corrections applied."""
    made = {e.page or 0 for e in document.entities if e.source == KIND}
    truth = [e for e in reviewed.entities if e.label in FORM_LABELS]
    pages = made | {e.page or 0 for e in truth}
    taken = taken_words(document)
    out = []
    for page in document.pages:
        if page.index not in pages:
            continue
        segs = form_segments(page, taken, wrap_width)
        nb = rule_labelled(segs)
        keep = [i for i, s in enumerate(segs) if not s.is_checkbox]
        if not keep:
            continue
        on_page = [e for e in truth if (e.page or 0) == page.index]
        targets = [LABELS.index(segment_target(segs[i], on_page)) for i in keep]
        rules = [LABELS.index(segs[i].label) for i in keep]
        out.append(
            Examples(
                document.document_id,
                page.index,
                segment_features(segs, nb)[keep],
                np.asarray(targets, dtype=np.int64),
                np.asarray(rules, dtype=np.int64),
            )
        )
    return out


def segment_target(segment: Segment, entities: Sequence[Entity]) -> str:
    """The label most of the segment's words carry in the reviewed entities ("" for none). A
    word is in an entity that names it; an entity a reviewer drew without words holds the words
    whose centre lies in its box."""
    votes: dict[str, int] = {}
    for word in segment.words:
        label = next((e.label for e in entities if _holds(e, word.id, word.bbox)), "")
        votes[label] = votes.get(label, 0) + 1
    return max(votes, key=lambda label: (votes[label], label != ""))


def _holds(entity: Entity, word_id: str, bbox: Sequence[float]) -> bool:
    if entity.word_ids:
        return word_id in entity.word_ids
    if entity.bbox is None:
        return False
    cx, cy = (bbox[0] + bbox[2]) / 2, (bbox[1] + bbox[3]) / 2
    x0, y0, x1, y1 = entity.bbox
    return x0 <= cx <= x1 and y0 <= cy <= y1
