"""Every evaluation's numbers as `Metric` rows, for the workspace (`eval_metrics`)."""

from __future__ import annotations

from collections.abc import Sequence
from statistics import fmean, median

from pipelines.evaluation.calibration import expected_calibration_error
from pipelines.evaluation.counts import Counts
from pipelines.evaluation.evaluate import PageScore
from pipelines.evaluation.evaluate_fields import FieldScores
from pipelines.evaluation.evaluate_forms import FormsResult
from pipelines.evaluation.evaluate_layout import LayoutReport
from pipelines.evaluation.evaluate_pubtabnet import PubTabNetReport
from pipelines.evaluation.evaluate_table_cases import CasesReport
from pipelines.evaluation.evaluate_tables import TableReport
from pipelines.store.evaluations import Metric


def _prf(task: str, scope: str, counts: Counts, prefix: str = "") -> list[Metric]:
    return [
        Metric(task, f"{prefix}{name}", scope, value, counts.truth)
        for name, value in (
            ("precision", counts.precision),
            ("recall", counts.recall),
            ("f1", counts.f1),
        )
    ]


def ocr_metrics(scores: Sequence[PageScore]) -> list[Metric]:
    if not scores:
        return []
    values = [s.cer for s in scores]
    return [
        Metric("ocr", "cer", "mean", fmean(values), len(values)),
        Metric("ocr", "cer", "median", median(values), len(values)),
    ]


def field_metrics(scores: FieldScores) -> list[Metric]:
    out = _prf("fields", "micro", scores.micro)
    for name, counts in sorted(scores.per_field.items()):
        out += _prf("fields", name, counts)
    return out


def forms_metrics(result: FormsResult, criterion: str = "words") -> list[Metric]:
    pooled = result.pooled(criterion)
    out = _prf("forms", "labelling", pooled.labelling) + _prf("forms", "linking", pooled.linking)
    for label, counts in pooled.per_label.items():
        out += _prf("forms", label, counts)
    return out


def table_metrics(report: TableReport | PubTabNetReport | CasesReport) -> list[Metric]:
    if isinstance(report, TableReport):
        folio = next(s for s in report.systems if s.name == "folio")
        return _prf("tables", "regions", folio.regions) + _prf(
            "tables", "adjacency", folio.adjacency
        )
    if isinstance(report, PubTabNetReport):
        n = len(report.items)
        if not n:
            return []
        return [
            Metric("tables", "teds", "content", fmean(i.teds for i in report.items), n),
            Metric("tables", "teds", "structure", fmean(i.teds_structure for i in report.items), n),
        ]
    return [Metric("tables", "reproduced", "cases", report.share, len(report.results))]


def layout_metrics(report: LayoutReport) -> list[Metric]:
    return [Metric("layout", report.metric, "folio", report.folio, report.pages)]


def calibration_metrics(words: Sequence[tuple[float, bool]]) -> list[Metric]:
    """How well word confidence says how often a word is right (docs/evaluation.md)."""
    if not words:
        return []
    confidences, right = [c for c, _ in words], [ok for _, ok in words]
    return [
        Metric("ocr", "ece", "word", expected_calibration_error(confidences, right), len(words)),
        Metric("ocr", "word_accuracy", "word", fmean(right), len(words)),
        Metric("ocr", "mean_confidence", "word", fmean(confidences), len(words)),
    ]
