"""Accuracy on public datasets: `folio evaluate PATH` (PATH = a dataset folder such as
../shared/datasets/sroie). Runs the real batch path into a temporary workspace, then scores.

Page CER: lines of prediction and ground truth each put in geometric reading order, lower-cased,
whitespace collapsed, Levenshtein distance / ground-truth length, averaged per page.
"""

from __future__ import annotations

import csv
import json
import statistics
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rapidfuzz.distance import Levenshtein

from extractors.document import Document
from models.assets import file_sha256
from pipelines.execution.batch import run_batch
from pipelines.execution.config import PipelineConfig
from pipelines.export import iter_documents
from pipelines.store.workspace import Workspace

# A text line as (x0, y0, x1, y1, text) in pixels of the page image.
TextBox = tuple[float, float, float, float, str]


def reading_order_text(lines: Sequence[TextBox]) -> str:
    """Join lines in geometric reading order: rows by vertical overlap, then left to right."""
    if not lines:
        return ""
    heights = sorted(max(1.0, y1 - y0) for _, y0, _, y1, _ in lines)
    tolerance = heights[len(heights) // 2] * 0.5
    rows: list[list[TextBox]] = []
    for line in sorted(lines, key=lambda b: (b[1] + b[3]) / 2):
        center = (line[1] + line[3]) / 2
        if (
            rows
            and abs(center - statistics.fmean((r[1] + r[3]) / 2 for r in rows[-1])) <= tolerance
        ):
            rows[-1].append(line)
        else:
            rows.append([line])
    text = " ".join(box[4] for row in rows for box in sorted(row, key=lambda b: b[0]))
    return " ".join(text.lower().split())


def cer(predicted: str, truth: str) -> float:
    if not truth:
        return 0.0 if not predicted else 1.0
    return Levenshtein.distance(predicted, truth) / len(truth)


def document_lines(document: Document, page_index: int = 0) -> list[TextBox]:
    if page_index >= len(document.pages):
        return []
    page = document.pages[page_index]
    return [
        (
            line.bbox[0] * page.width,
            line.bbox[1] * page.height,
            line.bbox[2] * page.width,
            line.bbox[3] * page.height,
            line.text,
        )
        for line in page.lines()
    ]


def sroie_truth(gt_path: Path) -> list[TextBox]:
    boxes: list[TextBox] = []
    for row in gt_path.read_text(encoding="utf-8", errors="replace").splitlines():
        parts = row.split(",", 8)
        if len(parts) != 9:
            continue
        xs, ys = [float(v) for v in parts[0:8:2]], [float(v) for v in parts[1:8:2]]
        boxes.append((min(xs), min(ys), max(xs), max(ys), parts[8]))
    return boxes


def funsd_truth(gt_path: Path) -> list[TextBox]:
    form = json.loads(gt_path.read_text())["form"]
    return [(*map(float, e["box"]), e["text"]) for e in form if e["text"].strip()]


def dataset_items(split_dir: Path, limit: int | None = None) -> list[dict[str, Any]]:
    """The items of a dataset split (`index.jsonl`, one JSON object per line)."""
    lines = (split_dir / "index.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines if line.strip()][:limit]


@dataclass
class PageScore:
    item_id: str
    cer: float
    status: str


def truth_for(item: dict[str, object], split_dir: Path) -> list[TextBox] | None:
    gt = item.get("gt", {})
    assert isinstance(gt, dict)
    if "boxes" in gt:
        return sroie_truth(split_dir / gt["boxes"])
    if "funsd" in gt:
        return funsd_truth(split_dir / gt["funsd"])
    return None


def process_split(
    split_dir: Path, config: PipelineConfig, workers: int = 2, limit: int | None = None
) -> list[tuple[dict[str, Any], Document | None]]:
    """Run a pipeline over a dataset split in a scratch workspace: each item with its document
    (None where the batch lost it)."""
    items = dataset_items(split_dir, limit)
    paths = [str((split_dir / item["doc"]).resolve()) for item in items]
    with tempfile.TemporaryDirectory(prefix="folio-eval-") as tmp:
        workspace = Workspace.open(Path(tmp))
        run_batch([Path(p) for p in dict.fromkeys(paths)], config, workspace, workers=workers)
        documents = list(iter_documents(workspace))
    by_path = {d.source_path: d for d in documents}
    # The workspace keeps one document per content: a split holding the same file twice (SROIE
    # train 012 and 015) finds the second copy by its hash, not as a missing page.
    by_sha = {d.sha256: d for d in documents}
    return [
        (item, by_path.get(path) or by_sha.get(file_sha256(Path(path))))
        for item, path in zip(items, paths, strict=True)
    ]


def evaluate_rapidocr_baseline(
    dataset: Path, split: str = "dev", limit: int | None = None
) -> list[PageScore]:
    """Plain `rapidocr.RapidOCR` (same bundled model files, angle classifier off), same scoring."""
    from pipelines.evaluation.bench import plain_rapidocr

    engine = plain_rapidocr()
    split_dir = dataset / split
    items = dataset_items(split_dir, limit)
    scores = []
    for item in items:
        truth = truth_for(item, split_dir)
        if truth is None:
            raise ValueError(f"{dataset}: no OCR ground truth (boxes or funsd) for {item['id']}")
        output = engine(str(split_dir / item["doc"]))
        boxes = [] if output.boxes is None else output.boxes
        predicted: list[TextBox] = [
            (
                float(b[:, 0].min()),
                float(b[:, 1].min()),
                float(b[:, 0].max()),
                float(b[:, 1].max()),
                text,
            )
            for b, text in zip(boxes, output.txts or (), strict=True)
        ]
        scores.append(
            PageScore(
                str(item["id"]), cer(reading_order_text(predicted), reading_order_text(truth)), "ok"
            )
        )
    return scores


def write_scores_csv(scores: list[PageScore], path: Path) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "cer", "status"])
        for score in scores:
            writer.writerow([score.item_id, f"{score.cer:.4f}", score.status])
