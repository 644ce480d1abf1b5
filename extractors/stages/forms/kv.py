"""`forms.kv`: key-value pairs on form pages, as KEY/VALUE/HEADER entities and `key_value` links.

Only documents that read as forms are touched: `classify.doctype` said "form"; or the type is
not one whose labels belong to other stages (receipts, invoices) and a page carries form cues
of its own (many labels ending in a colon, check boxes), or "form" is a close runner-up in the
type's probabilities on a page that is neither prose nor a table (scanned forms made of boxes
and columns have few colons). Check marks on the page (from `forms.checkbox` or read by the
OCR) become CHECKBOX entities linked to the text beside them (`checkbox_label`). Words another
form stage already took (AcroForm labels) are left alone. Entity ids are `k<n>`, relation ids
`kv<n>`, never one the document already uses.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterator, Sequence
from typing import ClassVar

from pydantic import Field

from extractors.document import Document, Entity, Page, Relation
from extractors.stage import BLOCKS, DocumentStage, StageOptions, register
from extractors.stages.doctype import classify
from extractors.stages.forms.features import FEATURES_VERSION, LABELS, segment_features
from extractors.stages.forms.labels import KEY, label_segments
from extractors.stages.forms.layout import Neighbours, neighbours
from extractors.stages.forms.linking import link_values
from extractors.stages.forms.segments import CHECKED_MARKS, Segment, line_pieces, segments
from models.feature_classifier import FeatureClassifier, load_verified, recorded_version

logger = logging.getLogger(__name__)

KIND = "forms.kv"
FORM_ENTITIES = "document.entities"
# Types whose label-colon lines are fields of another stage, never form keys.
NOT_FORMS = frozenset({"receipt", "invoice"})


class FormKvOptions(StageOptions):
    min_key_lines: int = Field(default=4, ge=1)
    """Without doctype's "form", a page needs this many colon-ended labels (or check boxes)..."""
    min_key_share: float = Field(default=0.12, ge=0, le=1)
    """...and this share of its segments, to be read as a form."""
    min_form_probability: float = Field(default=0.12, ge=0, le=1)
    """...or doctype gives "form" this probability on a page with little prose and table."""
    max_prose: float = Field(default=0.45, ge=0, le=1)
    """Share of a page's words in lines of eight words or more above which it is prose."""
    max_table: float = Field(default=0.5, ge=0, le=1)
    """Share of a page's words in table blocks above which it is a table (tables.* own it)."""
    wrap_width: float = Field(default=0.3, gt=0, le=1)
    """A line this wide (share of the page) wraps on to the next line when aligned with it."""
    model: str | None = None
    """A labelling model trained on reviewed forms (`folio train`; a `.npz` path): it relabels
    the segments after the rules, reading their labels as features. None: the rules alone."""
    model_sha256: str | None = None
    """The model file's checksum: it makes the configuration, and so the results, tell one
    model from another; a file that no longer matches fails the stage."""


class IdMaker:
    """Fresh ids with a prefix, never one already used in the document."""

    def __init__(self, prefix: str, used: set[str]) -> None:
        self.prefix, self.used, self.number = prefix, used, 0

    def __call__(self) -> str:
        while f"{self.prefix}{self.number}" in self.used:
            self.number += 1
        made = f"{self.prefix}{self.number}"
        self.used.add(made)
        return made


def _cue_count(segs: Sequence[Segment]) -> int:
    """Labels ending in a colon, and check boxes."""
    return sum(1 for s in segs if s.is_checkbox or s.text.rstrip().endswith(":"))


def _colon_cues(segs: Sequence[Segment], options: FormKvOptions) -> bool:
    cues, texts = _cue_count(segs), sum(1 for s in segs if not s.is_checkbox)
    return cues >= options.min_key_lines and cues >= options.min_key_share * max(1, texts)


def _shares(page: Page) -> tuple[float, float]:
    """(prose, table): shares of the page's words in long lines and in table blocks."""
    in_tables = {w for table in page.tables for cell in table.cells for w in cell.word_ids}
    total = prose = table = 0
    for block in page.blocks:
        for line in block.lines:
            n = len(line.words)
            total += n
            prose += n if n >= 8 else 0
            table += sum(1 for w in line.words if block.kind == "table" or w.id in in_tables)
    return (prose / total, table / total) if total else (0.0, 0.0)


def looks_like_form(
    page: Page,
    page_segments: Callable[[], Sequence[Segment]],
    form_probability: float,
    options: FormKvOptions,
) -> bool:
    """A page of a document that doctype did not call a form, read as one all the same. The
    page's segments are asked for only when the cheap cues leave it open: on report and paper
    pages building them was most of this stage's time."""
    if form_probability < options.min_form_probability / 2:
        return False  # doctype is sure it is something else
    if page.text_source in ("native", "mixed"):
        return False  # Office positions are logical (sheets, slides), not a form's geometry
    prose, table = _shares(page)
    if table > options.max_table:
        return False
    if form_probability >= options.min_form_probability and prose <= options.max_prose:
        return True
    # Colon-ended pieces and check marks never join another piece, so the page's line pieces
    # hold at least as many cues as its segments: too few there, too few for sure.
    if _cue_count(line_pieces(page)) < options.min_key_lines:
        return False
    return _colon_cues(page_segments(), options)


@register
class FormKvStage(DocumentStage[FormKvOptions]):
    kind: ClassVar[str] = KIND
    version: ClassVar[str] = "1"
    uses: ClassVar[tuple[str, ...]] = (BLOCKS, "document.doc_type", FORM_ENTITIES)
    produces: ClassVar[tuple[str, ...]] = (FORM_ENTITIES, "document.relations")
    Options: ClassVar[type[StageOptions]] = FormKvOptions

    @property
    def recorded_version(self) -> str:
        return recorded_version(self.version, self.options.model, self.options.model_sha256)

    def annotate(self, document: Document, prediction: object) -> None:
        document.entities = [e for e in document.entities if e.source != self.kind]
        document.relations = [r for r in document.relations if r.source != self.kind]
        if document.doc_type in NOT_FORMS:
            return
        labeller = (
            load_verified(self.options.model, self.options.model_sha256, LABELS, FEATURES_VERSION)
            if self.options.model
            else None
        )
        taken = taken_words(document)
        entity_id = IdMaker("k", {e.id for e in document.entities})
        relation_id = IdMaker("kv", {r.id for r in document.relations})
        form_probability = 1.0 if document.doc_type == "form" else classify(document)[2]["form"]
        for page in document.pages:

            @functools.cache  # built at most once per page, only when asked for
            def page_segments(page: Page = page) -> list[Segment]:
                return form_segments(page, taken, self.options.wrap_width)

            if form_probability < 1 and not looks_like_form(
                page, page_segments, form_probability, self.options
            ):
                continue
            segs = page_segments()
            entities, relations = self._page(page, segs, entity_id, relation_id, labeller)
            document.entities.extend(entities)
            document.relations.extend(relations)

    def _page(
        self,
        page: Page,
        segs: list[Segment],
        entity_id: IdMaker,
        relation_id: IdMaker,
        labeller: FeatureClassifier | None = None,
    ) -> tuple[list[Entity], list[Relation]]:
        nb = rule_labelled(segs)
        if labeller is not None:
            relabel(segs, nb, labeller)
        boxes = _checkbox_labels(segs, nb)
        ids: dict[int, str] = {}
        entities: list[Entity] = []
        for i, s in enumerate(segs):
            if s.is_checkbox:
                entities.append(self._entity(entity_id(), s, "CHECKBOX", page.index))
                entities[-1].value = "true" if s.text in CHECKED_MARKS else "false"
            elif s.label:
                entities.append(self._entity(entity_id(), s, s.label, page.index))
            else:
                continue
            ids[i] = entities[-1].id
        relations = [
            Relation(
                id=relation_id(),
                label=label,
                head=ids[h],
                tail=ids[t],
                confidence=round(min(segs[h].score or 0.8, segs[t].score or 0.8), 3),
                source=self.kind,
                page=page.index,
                evidence=f"{segs[h].text} {segs[t].text}",
            )
            for label, pairs in (("key_value", link_values(segs, nb)), ("checkbox_label", boxes))
            for h, t in pairs
            if h in ids and t in ids
        ]
        return entities, relations

    def _entity(self, entity_id: str, s: Segment, label: str, page: int) -> Entity:
        return Entity(
            id=entity_id,
            label=label,
            text=s.text,
            page=page,
            bbox=list(s.box),
            confidence=round(s.score or 0.8, 3),
            source=self.kind,
            word_ids=[w.id for w in s.words],
        )


def taken_words(document: Document) -> set[str]:
    """Words another form stage already made entities of (AcroForm labels)."""
    return {
        w
        for e in document.entities
        if e.source.startswith("forms.") and e.source != KIND
        for w in e.word_ids
    }


def form_segments(page: Page, taken: set[str], wrap_width: float) -> list[Segment]:
    """The page's segments this stage labels (none holding a taken word)."""
    return [s for s in segments(page, wrap_width) if not any(w.id in taken for w in s.words)]


def rule_labelled(segs: Sequence[Segment]) -> Neighbours:
    """Label the segments by the rules (forms/labels.py); their neighbours, for what follows."""
    nb = neighbours(segs)
    label_segments(segs, nb)
    return nb


def relabel(segs: Sequence[Segment], nb: Neighbours, labeller: FeatureClassifier) -> None:
    """The learned labeller's label and probability for every segment but check boxes."""
    if not segs:
        return
    probabilities = labeller.probabilities(segment_features(segs, nb))
    for s, row in zip(segs, probabilities, strict=True):
        if not s.is_checkbox:
            best = int(row.argmax())
            s.label, s.score = labeller.labels[best], round(float(row[best]), 3)


def _checkbox_labels(segs: Sequence[Segment], nb: Neighbours) -> list[tuple[int, int]]:
    """(checkbox, label) pairs: the text right of a box on its row, else left of it; the label
    becomes a KEY (an option such as "Yes" is the question the box answers)."""
    pairs = []
    for i in _checkboxes(segs):
        for j in (nb.right[i], nb.left[i]):
            if j is not None and not segs[j].is_checkbox:
                if segs[j].label != KEY:
                    segs[j].label, segs[j].score = KEY, 0.7
                pairs.append((i, j))
                break
    return pairs


def _checkboxes(segs: Sequence[Segment]) -> Iterator[int]:
    return (i for i, s in enumerate(segs) if s.is_checkbox)
