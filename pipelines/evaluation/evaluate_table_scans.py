"""Scanned tables beyond PubTabNet: rows x columns on ICDAR 2013 table crops, false tables on
dense-text scans (SROIE receipts, FUNSD forms), and what the stage adds to a scanned page.

ICDAR 2013 pages are born-digital, so each table region of the structure ground truth
(`gt/<id>-str.xml`, PDF points, origin bottom-left) is rendered as an image crop (no text layer:
the pipeline OCRs it as a scan) with a small margin, and read with `whole_page` on, like
PubTabNet. Its rows x columns are compared with the ground truth's (spans counted as in the
XML: `end-row`/`end-col` inclusive).

Dense-text scans go through the development profile as it is (`whole_page` off) and through the
same profile without the stage, in one process; every table found there is a false one (neither
dataset annotates tables), and the per-page difference in seconds is what the stage costs.
"""

from __future__ import annotations

import tempfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pypdfium2 as pdfium

from extractors.document import Document
from models.runtime import DEFAULT_RUNTIME, Runtime
from pipelines.evaluation.evaluate import dataset_items
from pipelines.evaluation.evaluate_pubtabnet import (
    DEV_PROFILE,
    STAGE,
    main_table,
    median_of,
    timed_runs,
    with_whole_page,
)
from pipelines.execution.config import load_profile
from pipelines.execution.pipeline import Pipeline

MARGIN_PT = 6.0


@dataclass(frozen=True)
class TruthRegion:
    page: int  # 0-based
    box: tuple[float, float, float, float]  # PDF points, origin bottom-left: x0 y0 x1 y1
    rows: int
    cols: int


def icdar_regions(structure_xml: Path) -> list[TruthRegion]:
    """Table regions of an ICDAR 2013 structure file, each with its rows and columns."""
    out: list[TruthRegion] = []
    for region in ET.parse(structure_xml).getroot().iter("region"):
        cells = region.findall("cell")
        if not cells:
            continue
        boxes, rows, cols = [], [], []
        for cell in cells:
            b = cell.find("bounding-box")
            if b is None:
                continue
            boxes.append([_number(b.get(k)) for k in ("x1", "y1", "x2", "y2")])
            rows += [
                int(cell.get("start-row", 0)),
                int(cell.get("end-row", cell.get("start-row", 0))),
            ]
            cols += [
                int(cell.get("start-col", 0)),
                int(cell.get("end-col", cell.get("start-col", 0))),
            ]
        if not boxes:
            continue
        a = np.asarray(boxes)
        box = (
            float(a[:, 0].min()),
            float(a[:, 1].min()),
            float(a[:, 2].max()),
            float(a[:, 3].max()),
        )
        page = int(region.get("page", 1)) - 1
        out.append(TruthRegion(page, box, max(rows) - min(rows) + 1, max(cols) - min(cols) + 1))
    return out


def _number(value: str | None) -> float:
    digits = ""
    for char in value or "0":  # one held-out file has x1='26ß': keep the numeric prefix
        if not (char.isdigit() or char in ".-"):
            break
        digits += char
    return float(digits or 0)


def render_crop(pdf: Path, region: TruthRegion, out: Path, dpi: int = 150) -> Path:
    """The region of a PDF page as a PNG (with MARGIN_PT around it)."""
    document = pdfium.PdfDocument(str(pdf))
    try:
        page = document[region.page]
        scale = dpi / 72
        image = page.render(scale=scale).to_pil().convert("RGB")
        height_pt = page.get_height()
        x0, y0, x1, y1 = region.box
        left, right = (x0 - MARGIN_PT) * scale, (x1 + MARGIN_PT) * scale
        top, bottom = (height_pt - y1 - MARGIN_PT) * scale, (height_pt - y0 + MARGIN_PT) * scale
        crop = image.crop((max(0, int(left)), max(0, int(top)), int(right), int(bottom)))
        crop.save(out)
    finally:
        document.close()
    return out


@dataclass
class CropScore:
    item_id: str
    region: int
    truth: tuple[int, int]  # rows, columns
    found: tuple[int, int]  # (0, 0): no table


@dataclass
class IcdarCropReport:
    crops: list[CropScore]

    def exact(self) -> int:
        return sum(c.truth == c.found for c in self.crops)

    def rows_right(self) -> int:
        return sum(c.truth[0] == c.found[0] for c in self.crops)

    def cols_right(self) -> int:
        return sum(c.truth[1] == c.found[1] for c in self.crops)


def _rows_cols(document: Document) -> tuple[int, int]:
    table = main_table(document)
    return (table.n_rows, table.n_cols) if table is not None else (0, 0)


def evaluate_icdar_crops(
    split_dir: Path,
    profile: str = DEV_PROFILE,
    limit: int | None = None,
    runtime: Runtime = DEFAULT_RUNTIME,
) -> IcdarCropReport:
    """Rows x columns of the stage on rendered ICDAR 2013 table crops (`limit` documents)."""
    import extractors.stages.tables.image  # noqa: F401  (registers the stage kind)

    pipeline = Pipeline(with_whole_page(load_profile(profile)), runtime=runtime)
    scores: list[CropScore] = []
    with tempfile.TemporaryDirectory(prefix="folio-icdar-") as tmp:
        for item in dataset_items(split_dir, limit):
            for n, region in enumerate(icdar_regions(split_dir / item["gt"]["structure"])):
                png = render_crop(
                    split_dir / item["doc"], region, Path(tmp) / f"{item['id']}-{n}.png"
                )
                found = _rows_cols(pipeline.process(png))
                scores.append(CropScore(str(item["id"]), n, (region.rows, region.cols), found))
    return IcdarCropReport(scores)


@dataclass
class ScanScore:
    item_id: str
    tables: int
    stage_s: float
    added_s: float


@dataclass
class DenseTextReport:
    split: str
    pages: list[ScanScore]

    def false_tables(self) -> int:
        return sum(p.tables for p in self.pages)

    def pages_with_tables(self) -> int:
        return sum(p.tables > 0 for p in self.pages)

    def median(self, name: str) -> float:
        return median_of(self.pages, name)


def evaluate_dense_text(
    split_dir: Path,
    profile: str = DEV_PROFILE,
    limit: int | None = None,
    runtime: Runtime = DEFAULT_RUNTIME,
    repeats: int = 1,
) -> DenseTextReport:
    """Tables the stage finds on scans that hold none, and the seconds it adds per page
    (`repeats` runs per page, the fastest counts)."""
    import extractors.stages.tables.image  # noqa: F401  (registers the stage kind)

    config = load_profile(profile)
    with_tables = Pipeline(config, runtime=runtime)
    baseline = Pipeline(config.without([STAGE]), runtime=runtime)
    scores: list[ScanScore] = []
    for item in dataset_items(split_dir, limit):
        path = split_dir / item["doc"]
        document, added_s, stage_s = timed_runs(baseline, with_tables, path, repeats)
        tables = sum(len(p.tables) for p in document.pages)
        scores.append(ScanScore(str(item["id"]), tables, stage_s, added_s))
    return DenseTextReport(str(split_dir), scores)


def format_icdar(report: IcdarCropReport) -> str:
    n = len(report.crops)
    lines = [
        f"ICDAR 2013 crops: {n}; rows x cols exact {report.exact()}/{n}, rows "
        f"{report.rows_right()}/{n}, cols {report.cols_right()}/{n}",
        f"{'crop':<14}{'truth':>10}{'found':>10}",
    ]
    for c in report.crops:
        truth, found = f"{c.truth[0]}x{c.truth[1]}", f"{c.found[0]}x{c.found[1]}"
        lines.append(f"{c.item_id + '/' + str(c.region):<14}{truth:>10}{found:>10}")
    return "\n".join(lines)


def format_dense_text(report: DenseTextReport) -> str:
    return (
        f"{report.split}: {len(report.pages)} pages, {report.false_tables()} false tables on "
        f"{report.pages_with_tables()} pages; stage {report.median('stage_s'):.3f} s/page, "
        f"added {report.median('added_s'):.3f} s/page (medians)"
    )
