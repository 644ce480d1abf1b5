"""`folio evaluate-tables`: one entry point over every table dataset format in
../shared/datasets, told apart by the ground truth its index names.

- ICDAR 2013 (`gt.region` + `gt.structure`): region F1 and cell adjacency F1, against plain
  pdfplumber on the same pages (pipelines.evaluation.evaluate_tables).
- camelot's test expectations (`gt.camelot_cases`) and pdfplumber's (`gt.checks`): share of
  expected grids and checks reproduced (pipelines.evaluation.evaluate_table_cases).
- PubTabNet (`gt.table`, HTML): TEDS with content and structure only, against bare SLANet
  (pipelines.evaluation.evaluate_pubtabnet).
"""

from __future__ import annotations

from pathlib import Path

from pipelines.evaluation.evaluate import dataset_items
from pipelines.execution.config import load_profile

KINDS = ("icdar2013", "camelot", "pdfplumber", "pubtabnet")


def dataset_kind(dataset: Path, split: str = "dev") -> str:
    """Which table dataset format a folder holds (ValueError when none)."""
    if not (dataset / split / "index.jsonl").is_file():
        raise ValueError(f"{dataset / split} has no index.jsonl")
    items = dataset_items(dataset / split, 1)
    gt = items[0].get("gt", {}) if items else {}
    if {"region", "structure"} <= set(gt):
        return "icdar2013"
    if "camelot_cases" in gt:
        return "camelot"
    if "checks" in gt:
        return "pdfplumber"
    if "table" in gt:
        return "pubtabnet"
    raise ValueError(f"{dataset}: not a table dataset this command knows ({', '.join(KINDS)})")


def evaluate_table_dataset(
    dataset: Path, profile: str = "default", split: str = "dev", limit: int | None = None
) -> str:
    """Evaluate `profile` on one table dataset; the report as plain text."""
    kind = dataset_kind(dataset, split)
    if kind == "pubtabnet":
        from pipelines.evaluation.evaluate_pubtabnet import evaluate_pubtabnet, format_report

        return format_report(evaluate_pubtabnet(dataset / split, profile, limit))
    config = load_profile(profile)
    if kind == "icdar2013":
        from pipelines.evaluation.evaluate_tables import evaluate_icdar, format_table_report

        return format_table_report(evaluate_icdar(dataset, config, split, limit))
    from pipelines.evaluation.evaluate_table_cases import (
        evaluate_camelot,
        evaluate_pdfplumber,
        format_cases_report,
    )

    evaluate = evaluate_camelot if kind == "camelot" else evaluate_pdfplumber
    return format_cases_report(evaluate(dataset, config, split))
