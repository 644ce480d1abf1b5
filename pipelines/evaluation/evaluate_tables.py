"""Born-digital table accuracy on ICDAR 2013 (`folio evaluate-tables PATH`), Folio's profile
against plain pdfplumber (`page.find_tables()` with default settings) on the same pages.

Units: one ICDAR table region (a table on one page; a table continued over pages is one unit per
page, as the competition's structure files list it).

- Regions: a predicted table matches a ground-truth region on the same page when their boxes
  have IoU >= 0.5; one-to-one, greedily by IoU. Precision/recall/F1 over all units.
- Cell adjacency (Göbel et al., "A methodology for evaluating algorithms for table
  understanding in PDF documents", DocEng 2012): every non-empty cell relates to its nearest
  non-empty neighbour to the right (same row) and below (same column); a spanning cell relates
  from each row/column it covers. A relation is (content, content, direction) with content
  normalised: NFKC, lower case, only letters and digits kept (so line breaks, spacing and
  punctuation-only differences do not count). Each predicted table goes to the ground-truth
  region on its page that it overlaps most (at least half of the predicted box inside it, or
  half of the region covered); relations are compared as multisets per region, and predicted
  tables that go to no region add their relations as false positives. Micro over all regions:
  precision = matched / predicted relations, recall = matched / ground-truth relations.
- Speed (`s/page`): Folio's whole profile per page (ingest, layout, reading order, tables)
  against pdfplumber's parse plus `find_tables()`/`extract()` per page, in the same run.

Ground truth: region boxes from `-reg.xml`, cells from `-str.xml` (PDF points, origin bottom
left, 1-based pages), mapped into the presented page with the PDF's own crop box.
"""

from __future__ import annotations

import re
import time
import unicodedata
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pypdfium2 as pdfium

from extractors.document import Table
from extractors.geometry import Box, area, intersection, iou
from extractors.text_layer import page_frame
from pipelines.evaluation.counts import Counts
from pipelines.evaluation.evaluate import dataset_items
from pipelines.execution.config import PipelineConfig

# A cell as the metrics see it: first row, first col, last row, last col (inclusive), text.
GridCell = tuple[int, int, int, int, str]
Relation = tuple[str, str, str]
MIN_REGION_IOU = 0.5
_NOT_WORD = re.compile(r"[^0-9a-z]+")


@dataclass
class Unit:
    """A table on one page: ground truth or prediction (page 0-based, box page-relative)."""

    page: int
    bbox: Box
    cells: list[GridCell] = field(default_factory=list)


@dataclass
class SystemScore:
    name: str
    regions: Counts = field(default_factory=Counts)
    adjacency: Counts = field(default_factory=Counts)
    seconds: float = 0.0
    pages: int = 0


@dataclass
class TableReport:
    dataset: str
    documents: int
    systems: list[SystemScore]
    per_document: dict[str, dict[str, tuple[float, float]]] = field(default_factory=dict)


def normalise(text: str) -> str:
    return _NOT_WORD.sub("", unicodedata.normalize("NFKC", text).lower())


def _first_other(
    at: dict[tuple[int, int], int], i: int, positions: Iterable[tuple[int, int]]
) -> int | None:
    """The first cell other than `i` met along `positions`."""
    for p in positions:
        j = at.get(p)
        if j is not None and j != i:
            return j
    return None


def adjacency_relations(cells: Iterable[GridCell]) -> Counter[Relation]:
    """Each non-empty cell's relations to its nearest non-empty neighbour right and below."""
    filled = [(r0, c0, r1, c1, normalise(t)) for r0, c0, r1, c1, t in cells]
    filled = [c for c in filled if c[4]]
    at: dict[tuple[int, int], int] = {}
    for i, (r0, c0, r1, c1, _) in enumerate(filled):
        for r in range(r0, r1 + 1):
            for c in range(c0, c1 + 1):
                at.setdefault((r, c), i)
    if not at:
        return Counter()
    max_r = max(r for r, _ in at)
    max_c = max(c for _, c in at)
    pairs: set[tuple[int, int, str]] = set()
    for i, (r0, c0, r1, c1, _) in enumerate(filled):
        for r in range(r0, r1 + 1):
            j = _first_other(at, i, ((r, c) for c in range(c1 + 1, max_c + 1)))
            if j is not None:
                pairs.add((i, j, "h"))
        for c in range(c0, c1 + 1):
            j = _first_other(at, i, ((r, c) for r in range(r1 + 1, max_r + 1)))
            if j is not None:
                pairs.add((i, j, "v"))
    return Counter((filled[i][4], filled[j][4], d) for i, j, d in pairs)


def relation_counts(truth: Counter[Relation], predicted: Counter[Relation]) -> Counts:
    return Counts(
        tp=sum((truth & predicted).values()),
        predicted=sum(predicted.values()),
        truth=sum(truth.values()),
    )


def region_counts(truth: Sequence[Unit], predicted: Sequence[Unit]) -> Counts:
    """One-to-one matches at IoU >= 0.5 on the same page, greedy by IoU."""
    pairs = sorted(
        (
            (iou(t.bbox, p.bbox), i, j)
            for i, t in enumerate(truth)
            for j, p in enumerate(predicted)
            if t.page == p.page
        ),
        reverse=True,
    )
    used_t: set[int] = set()
    used_p: set[int] = set()
    for score, i, j in pairs:
        if score >= MIN_REGION_IOU and i not in used_t and j not in used_p:
            used_t.add(i)
            used_p.add(j)
    return Counts(tp=len(used_t), predicted=len(predicted), truth=len(truth))


def adjacency_counts(truth: Sequence[Unit], predicted: Sequence[Unit]) -> Counts:
    """Relations per ground-truth region against the predicted tables assigned to it."""
    assigned: list[Counter[Relation]] = [Counter() for _ in truth]
    stray: Counter[Relation] = Counter()
    for p in predicted:
        best, best_overlap = -1, 0.0
        for i, t in enumerate(truth):
            if t.page != p.page:
                continue
            inter = intersection(t.bbox, p.bbox)
            share = max(inter / max(area(p.bbox), 1e-12), inter / max(area(t.bbox), 1e-12))
            if share >= 0.5 and inter > best_overlap:
                best, best_overlap = i, inter
        rel = adjacency_relations(p.cells)
        if best >= 0:
            assigned[best] += rel
        else:
            stray += rel
    total = Counts(predicted=sum(stray.values()))
    for t, rel in zip(truth, assigned, strict=True):
        total.add(relation_counts(adjacency_relations(t.cells), rel))
    return total


def table_cells(table: Table) -> list[GridCell]:
    return [
        (c.row, c.col, c.row + c.row_span - 1, c.col + c.col_span - 1, c.text) for c in table.cells
    ]


def grid_cells(rows: Sequence[Sequence[str | None]]) -> list[GridCell]:
    """A plain list-of-rows table (None: covered by a merged cell) as 1 x 1 cells."""
    return [(r, c, r, c, text) for r, row in enumerate(rows) for c, text in enumerate(row) if text]


# --- ICDAR 2013 ----------------------------------------------------------------------------


def _number(value: str | None) -> float:
    match = re.match(r"-?[0-9.]+", value or "")
    return float(match.group(0)) if match else 0.0


def _box_of(element: ET.Element, frames: Sequence[Box], page: int) -> Box:
    """An ICDAR bounding box (PDF points, origin bottom-left) -> page-relative presented."""
    b = element.find("bounding-box")
    assert b is not None
    x1, y1 = _number(b.get("x1")), _number(b.get("y1"))
    x2, y2 = _number(b.get("x2")), _number(b.get("y2"))
    fx0, fy0, fx1, fy1 = frames[page]
    w, h = fx1 - fx0, fy1 - fy0
    return (
        (min(x1, x2) - fx0) / w,
        (fy1 - max(y1, y2)) / h,
        (max(x1, x2) - fx0) / w,
        (fy1 - min(y1, y2)) / h,
    )


def _frames(pdf: Path) -> list[Box]:
    doc = pdfium.PdfDocument(str(pdf))
    try:
        return [page_frame(doc[i]).box for i in range(len(doc))]
    finally:
        doc.close()


def icdar_truth(region_xml: Path, structure_xml: Path, pdf: Path) -> list[Unit]:
    """Ground-truth regions: boxes from `-reg.xml`, cells (0-based rows/cols) from `-str.xml`
    (matched by table id and page; a region missing from one file keeps what the other has)."""
    frames = _frames(pdf)
    units: dict[tuple[str, int, int], Unit] = {}
    for table in ET.parse(region_xml).getroot().findall("table"):
        for n, region in enumerate(table.findall("region")):
            page = int(region.get("page", "1")) - 1
            key = (table.get("id", ""), page, n)
            units[key] = Unit(page, _box_of(region, frames, page))
    for table in ET.parse(structure_xml).getroot().findall("table"):
        for n, region in enumerate(table.findall("region")):
            page = int(region.get("page", "1")) - 1
            cells: list[GridCell] = []
            boxes: list[Box] = []
            for cell in region.findall("cell"):
                r0, c0 = int(cell.get("start-row", 0)), int(cell.get("start-col", 0))
                r1 = int(cell.get("end-row", r0))
                c1 = int(cell.get("end-col", c0))
                cells.append((r0, c0, r1, c1, cell.findtext("content") or ""))
                boxes.append(_box_of(cell, frames, page))
            key = (table.get("id", ""), page, n)
            if key in units:
                units[key].cells = cells
            elif boxes:
                bbox = (min(b[0] for b in boxes), min(b[1] for b in boxes),
                        max(b[2] for b in boxes), max(b[3] for b in boxes))  # fmt: skip
                units[key] = Unit(page, bbox, cells)
    return list(units.values())


def folio_units(path: Path, config: PipelineConfig) -> tuple[list[Unit], int]:
    """Tables the profile finds in one PDF, and its page count."""
    from pipelines.execution.pipeline import Pipeline

    document = Pipeline(config).process(path)
    units = [
        Unit(page.index, (t.bbox[0], t.bbox[1], t.bbox[2], t.bbox[3]), table_cells(t))
        for page in document.pages
        for t in page.tables
    ]
    return units, len(document.pages)


def pdfplumber_units(path: Path) -> list[Unit]:
    """Plain pdfplumber (`find_tables()` defaults: lines strategy) on every page."""
    import pdfplumber

    units: list[Unit] = []
    with pdfplumber.open(str(path)) as pdf:
        for index, page in enumerate(pdf.pages):
            px0, ptop = float(page.bbox[0]), float(page.bbox[1])
            w, h = float(page.width), float(page.height)
            for table in page.find_tables():
                x0, top, x1, bottom = table.bbox
                box = ((x0 - px0) / w, (top - ptop) / h, (x1 - px0) / w, (bottom - ptop) / h)
                units.append(Unit(index, box, grid_cells(table.extract())))
    return units


def evaluate_icdar(
    dataset: Path, config: PipelineConfig, split: str = "dev", limit: int | None = None
) -> TableReport:
    """Folio's profile and plain pdfplumber on the split's documents."""
    split_dir = dataset / split
    folio = SystemScore("folio")
    plumber = SystemScore("pdfplumber")
    items = dataset_items(split_dir, limit)
    per_doc: dict[str, dict[str, tuple[float, float]]] = {}
    for item in items:
        pdf = split_dir / item["doc"]
        gt = item["gt"]
        truth = icdar_truth(split_dir / gt["region"], split_dir / gt["structure"], pdf)
        scores: dict[str, tuple[float, float]] = {}
        n_pages = 0
        for system in (folio, plumber):
            started = time.perf_counter()
            if system is folio:
                predicted, n_pages = folio_units(pdf, config)
            else:
                predicted = pdfplumber_units(pdf)
            system.seconds += time.perf_counter() - started
            system.pages += n_pages
            reg, adj = region_counts(truth, predicted), adjacency_counts(truth, predicted)
            system.regions.add(reg)
            system.adjacency.add(adj)
            scores[system.name] = (round(reg.f1, 3), round(adj.f1, 3))
        per_doc[str(item["id"])] = scores
    return TableReport(str(dataset), len(items), [folio, plumber], per_doc)


def format_table_report(report: TableReport) -> str:
    """Plain-text table of a report (what the CLI prints)."""
    lines = [
        f"{report.dataset}: {report.documents} documents",
        f"{'system':<12}{'reg P':>7}{'reg R':>7}{'reg F1':>8}"
        f"{'adj P':>8}{'adj R':>7}{'adj F1':>8}{'s/page':>8}",
    ]
    for s in report.systems:
        per_page = s.seconds / s.pages if s.pages else 0.0
        lines.append(
            f"{s.name:<12}{s.regions.precision:>7.3f}{s.regions.recall:>7.3f}"
            f"{s.regions.f1:>8.3f}{s.adjacency.precision:>8.3f}{s.adjacency.recall:>7.3f}"
            f"{s.adjacency.f1:>8.3f}{per_page:>8.3f}"
        )
    return "\n".join(lines)


__all__ = [
    "Counts",
    "TableReport",
    "adjacency_counts",
    "adjacency_relations",
    "evaluate_icdar",
    "format_table_report",
    "normalise",
    "region_counts",
]
