"""Form understanding on FUNSD: entity labelling and key-value linking, with Folio's own OCR.

The pipeline (a profile plus the form stages) reads each form image; its `KEY`/`VALUE`/`HEADER`
entities (source `forms.kv`) are scored against FUNSD's question/answer/header entities, and its
`key_value` relations against FUNSD's question->answer links.

Matching, stated exactly (all in the pixels of the form image: a predicted entity's box is its
page-relative bbox times the page size, its words are the document words it names):
- Scored ground truth: FUNSD entities labelled header, question or answer with non-empty text.
  FUNSD's `other` (text outside the three classes) is not scored, and a prediction lying on
  `other` text (matching an `other` entity, and no scored one, by the criterion below) is left
  out of precision; the `strict` line counts those predictions as false positives.
- Two criteria for "a predicted entity P is the ground-truth entity G":
  `words` (the headline): more than half of P's words have their centre inside G's box, and at
  least half of G's words (FUNSD word boxes) have their centre inside P's box. OCR word boxes of
  one character are much narrower than FUNSD's (a 4 px "5" in a 15 px box), which IoU punishes
  though the reading is the same; centres do not. `iou`: box IoU >= `MIN_IOU` (0.5).
- Labelling: P matches G when the criterion holds and the labels correspond (HEADER=header,
  KEY=question, VALUE=answer). Matches are one-to-one, greedily by descending overlap. Micro
  precision, recall and F1 over the three labels (true positives / scored predictions, true
  positives / scored ground-truth entities).
- Linking: ground-truth links are FUNSD's `linking` pairs that join a question to an answer
  (oriented question -> answer, each pair once; header->question links are not key-value pairs).
  A predicted `key_value` relation is right when its head and tail entities match (criterion,
  any label, one-to-one) the question and the answer of one ground-truth link; each ground-truth
  link counts once. Micro precision, recall and F1 over all predicted and ground-truth links.
Counts are pooled over the split, not averaged per form.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from extractors.document import Document
from extractors.geometry import Box, as_box, iou
from pipelines.evaluation.counts import Counts
from pipelines.evaluation.evaluate import dataset_items
from pipelines.execution.config import PipelineConfig, StageSpec, load_profile

MIN_IOU = 0.5
LABELS = {"HEADER": "header", "KEY": "question", "VALUE": "answer"}
FORM_STAGES = ("forms.checkbox", "forms.acroform", "forms.kv")
CRITERIA = ("words", "iou")
Point = tuple[float, float]


@dataclass(frozen=True)
class Item:
    """An entity to match: its label, pixel box and the centres of its words."""

    label: str
    box: Box
    centres: tuple[Point, ...]


@dataclass(frozen=True)
class Truth:
    """One FUNSD form: scored entities, `other` ones (by FUNSD id) and question->answer links."""

    entities: dict[int, Item]
    others: dict[int, Item]
    links: frozenset[tuple[int, int]]


@dataclass(frozen=True)
class Predicted:
    """One form as Folio read it: entity id -> item, and key->value links."""

    entities: dict[str, Item]
    links: list[tuple[str, str]]


@dataclass
class Scored:
    """Counts of one form (or pooled over many) under one criterion."""

    labelling: Counts = field(default_factory=Counts)
    linking: Counts = field(default_factory=Counts)
    strict: Counts = field(default_factory=Counts)  # labelling, predictions on `other` counted
    per_label: dict[str, Counts] = field(
        default_factory=lambda: {name: Counts() for name in LABELS.values()}
    )

    def add(self, other: Scored) -> None:
        self.labelling.add(other.labelling)
        self.linking.add(other.linking)
        self.strict.add(other.strict)
        for name, counts in other.per_label.items():
            self.per_label[name].add(counts)


@dataclass
class FormScore:
    item_id: str
    scores: dict[str, Scored]  # criterion -> counts
    status: str = "ok"


@dataclass
class FormsResult:
    split: str
    forms: list[FormScore] = field(default_factory=list)
    stage_ms: list[float] = field(default_factory=list)  # the form stages' time per page

    def pooled(self, criterion: str = "words") -> Scored:
        total = Scored()
        for form in self.forms:
            total.add(form.scores[criterion])
        return total

    @property
    def labelling(self) -> Counts:
        return self.pooled().labelling

    @property
    def linking(self) -> Counts:
        return self.pooled().linking


def _centre(box: Sequence[float]) -> Point:
    return ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2)


def funsd_truth(form: Sequence[dict[str, Any]]) -> Truth:
    """The scored part of a FUNSD `form` list."""
    entities: dict[int, Item] = {}
    others: dict[int, Item] = {}
    for e in form:
        box = as_box(e["box"])
        words = [w["box"] for w in e.get("words", []) if str(w.get("text", "")).strip()]
        item = Item(e["label"], box, tuple(_centre(w) for w in words) or (_centre(box),))
        scored = e["label"] in LABELS.values() and str(e.get("text", "")).strip()
        (entities if scored else others)[int(e["id"])] = item
    links = set()
    for e in form:
        for a, b in e.get("linking", []):
            if a in entities and b in entities:
                pair = (entities[a].label, entities[b].label)
                if pair == ("question", "answer"):
                    links.add((int(a), int(b)))
                elif pair == ("answer", "question"):
                    links.add((int(b), int(a)))
    return Truth(entities, others, frozenset(links))


def predicted_form(document: Document, page_index: int = 0) -> Predicted:
    """The form entities (KEY/VALUE/HEADER) and key-value links on one page, in its pixels."""
    if page_index >= len(document.pages):
        return Predicted({}, [])
    page = document.pages[page_index]
    scale = (page.width, page.height, page.width, page.height)
    words = {w.id: w.bbox for w in page.words()}

    def pixels(box: Sequence[float]) -> Box:
        return as_box([v * s for v, s in zip(box, scale, strict=True)])

    entities: dict[str, Item] = {}
    for e in document.entities:
        if e.label in LABELS and e.bbox is not None and (e.page or 0) == page_index:
            centres = tuple(_centre(pixels(words[w])) for w in e.word_ids if w in words)
            box = pixels(e.bbox)
            entities[e.id] = Item(e.label, box, centres or (_centre(box),))
    links = [
        (r.head, r.tail)
        for r in document.relations
        if r.label == "key_value" and r.head in entities and r.tail in entities
    ]
    return Predicted(entities, links)


def _inside(points: Sequence[Point], box: Box) -> float:
    return sum(box[0] <= x <= box[2] and box[1] <= y <= box[3] for x, y in points) / len(points)


def overlap(p: Item, g: Item, criterion: str) -> float:
    """How well P is G (0 when it is not): the matching criteria of the module docstring."""
    if criterion == "iou":
        value = iou(p.box, g.box)
        return value if value >= MIN_IOU else 0.0
    mine, theirs = _inside(p.centres, g.box), _inside(g.centres, p.box)
    return mine + theirs if mine > 0.5 and theirs >= 0.5 else 0.0


def one_to_one(
    pred: dict[str, Item],
    truth: dict[Any, Item],
    criterion: str,
    same_label: bool,
) -> dict[str, Any]:
    """Greedy one-to-one matching by descending overlap."""
    pairs = sorted(
        (
            (value, p, t)
            for p, pi in pred.items()
            for t, ti in truth.items()
            if not same_label or LABELS[pi.label] == ti.label
            if (value := overlap(pi, ti, criterion)) > 0
        ),
        key=lambda item: -item[0],
    )
    matched: dict[str, Any] = {}
    used: set[Any] = set()
    for _, p, t in pairs:
        if p not in matched and t not in used:
            matched[p] = t
            used.add(t)
    return matched


def score_form(pred: Predicted, truth: Truth, criterion: str = "words") -> Scored:
    """Labelling and linking counts of one form (see the module docstring)."""
    everything = {**truth.entities, **truth.others}
    anywhere = one_to_one(pred.entities, everything, criterion, same_label=False)
    on_other = {p for p, t in anywhere.items() if t in truth.others}
    scored = {p: item for p, item in pred.entities.items() if p not in on_other}
    labelled = one_to_one(scored, truth.entities, criterion, same_label=True)
    result = Scored()
    for name in LABELS.values():
        result.per_label[name] = Counts(
            tp=sum(1 for t in labelled.values() if truth.entities[t].label == name),
            predicted=sum(1 for item in scored.values() if LABELS[item.label] == name),
            truth=sum(1 for item in truth.entities.values() if item.label == name),
        )
        result.labelling.add(result.per_label[name])
    result.strict = Counts(result.labelling.tp, len(pred.entities), result.labelling.truth)
    right = {
        (anywhere[h], anywhere[t])
        for h, t in pred.links
        if h in anywhere and t in anywhere and (anywhere[h], anywhere[t]) in truth.links
    }
    result.linking = Counts(len(right), len(set(pred.links)), len(truth.links))
    return result


def forms_config(profile: str = "default") -> PipelineConfig:
    """`profile` with the form stages appended (those it does not list already)."""
    import extractors.stages.forms  # noqa: F401  (registers the form stages)

    config = load_profile(profile)
    listed = {s.kind for s in config.stages}
    extra = [StageSpec(kind=k) for k in FORM_STAGES if k not in listed]
    return config.model_copy(update={"stages": [*config.stages, *extra]})


def score_documents(
    items: Sequence[dict[str, Any]], documents: Sequence[Document | None], split_dir: Path
) -> FormsResult:
    """Score read documents (one per item, None when missing) against the split's truth."""
    result = FormsResult(split=split_dir.name)
    for item, document in zip(items, documents, strict=True):
        form = json.loads((split_dir / item["gt"]["funsd"]).read_text())["form"]
        truth = funsd_truth(form)
        pred = predicted_form(document) if document is not None else Predicted({}, [])
        scores = {c: score_form(pred, truth, c) for c in CRITERIA}
        status = document.status if document is not None else "missing"
        result.forms.append(FormScore(str(item["id"]), scores, status))
        if document is not None and document.pipeline is not None:
            spent = sum(
                ms for stage, ms in document.pipeline.timings_ms.items() if stage in FORM_STAGES
            )
            result.stage_ms.append(spent / max(1, len(document.pages)))
    return result


def evaluate_forms(
    split_dir: Path,
    profile: str = "default",
    limit: int | None = None,
    config: PipelineConfig | None = None,
) -> FormsResult:
    """Run the pipeline (`profile` plus the form stages, or `config`) over a FUNSD split folder
    (`.../funsd/dev`) and score it."""
    from pipelines.execution.pipeline import Pipeline

    items = dataset_items(split_dir, limit)
    pipeline = Pipeline(config or forms_config(profile))
    documents = list(pipeline.process_many([(split_dir / it["doc"], None) for it in items]))
    return score_documents(items, documents, split_dir)


def _row(name: str, c: Counts) -> str:
    return (
        f"{name:<12} {c.precision:6.3f} {c.recall:6.3f} {c.f1:6.3f} "
        f"{c.tp:6d} {c.predicted:6d} {c.truth:6d}"
    )


def format_report(result: FormsResult) -> str:
    head = f"{'':<12} {'P':>6} {'R':>6} {'F1':>6} {'tp':>6} {'pred':>6} {'gt':>6}"
    lines = [f"FUNSD {result.split}: {len(result.forms)} forms"]
    for criterion in CRITERIA:
        pooled = result.pooled(criterion)
        lines += [f"match by {criterion}", head, _row("labelling", pooled.labelling)]
        lines += [_row(f"  {name}", c) for name, c in pooled.per_label.items()]
        lines += [_row("  strict", pooled.strict), _row("linking", pooled.linking)]
    if result.stage_ms:
        ordered = sorted(result.stage_ms)
        lines.append(f"form stages: median {ordered[len(ordered) // 2]:.1f} ms/page")
    return "\n".join(lines)
