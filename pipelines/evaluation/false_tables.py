"""False tables on dense text pages: tables Folio finds where the truth has none.

The tables issue asks that PubLayNet and DocBank pages (papers: columns of dense text, lists,
equations) gain no false tables. Every page runs through the whole profile; each table found is
checked against the page's truth:
- PubLayNet: true when it overlaps a truth table by IoU >= 0.5, or lies at least 70% inside one
  (one table found as two parts);
- DocBank: true when at least half the truth tokens whose centres it holds are labelled table.
Anything else is a false table. A truth table no table covers is a missed one (PubLayNet).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from extractors.geometry import Box, iou, share_inside
from pipelines.evaluation.evaluate import dataset_items
from pipelines.evaluation.evaluate_layout import (
    Scored,
    detect_dataset,
    docbank_truth,
    publaynet_truth,
)
from pipelines.execution.config import PipelineConfig
from pipelines.execution.pipeline import Pipeline

MATCH_IOU = 0.5
MATCH_INSIDE = 0.7
MIN_TABLE_TOKENS = 0.5


@dataclass
class FalseTables:
    dataset: str
    pages: int = 0
    found: int = 0  # tables Folio found
    false: int = 0  # ... of them on no table of the truth
    truth_tables: int = 0  # PubLayNet only: tables in the truth
    missed: int = 0  # ... of them no found table covers
    false_pages: list[str] = field(default_factory=list)


def is_false_publaynet(found: Box, truth_tables: Sequence[Box]) -> bool:
    return not any(
        iou(found, t) >= MATCH_IOU or share_inside(found, t) >= MATCH_INSIDE for t in truth_tables
    )


def is_false_docbank(found: Box, tokens: Sequence[Scored]) -> bool:
    inside = [
        t.label == "table"
        for t in tokens
        if found[0] <= (t.box[0] + t.box[2]) / 2 <= found[2]
        and found[1] <= (t.box[1] + t.box[3]) / 2 <= found[3]
    ]
    return not inside or sum(inside) < MIN_TABLE_TOKENS * len(inside)


def evaluate_false_tables(
    dataset: Path, config: PipelineConfig, split: str = "dev", limit: int | None = None
) -> FalseTables:
    kind = detect_dataset(dataset)
    split_dir = dataset / split
    items = dataset_items(split_dir, limit)
    report = FalseTables(kind)
    pipeline = Pipeline(config)
    documents = pipeline.process_many([(split_dir / item["doc"], None) for item in items])
    for item, document in zip(items, documents, strict=True):
        report.pages += 1
        found = [
            (t.bbox[0], t.bbox[1], t.bbox[2], t.bbox[3])
            for t in (document.pages[0].tables if document.pages else [])
        ]
        report.found += len(found)
        gt = item["gt"]
        if kind == "publaynet":
            truth = [s.box for s in publaynet_truth(split_dir / gt["coco"]) if s.label == "table"]
            false = [b for b in found if is_false_publaynet(b, truth)]
            report.truth_tables += len(truth)
            report.missed += sum(1 for t in truth if all(is_false_publaynet(b, [t]) for b in found))
        else:
            tokens = docbank_truth(split_dir / gt["tokens"])
            false = [b for b in found if is_false_docbank(b, tokens)]
        report.false += len(false)
        if false:
            report.false_pages.append(str(item["id"]))
    return report


def format_false_tables(report: FalseTables) -> str:
    line = (
        f"{report.dataset}: tables found {report.found} on {report.pages} pages, "
        f"{report.false} on no table of the truth"
    )
    if report.dataset == "publaynet":
        line += f"; truth tables {report.truth_tables}, missed {report.missed}"
    if report.false_pages:
        line += f" (false on: {', '.join(report.false_pages)})"
    return line
