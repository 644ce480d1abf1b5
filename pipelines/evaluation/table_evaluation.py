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
from pipelines.evaluation.evaluate_pubtabnet import PubTabNetReport, evaluate_pubtabnet
from pipelines.evaluation.evaluate_pubtabnet import format_report as format_pubtabnet_report
from pipelines.evaluation.evaluate_table_cases import (
    CasesReport,
    evaluate_camelot,
    evaluate_pdfplumber,
    format_cases_report,
)
from pipelines.evaluation.evaluate_tables import TableReport, evaluate_icdar, format_table_report
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


def table_dataset_report(
    dataset: Path, profile: str = "default", split: str = "dev", limit: int | None = None
) -> TableReport | PubTabNetReport | CasesReport:
    """Evaluate `profile` on one table dataset (its kind read from the ground truth)."""
    kind = dataset_kind(dataset, split)
    if kind == "pubtabnet":
        return evaluate_pubtabnet(dataset / split, profile, limit)
    config = load_profile(profile)
    if kind == "icdar2013":
        return evaluate_icdar(dataset, config, split, limit)
    evaluate = evaluate_camelot if kind == "camelot" else evaluate_pdfplumber
    return evaluate(dataset, config, split)


def format_table_dataset_report(report: TableReport | PubTabNetReport | CasesReport) -> str:
    if isinstance(report, PubTabNetReport):
        return format_pubtabnet_report(report)
    if isinstance(report, TableReport):
        return format_table_report(report)
    return format_cases_report(report)


def evaluate_table_dataset(
    dataset: Path, profile: str = "default", split: str = "dev", limit: int | None = None
) -> str:
    """Evaluate `profile` on one table dataset; the report as plain text."""
    return format_table_dataset_report(table_dataset_report(dataset, profile, split, limit))
