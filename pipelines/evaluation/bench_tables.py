"""What born-digital tables cost: rulings at ingest and the `tables.pdf` stage, per page,
against the same profile without the stage, in one run (`bench_tables`).

Each document is processed `repeats` times per profile, alternating, after one warm-up
document; a document's time is its fastest run (a shared machine's noise only adds), divided by
its pages; medians are over documents. Rulings are timed apart, page by page, on the same files.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pypdfium2 as pdfium

from extractors.rulings import extract_rulings
from pipelines.execution.config import PipelineConfig

STAGE = "tables.pdf"


@dataclass
class TablesBench:
    documents: int
    pages: int
    rulings_ms: float  # median per page
    rulings_max_ms: float
    stage_ms: float  # median per page (documents' stage time / pages)
    with_ms: float  # median per page, the whole pipeline with the stage
    without_ms: float  # the same profile without it

    @property
    def added(self) -> float:
        """Share the stage adds to a page (medians)."""
        return self.with_ms / self.without_ms - 1 if self.without_ms else 0.0


def _ruling_times(path: Path) -> list[float]:
    doc = pdfium.PdfDocument(str(path))
    out = []
    try:
        for i in range(len(doc)):
            page = doc[i]
            started = time.perf_counter()
            extract_rulings(page)
            out.append((time.perf_counter() - started) * 1000)
            page.close()
    finally:
        doc.close()
    return out


def bench_tables(paths: Sequence[Path], config: PipelineConfig, repeats: int = 2) -> TablesBench:
    """Per-page cost of `tables.pdf` in `config` over PDFs (config must hold the stage)."""
    from pipelines.execution.pipeline import Pipeline

    with_stage, bare = Pipeline(config), Pipeline(config.without([STAGE]))
    if paths:
        with_stage.process(paths[0])
        bare.process(paths[0])
    stage, total_with, total_without, rulings = [], [], [], []
    pages = 0
    for path in paths:
        rulings.extend(_ruling_times(path))
        runs_with, runs_stage, runs_without = [], [], []
        n = 1
        for _ in range(max(1, repeats)):
            doc = with_stage.process(path)
            other = bare.process(path)
            assert doc.pipeline is not None and other.pipeline is not None
            n = max(1, len(doc.pages))
            runs_stage.append(doc.pipeline.timings_ms.get(STAGE, 0.0) / n)
            runs_with.append(doc.pipeline.elapsed_ms / n)
            runs_without.append(other.pipeline.elapsed_ms / n)
        pages += n
        stage.append(min(runs_stage))
        total_with.append(min(runs_with))
        total_without.append(min(runs_without))
    med = statistics.median
    return TablesBench(
        documents=len(paths),
        pages=pages,
        rulings_ms=round(med(rulings), 2) if rulings else 0.0,
        rulings_max_ms=round(max(rulings), 2) if rulings else 0.0,
        stage_ms=round(med(stage), 1) if stage else 0.0,
        with_ms=round(med(total_with), 1) if total_with else 0.0,
        without_ms=round(med(total_without), 1) if total_without else 0.0,
    )


def format_bench(bench: TablesBench) -> str:
    return (
        f"{bench.documents} documents, {bench.pages} pages (medians per page)\n"
        f"rulings      {bench.rulings_ms:8.2f} ms (max {bench.rulings_max_ms:.1f})\n"
        f"tables.pdf   {bench.stage_ms:8.1f} ms\n"
        f"pipeline     {bench.with_ms:8.1f} ms with, {bench.without_ms:.1f} ms without "
        f"(+{bench.added:.0%})"
    )


__all__ = ["TablesBench", "bench_tables", "format_bench"]
