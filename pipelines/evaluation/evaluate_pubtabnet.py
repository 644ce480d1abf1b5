"""Scanned-table accuracy on PubTabNet: TEDS of Folio's `tables.image` stage and of bare SLANet.

TEDS (Zhong et al. 2020, "Image-based table recognition"): tree edit distance similarity over the
HTML tree `table > thead/tbody > tr > td`, 1 - distance / max(nodes of either tree). Inserting or
deleting a node costs 1; renaming costs 1 when the tags or a `td`'s spans differ, otherwise (with
content) the normalised Levenshtein distance of the two cells' characters. Structure-only TEDS
ignores content. Content is compared as plain text with whitespace collapsed: inline formatting
(`<b>`, `<i>`, `<sup>`, ...) in the ground truth is dropped, since OCR cannot see it. A page with
no predicted table scores 0.

Folio = the pipeline run in-process with the default profile (or the one given) on each
image, with the stage option `whole_page = true` set at evaluation time: a PubTabNet image is one
table crop, so when neither the layout nor the rulings propose a region the whole image is the
table. Its first table (largest) is scored. SLANet alone = the model on the whole image, its
structure only. Timing: the same images also go through the profile without the stage, so the
added seconds per page compare two runs of one process on the same inputs.
"""

from __future__ import annotations

import html
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from apted import APTED, Config
from lxml import html as lxml_html
from PIL import Image
from rapidfuzz.distance import Levenshtein

from extractors.document import Document, Table
from models.runtime import DEFAULT_RUNTIME, Runtime
from pipelines.evaluation.evaluate import dataset_items
from pipelines.execution.config import PipelineConfig, load_profile
from pipelines.execution.pipeline import Pipeline

STAGE = "tables.image"
DEV_PROFILE = "default"
_STRUCTURAL = frozenset({"table", "thead", "tbody", "tr", "td"})


@dataclass
class TableNode:
    """A node of the TEDS tree; `content` only on cells (characters)."""

    tag: str
    colspan: int = 1
    rowspan: int = 1
    content: tuple[str, ...] = ()
    children: list[TableNode] = field(default_factory=list)

    def size(self) -> int:
        return 1 + sum(child.size() for child in self.children)


class _TedsConfig(Config):
    valuecls = float

    def __init__(self, structure_only: bool) -> None:
        self.structure_only = structure_only

    def rename(self, a: TableNode, b: TableNode) -> float:
        if a.tag != b.tag or a.colspan != b.colspan or a.rowspan != b.rowspan:
            return 1.0
        if a.tag != "td" or self.structure_only or (not a.content and not b.content):
            return 0.0
        distance = Levenshtein.distance(a.content, b.content)
        return float(distance / max(len(a.content), len(b.content)))

    def children(self, node: TableNode) -> list[TableNode]:
        return node.children


def _text(element: Any) -> str:
    return " ".join(element.text_content().split())


def _span(element: Any, name: str) -> int:
    value = str(element.get(name, "1")).strip()
    return int(value) if value.isdigit() and int(value) > 0 else 1


def html_tree(markup: str) -> TableNode | None:
    """The TEDS tree of the first `<table>` in some HTML (`th` counts as `td`)."""
    root = lxml_html.fromstring(markup)
    tables = [root] if root.tag == "table" else root.findall(".//table")
    if not tables:
        return None

    def build(element: Any) -> TableNode:
        tag = "td" if element.tag == "th" else str(element.tag)
        if tag == "td":
            text = _text(element)
            cs, rs = _span(element, "colspan"), _span(element, "rowspan")
            return TableNode("td", cs, rs, tuple(text))
        kids = [build(c) for c in element if isinstance(c.tag, str) and _kind(c) in _STRUCTURAL]
        return TableNode(tag, children=kids)

    return build(tables[0])


def _kind(element: Any) -> str:
    return "td" if element.tag == "th" else str(element.tag)


def teds(predicted: TableNode | None, truth: TableNode, structure_only: bool = False) -> float:
    """Tree edit distance similarity of two table trees (0 when nothing was predicted)."""
    if predicted is None:
        return 0.0
    distance = APTED(predicted, truth, _TedsConfig(structure_only)).compute_edit_distance()
    return float(1.0 - distance / max(predicted.size(), truth.size()))


def table_html(table: Table) -> str:
    """A Folio table as HTML: rows holding a header cell go into `<thead>`."""
    rows: dict[int, list[str]] = {r: [] for r in range(table.n_rows)}
    header_rows = {c.row for c in table.cells if c.is_header}
    for cell in sorted(table.cells, key=lambda c: (c.row, c.col)):
        attrs = "".join(
            f' {name}="{value}"'
            for name, value in (("rowspan", cell.row_span), ("colspan", cell.col_span))
            if value > 1
        )
        rows[cell.row].append(f"<td{attrs}>{html.escape(cell.text)}</td>")
    head = [f"<tr>{''.join(rows[r])}</tr>" for r in sorted(rows) if r in header_rows]
    body = [f"<tr>{''.join(rows[r])}</tr>" for r in sorted(rows) if r not in header_rows]
    thead = f"<thead>{''.join(head)}</thead>" if head else ""
    return f"<table>{thead}<tbody>{''.join(body)}</tbody></table>"


def structure_html(tokens: Sequence[str]) -> str:
    """SLANet's tokens as an HTML table (cells empty)."""
    body = "".join("<td></td>" if t == "<td></td>" else t for t in tokens)
    return f"<table>{body}</table>"


@dataclass
class ItemScore:
    item_id: str
    teds: float  # Folio, with content
    teds_structure: float  # Folio, structure only
    slanet_structure: float  # bare SLANet on the whole image, structure only
    tables: int  # tables Folio found on the image
    stage_s: float  # the stage's own time on the page
    added_s: float  # page time with the stage minus without it
    model_s: float  # bare SLANet on one table


@dataclass
class PubTabNetReport:
    split: str
    items: list[ItemScore]

    def mean(self, name: str) -> float:
        values = [getattr(item, name) for item in self.items]
        return float(np.mean(values)) if values else 0.0

    def median(self, name: str) -> float:
        return median_of(self.items, name)


def with_whole_page(config: PipelineConfig) -> PipelineConfig:
    """The profile with the stage reading a page it finds no region on as one table."""
    stages = [
        spec.model_copy(update={"options": {**spec.options, "whole_page": True}})
        if spec.kind == STAGE
        else spec
        for spec in config.stages
    ]
    return config.model_copy(update={"stages": stages})


def main_table(document: Document) -> Table | None:
    """The document's largest table (a table crop holds one)."""
    tables = [t for page in document.pages for t in page.tables]
    return max(
        tables, key=lambda t: (t.bbox[2] - t.bbox[0]) * (t.bbox[3] - t.bbox[1]), default=None
    )


def median_of(items: Sequence[Any], name: str) -> float:
    values = [getattr(item, name) for item in items]
    return float(np.median(values)) if values else 0.0


def timed_runs(
    baseline: Pipeline, with_stage: Pipeline, path: Path, repeats: int = 1
) -> tuple[Document, float, float]:
    """The document with the stage, the seconds the stage adds to it (the fastest of `repeats`
    runs of each pipeline, alternating, so a busy machine blurs both alike) and the stage's own
    seconds."""
    base, full = float("inf"), float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        baseline.process(path)
        middle = time.perf_counter()
        document = with_stage.process(path)
        base, full = min(base, middle - start), min(full, time.perf_counter() - middle)
    timings = document.pipeline.timings_ms if document.pipeline else {}
    return document, full - base, timings.get(STAGE, 0.0) / 1000


def evaluate_pubtabnet(
    split_dir: Path,
    profile: str = DEV_PROFILE,
    limit: int | None = None,
    runtime: Runtime = DEFAULT_RUNTIME,
    repeats: int = 1,
) -> PubTabNetReport:
    """TEDS of the profile's `tables.image` stage and of bare SLANet on a PubTabNet split;
    `repeats` runs per image for the timings (the fastest counts)."""
    import extractors.stages.tables.image  # noqa: F401  (registers the stage kind)
    from models.table_structure import SlaNetStructure

    config = with_whole_page(load_profile(profile))
    if not any(spec.kind == STAGE for spec in config.stages):
        raise ValueError(f"profile {profile!r} has no {STAGE} stage")
    with_tables = Pipeline(config, runtime=runtime)
    baseline = Pipeline(config.without([STAGE]), runtime=runtime)
    model = SlaNetStructure(batch_size=1, runtime=runtime)
    scores: list[ItemScore] = []
    for item in dataset_items(split_dir, limit):
        path = split_dir / item["doc"]
        truth_markup = _read_truth(split_dir / item["gt"]["table"])
        truth = html_tree(truth_markup)
        if truth is None:
            continue
        document, added_s, stage_s = timed_runs(baseline, with_tables, path, repeats)
        table = main_table(document)
        predicted = html_tree(table_html(table)) if table is not None else None
        image = np.asarray(Image.open(path).convert("RGB"))
        start = time.perf_counter()
        structure = model([image])[0]
        model_s = time.perf_counter() - start
        scores.append(
            ItemScore(
                item_id=str(item["id"]),
                teds=teds(predicted, truth),
                teds_structure=teds(predicted, truth, structure_only=True),
                slanet_structure=teds(
                    html_tree(structure_html(structure.tokens)), truth, structure_only=True
                ),
                tables=sum(len(p.tables) for p in document.pages),
                stage_s=stage_s,
                added_s=added_s,
                model_s=model_s,
            )
        )
    return PubTabNetReport(split=str(split_dir), items=scores)


def _read_truth(path: Path) -> str:
    return str(json.loads(path.read_text())["html"])


def format_report(report: PubTabNetReport) -> str:
    """Plain-text table of a PubTabNet evaluation (for the CLI)."""
    rows = [
        ("TEDS (content)", report.mean("teds"), None),
        ("TEDS (structure)", report.mean("teds_structure"), report.mean("slanet_structure")),
    ]
    out = [
        f"PubTabNet {report.split}: {len(report.items)} tables",
        f"{'metric':<20}{'folio':>8}{'slanet':>8}",
    ]
    for name, folio, bare in rows:
        out.append(f"{name:<20}{folio:>8.4f}{'' if bare is None else f'{bare:.4f}':>8}")
    out.append(
        f"seconds: stage per page {report.median('stage_s'):.3f} (median), added per page "
        f"{report.median('added_s'):.3f} (median), SLANet per table {report.median('model_s'):.3f}"
    )
    return "\n".join(out)
