"""`folio evaluate`: one pipeline run over a split, every metric its ground truth supports.

OCR page CER where lines are known (SROIE boxes, FUNSD words), receipt and invoice fields
where keys are known (SROIE key files, `fields` JSON), form labelling and key-value linking
where FUNSD forms are known. Each metric's definition is in its own module's docstring.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from extractors.document import Document
from pipelines.evaluation.calibration import split_outcomes
from pipelines.evaluation.evaluate import (
    PageScore,
    cer,
    document_lines,
    process_split,
    reading_order_text,
    truth_for,
)
from pipelines.evaluation.evaluate_fields import FieldScores, document_values, read_truth
from pipelines.evaluation.evaluate_forms import FormsResult, score_documents
from pipelines.execution.config import PipelineConfig


@dataclass
class SplitResult:
    split: str
    ocr: list[PageScore] = field(default_factory=list)
    fields: FieldScores | None = None
    forms: FormsResult | None = None
    words: list[tuple[float, bool]] = field(default_factory=list)  # (confidence, right)


def score_split(
    split_dir: Path, pairs: list[tuple[dict[str, Any], Document | None]]
) -> SplitResult:
    """Every metric the split's truth supports, over documents already read."""
    result = SplitResult(split_dir.name)
    funsd = []
    for item, document in pairs:
        lines = truth_for(item, split_dir)
        if lines is not None:
            predicted = reading_order_text(document_lines(document)) if document else ""
            status = document.status if document else "missing"
            result.ocr.append(
                PageScore(str(item["id"]), cer(predicted, reading_order_text(lines)), status)
            )
        keys = read_truth(item, split_dir)
        if keys is not None:
            result.fields = result.fields or FieldScores()
            result.fields.add(str(item["id"]), document_values(document) if document else {}, keys)
        if "funsd" in item.get("gt", {}):
            funsd.append((item, document))
    if funsd:
        result.forms = score_documents([i for i, _ in funsd], [d for _, d in funsd], split_dir)
        result.words = split_outcomes(split_dir, funsd)
    return result


def evaluate_split(
    split_dir: Path, config: PipelineConfig, workers: int = 2, limit: int | None = None
) -> SplitResult:
    return score_split(split_dir, process_split(split_dir, config, workers, limit))
