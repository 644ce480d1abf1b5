"""Table expectations from camelot's and pdfplumber's own test suites, run on Folio's tables.

Both suites tell their tool where and how to look; Folio is told nothing, so only the cases
that describe the table itself apply:

- camelot (`camelot_tables`): lattice cases whose options do not change the expected grid's
  content or extent (`pages`; `line_scale`, a sensitivity of camelot's image-based line finder;
  `process_background`, lines drawn as filled shapes, which Folio's rulings always read) and the
  stream cases with no options besides the flavour. Excluded: cases given `table_areas`,
  `table_regions` or `columns` (the answer is partly in the question), `shift_text` other than
  the default, `split_text`, `strip_text`, `flag_size`, `header_text`, `layout_kwargs`, and
  hybrid/network cases (camelot-specific heuristics whose grids include surrounding text rows).
  A case passes when some table on its page equals the expected grid cell by cell, comparing
  text with all whitespace removed (camelot keeps line breaks inside cells). camelot's stream
  grids also hold the caption and note lines around a table as rows, which Folio keeps out
  of its tables by design, so stream cases also report the share of expected non-empty cell
  texts (normalised as in `evaluate_tables`) found among the page's table cells.
- pdfplumber (`pdfplumber_tables`): the table checks (`expected_cells`, `expected_rows`,
  `n_tables`, the NICS column-sum invariant); text-extraction checks (`expected_text`,
  layout text files) are not about tables and are skipped. The checks crop the page to the
  table body, so leading rows of Folio's table (its header) may be skipped to align rows;
  columns must match as they are. Cell text is compared with whitespace removed. Excluded
  too: cell checks made with pdfplumber's text strategy for columns (their column indices
  count only the columns with text inside the crop). The NICS invariant reads empty cells as
  0, as a data frame of the table would.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from extractors.document import Document, Table
from pipelines.evaluation.evaluate import dataset_items
from pipelines.evaluation.evaluate_tables import (
    normalise,
)
from pipelines.execution.config import PipelineConfig
from pipelines.table_formats import table_grid

Grid = list[list[str]]
CAMELOT_ALLOWED = frozenset({"pages", "line_scale", "process_background", "flavor"})
_SPACE = re.compile(r"\s+")
_INDEX = re.compile(r"\[(-?\d+)\]\[(-?\d+)\]")


@dataclass
class CaseResult:
    item: str
    case: str
    passed: bool
    note: str = ""
    text_recall: float | None = None  # stream cases: share of expected cell texts found


@dataclass
class CasesReport:
    dataset: str
    results: list[CaseResult] = field(default_factory=list)
    skipped: list[CaseResult] = field(default_factory=list)

    @property
    def share(self) -> float:
        return sum(r.passed for r in self.results) / len(self.results) if self.results else 0.0

    @property
    def text_recall(self) -> float | None:
        values = [r.text_recall for r in self.results if r.text_recall is not None]
        return sum(values) / len(values) if values else None


def _clean(text: str | None) -> str:
    return _SPACE.sub("", text or "")


def same_grid(got: Grid, expected: Sequence[Sequence[str]]) -> bool:
    return len(got) == len(expected) and all(
        len(g) == len(e) and all(_clean(a) == _clean(b) for a, b in zip(g, e, strict=True))
        for g, e in zip(got, expected, strict=True)
    )


def text_recall(grids: Sequence[Grid], expected: Sequence[Sequence[str]]) -> float:
    """Share of the expected non-empty cells whose text (normalised) is some cell's text in
    `grids` (a multiset: each found cell counts once)."""
    found = Counter(normalise(t) for g in grids for row in g for t in row if normalise(t))
    want = Counter(normalise(t) for row in expected for t in row if normalise(t))
    return sum((want & found).values()) / sum(want.values()) if want else 1.0


def camelot_applies(case: dict[str, Any]) -> str:
    """'' when the case applies to a tool told nothing, else why not."""
    kwargs: dict[str, Any] = case.get("read_pdf_kwargs", {})
    extra = sorted(set(kwargs) - CAMELOT_ALLOWED)
    if extra:
        return "given " + ", ".join(extra)
    if kwargs.get("flavor", "lattice") not in ("lattice", "stream"):
        return f"flavor {kwargs['flavor']}"
    if kwargs.get("flavor") == "stream" and len(kwargs) > 1:
        return "stream with options"
    return ""


def _page_index(kwargs: dict[str, Any]) -> int:
    pages = str(kwargs.get("pages", "1"))
    return int(pages.split(",")[0].split("-")[0]) - 1


def _pages(document: Document) -> dict[int, list[Table]]:
    return {page.index: list(page.tables) for page in document.pages}


def evaluate_camelot(dataset: Path, config: PipelineConfig, split: str = "dev") -> CasesReport:
    from pipelines.execution.pipeline import Pipeline

    split_dir = dataset / split
    report = CasesReport(str(dataset))
    pipeline = Pipeline(config)
    for item in dataset_items(split_dir):
        gt = json.loads((split_dir / item["gt"]["camelot_cases"]).read_text())
        tables = _pages(pipeline.process(split_dir / item["doc"]))
        for case in gt["cases"]:
            name = f"{case['test']}[{case['table_index']}]"
            why = camelot_applies(case)
            if why:
                report.skipped.append(CaseResult(item["id"], name, False, why))
                continue
            on_page = tables.get(_page_index(case["read_pdf_kwargs"]), [])
            grids = [table_grid(t) for t in on_page]
            passed = any(same_grid(g, case["expected_cells"]) for g in grids)
            recall = None
            if case["read_pdf_kwargs"].get("flavor") == "stream":
                recall = text_recall(grids, case["expected_cells"])
            shapes = ", ".join(f"{len(g)}x{len(g[0]) if g else 0}" for g in grids) or "none"
            expected = case["expected_cells"]
            note = f"expected {len(expected)}x{len(expected[0])}, found {shapes}"
            report.results.append(CaseResult(item["id"], name, passed, note, recall))
    return report


def _cell(grid: Grid, index: str, skip: int) -> str | None:
    match = _INDEX.fullmatch(index)
    assert match is not None, index
    r, c = int(match.group(1)), int(match.group(2))
    rows = grid[skip:]
    try:
        return rows[r][c]
    except IndexError:
        return None


def _cells_match(grid: Grid, expected: dict[str, str]) -> bool:
    return any(
        all(_clean(_cell(grid, k, skip)) == _clean(v) for k, v in expected.items())
        for skip in range(len(grid))
    )


def _rows_match(grid: Grid, expected: dict[str, list[str]]) -> bool:
    def ok(skip: int) -> bool:
        rows = grid[skip:]
        for k, want in expected.items():
            r = int(k)
            if not -len(rows) <= r < len(rows) or len(rows[r]) != len(want):
                return False
            if any(_clean(a) != _clean(b) for a, b in zip(rows[r], want, strict=True)):
                return False
        return True

    return any(ok(skip) for skip in range(len(grid)))


def _number(text: str) -> float | None:
    """A cell's number; an empty cell counts as 0 (as pdfplumber's test reads the table)."""
    cleaned = _clean(text).replace(",", "") or "0"
    try:
        return float(cleaned)
    except ValueError:
        return None


def _sums_twice_total(grid: Grid, n_cols: int) -> bool:
    """NICS: from the first row of the body down to the totals row, every numeric column sums
    to twice its last row."""
    if not grid or len(grid[0]) != n_cols:
        return False
    for start, row in enumerate(grid):
        body = grid[start:]
        if len(body) < 3 or _number(row[1]) is None:
            continue
        numbers = [[_number(r[c]) for r in body] for c in range(1, n_cols)]
        if all(v is not None for col in numbers for v in col) and all(
            abs(sum(v for v in col if v is not None) - 2 * (col[-1] or 0)) < 1e-6 for col in numbers
        ):
            return True
    return False


def _check(check: dict[str, Any], tables: list[Table]) -> bool:
    grids = [table_grid(t) for t in tables]
    if "n_tables" in check and len(tables) != check["n_tables"]:
        return False
    if "invariant" in check:
        return any(_sums_twice_total(g, len(check["columns"])) for g in grids)
    if "expected_cells" in check:
        return any(_cells_match(g, check["expected_cells"]) for g in grids)
    if "expected_rows" in check:
        return any(_rows_match(g, check["expected_rows"]) for g in grids)
    return "n_tables" in check


def evaluate_pdfplumber(dataset: Path, config: PipelineConfig, split: str = "dev") -> CasesReport:
    from pipelines.execution.pipeline import Pipeline

    split_dir = dataset / split
    report = CasesReport(str(dataset))
    pipeline = Pipeline(config)
    for item in dataset_items(split_dir):
        checks = json.loads((split_dir / item["gt"]["checks"]).read_text())["checks"]
        document: Document | None = None
        for check in checks:
            name = str(check.get("what", ""))[:60]
            if not {"expected_cells", "expected_rows", "n_tables", "invariant"} & set(check):
                report.skipped.append(CaseResult(item["id"], name, False, "text check"))
                continue
            settings = check.get("pdfplumber_settings", {})
            if "expected_cells" in check and settings.get("vertical_strategy") == "text":
                # Column indices of pdfplumber's text strategy in a crop: columns empty there
                # are dropped, so the indices are not the table's.
                report.skipped.append(CaseResult(item["id"], name, False, "text-strategy indices"))
                continue
            if document is None:
                document = pipeline.process(split_dir / item["doc"])
            passed = _check(check, _pages(document).get(0, []))
            report.results.append(CaseResult(item["id"], name, passed))
    return report


def format_cases_report(report: CasesReport) -> str:
    lines = [f"{report.dataset}: {sum(r.passed for r in report.results)}/{len(report.results)} "
             f"reproduced ({report.share:.3f}), {len(report.skipped)} not applicable"]  # fmt: skip
    if report.text_recall is not None:
        lines.append(f"  stream cases, expected cell texts found: {report.text_recall:.3f}")
    for r in report.results:
        recall = f" text {r.text_recall:.2f}" if r.text_recall is not None else ""
        line = f"  {'ok  ' if r.passed else 'FAIL'} {r.item}: {r.case} {r.note}{recall}"
        lines.append(line.rstrip())
    reasons = Counter(r.note for r in report.skipped)
    if reasons:
        lines.append("  not applicable: " + ", ".join(f"{n} {why}" for why, n in reasons.items()))
    return "\n".join(lines)


__all__ = [
    "CaseResult",
    "CasesReport",
    "evaluate_camelot",
    "evaluate_pdfplumber",
    "format_cases_report",
    "same_grid",
]
