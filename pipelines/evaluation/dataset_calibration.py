"""Confidence calibrated on labelled datasets: words, lines, fields, entities and cells.

For each element type, a read element is checked against the dataset's truth (right or wrong),
then an isotonic map per `<type>:<stage>` (the element's `source`) is fitted on one split and
its expected calibration error reported before and after on another (calibration.py says how
both are computed). What counts as right, exactly:
- **word** (FUNSD): a ground-truth word's box holds the word's centre and the texts are equal,
  case-insensitive (calibration.py); words over no ground-truth word are not checked.
- **line** (SROIE, whose truth is one box per printed line): the truth boxes whose centre lies
  in the line's box (grown by half its height up and down) are its truth, their texts joined
  left to right; the line is right when the two are equal with whitespace removed and case
  ignored. A line over no truth box is not checked.
- **field** (SROIE keys, invoice `fields` files): a document-level field of a name the truth
  has is right when its value equals the truth as `folio evaluate` compares them
  (evaluate_fields.py); fields the truth does not name are not checked.
- **entity** (FUNSD form entities KEY/VALUE/HEADER): right when it is matched one-to-one to a
  ground-truth entity of the same label (evaluate_forms.py, `words` criterion); entities lying
  on FUNSD's `other` text are not checked.
- **cell** (ICDAR 2013 tables): a non-empty cell is right when a ground-truth cell on the same
  page has the same text (evaluate_tables.py's normalisation), each truth cell used once.
A dataset without the fit split (ICDAR 2013 ships `dev` only) is split by document: a hash of
the item id sends every other document to the fit side. Each map records the stage version it
was fitted on, so a map made for older code is known as such.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from extractors.document import Document
from pipelines.evaluation.calibration import (
    expected_calibration_error,
    fit_isotonic,
    funsd_word_checks,
)
from pipelines.evaluation.evaluate import process_split, sroie_truth
from pipelines.evaluation.evaluate_fields import normalise as normalise_field
from pipelines.evaluation.evaluate_fields import read_truth
from pipelines.evaluation.evaluate_forms import (
    funsd_truth,
    one_to_one,
    predicted_form,
)
from pipelines.evaluation.evaluate_tables import icdar_truth
from pipelines.evaluation.evaluate_tables import normalise as normalise_cell
from pipelines.evaluation.review_calibration import Fitted
from pipelines.execution.config import PipelineConfig

ELEMENT_TYPES = ("word", "line", "field", "entity", "cell")


@dataclass(frozen=True)
class Outcome:
    key: str  # "<target_type>:<stage>"
    stage_version: str
    confidence: float
    right: bool


def _version(document: Document, source: str) -> str:
    """`<stage>@<version>` of the stage that made an element (sources such as
    `tables.pdf:ruled` name a stage and its strategy)."""
    stages = document.pipeline.stages if document.pipeline else {}
    stage = source.split(":", 1)[0]
    return f"{stage}@{stages.get(stage, '?')}"


def _outcome(document: Document, kind: str, stage: str, confidence: float, right: bool) -> Outcome:
    return Outcome(f"{kind}:{stage}", _version(document, stage), float(confidence), right)


def word_outcomes(document: Document, gt: Path) -> list[Outcome]:
    return [
        _outcome(document, "word", w.source, w.confidence, right)
        for w, right in funsd_word_checks(document, gt)
    ]


def _squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text).upper()


def line_outcomes(document: Document, boxes_csv: Path) -> list[Outcome]:
    if not document.pages:
        return []
    page = document.pages[0]
    truth = sroie_truth(boxes_csv)
    out = []
    for line in page.lines():
        x0, y0 = line.bbox[0] * page.width, line.bbox[1] * page.height
        x1, y1 = line.bbox[2] * page.width, line.bbox[3] * page.height
        grow = (y1 - y0) / 2
        inside = sorted(
            (t for t in truth
             if x0 <= (t[0] + t[2]) / 2 <= x1 and y0 - grow <= (t[1] + t[3]) / 2 <= y1 + grow),
            key=lambda t: t[0],
        )  # fmt: skip
        if inside:
            right = _squeeze(" ".join(t[4] for t in inside)) == _squeeze(line.text)
            out.append(_outcome(document, "line", line.source, line.confidence, right))
    return out


def field_outcomes(document: Document, truth: dict[str, str]) -> list[Outcome]:
    out, seen = [], set()
    for f in document.fields:
        if f.item is not None or f.name in seen or f.name not in truth:
            continue
        seen.add(f.name)
        want = normalise_field(f.name, truth[f.name])
        if want is None or f.value is None:
            continue
        right = normalise_field(f.name, f.value) == want
        out.append(_outcome(document, "field", f.source, f.confidence, right))
    return out


def entity_outcomes(document: Document, form: Sequence[dict[str, Any]]) -> list[Outcome]:
    truth = funsd_truth(form)
    pred = predicted_form(document)
    anywhere = one_to_one(pred.entities, {**truth.entities, **truth.others}, "words", False)
    scored = {p: item for p, item in pred.entities.items() if anywhere.get(p) not in truth.others}
    labelled = one_to_one(scored, truth.entities, "words", True)
    by_id = {e.id: e for e in document.entities}
    return [
        _outcome(document, "entity", by_id[p].source, by_id[p].confidence, p in labelled)
        for p in scored
    ]


def cell_outcomes(
    document: Document, region_xml: Path, structure_xml: Path, pdf: Path
) -> list[Outcome]:
    truth: dict[int, list[str]] = {}
    for unit in icdar_truth(region_xml, structure_xml, pdf):
        truth.setdefault(unit.page, []).extend(c[4] for c in unit.cells)
    return cell_checks(document, truth)


def cell_checks(document: Document, truth: dict[int, list[str]]) -> list[Outcome]:
    """Cells against the truth cell texts of each page (each truth cell used once)."""
    out = []
    for page in document.pages:
        left = [normalise_cell(t) for t in truth.get(page.index, [])]
        for table in page.tables:
            for cell in table.cells:
                text = normalise_cell(cell.text)
                if not text:
                    continue
                right = text in left
                if right:
                    left.remove(text)
                out.append(_outcome(document, "cell", table.source, cell.confidence, right))
    return out


def item_outcomes(
    item: dict[str, Any], document: Document | None, split_dir: Path
) -> list[Outcome]:
    """Every check the item's truth allows (see the module docstring)."""
    if document is None:
        return []
    gt = item.get("gt", {})
    out: list[Outcome] = []
    if "funsd" in gt:
        out += word_outcomes(document, split_dir / gt["funsd"])
        form = json.loads((split_dir / gt["funsd"]).read_text())["form"]
        out += entity_outcomes(document, form)
    if "boxes" in gt:
        out += line_outcomes(document, split_dir / gt["boxes"])
    truth = read_truth(item, split_dir)
    if truth:
        out += field_outcomes(document, truth)
    if "structure" in gt and "region" in gt:
        pdf = split_dir / item["doc"]
        out += cell_outcomes(document, split_dir / gt["region"], split_dir / gt["structure"], pdf)
    return out


def _fit_side(item_id: str) -> bool:
    return int(hashlib.sha256(item_id.encode()).hexdigest(), 16) % 2 == 0


def dataset_outcomes(
    dataset: Path, fit_split: str, eval_split: str, config: PipelineConfig, limit: int | None = None
) -> tuple[list[Outcome], list[Outcome]]:
    """(fit outcomes, evaluation outcomes) of one dataset."""
    eval_dir = dataset / eval_split
    evaluated = process_split(eval_dir, config, limit=limit)
    if (dataset / fit_split / "index.jsonl").is_file() and fit_split != eval_split:
        fit_dir = dataset / fit_split
        fitted = process_split(fit_dir, config, limit=limit)
        return _all(fitted, fit_dir), _all(evaluated, eval_dir)
    fit = [(i, d) for i, d in evaluated if _fit_side(str(i["id"]))]
    held = [(i, d) for i, d in evaluated if not _fit_side(str(i["id"]))]
    return _all(fit, eval_dir), _all(held, eval_dir)


def _all(pairs: Iterable[tuple[dict[str, Any], Document | None]], split_dir: Path) -> list[Outcome]:
    return [o for item, document in pairs for o in item_outcomes(item, document, split_dir)]


@dataclass(frozen=True)
class KindReport:
    fitted: Fitted  # the map, with ECE before and after on the evaluation outcomes
    stage_version: str
    n_fit: int
    accuracy: float  # share right among the evaluation outcomes
    mean_confidence: float


def fit_outcomes(
    fit: Sequence[Outcome], held: Sequence[Outcome], min_items: int = 30
) -> list[KindReport]:
    """One isotonic map per key with at least `min_items` fit outcomes and one held out."""
    reports = []
    for key in sorted({o.key for o in fit}):
        train = [o for o in fit if o.key == key]
        test = [o for o in held if o.key == key]
        if len(train) < min_items or not test:
            continue
        calibration = fit_isotonic([o.confidence for o in train], [o.right for o in train])
        conf, right = [o.confidence for o in test], [o.right for o in test]
        versions = sorted({o.stage_version for o in train})
        reports.append(
            KindReport(
                Fitted(
                    key,
                    calibration,
                    len(train) + len(test),
                    len(test),
                    expected_calibration_error(conf, right),
                    expected_calibration_error([calibration(c) for c in conf], right),
                ),
                ", ".join(versions),
                len(train),
                sum(right) / len(right),
                sum(conf) / len(conf),
            )
        )
    return reports


def format_reports(reports: Sequence[KindReport]) -> str:
    head = (
        f"{'kind:stage':<24} {'version':<22} {'fit':>6} {'held':>6} {'right':>6} {'conf':>6} "
        f"{'ECE before':>10} {'after':>7}"
    )
    lines = [head]
    for r in reports:
        f = r.fitted
        lines.append(
            f"{f.key:<24} {r.stage_version:<22} {r.n_fit:6d} {f.held_back:6d} "
            f"{r.accuracy:6.3f} {r.mean_confidence:6.3f} {f.ece_before:10.4f} {f.ece_after:7.4f}"
        )
    return "\n".join(lines)
