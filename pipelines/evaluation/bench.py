"""Throughput benchmark: `folio bench` (a script, not a test; numbers are noisy, quote ratios).

Measures pages/s, per-stage ms/page and peak memory of the real batch path for born-digital and
scanned pages, and in the same run plain `rapidocr.RapidOCR` (same bundled model files, angle
classifier off) on the same scanned pages as the baseline. Born-digital pages are also timed under
a comparison profile (`text`: no layout model), alternating runs, so the cost of layout is a
ratio measured in one run on a shared, noisy machine.
"""

from __future__ import annotations

import resource
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipelines.execution.batch import discover, run_batch
from pipelines.execution.config import PipelineConfig
from pipelines.store.workspace import Workspace


@dataclass
class BenchResult:
    label: str
    pages: int
    seconds: float
    stage_ms_per_page: dict[str, float] = field(default_factory=dict)
    peak_rss_mb: float = 0.0
    failed: int = 0

    @property
    def pages_per_s(self) -> float:
        return self.pages / self.seconds if self.seconds else 0.0


def _children_peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def bench_folio(label: str, paths: list[Path], config: PipelineConfig, workers: int) -> BenchResult:
    files, _ = discover(paths)
    with tempfile.TemporaryDirectory(prefix="folio-bench-") as tmp:
        workspace = Workspace.open(Path(tmp))
        start = time.perf_counter()
        summary = run_batch(files, config, workspace, workers=workers)
        seconds = time.perf_counter() - start
    pages = max(1, summary.n_pages)
    return BenchResult(
        label=f"{label} (folio, {workers} workers)",
        pages=summary.n_pages,
        seconds=seconds,
        stage_ms_per_page={k: v / pages for k, v in sorted(summary.stage_ms.items())},
        peak_rss_mb=_children_peak_rss_mb(),
        failed=summary.statuses["failed"],
    )


def bench_alternating(
    label: str, paths: list[Path], configs: list[PipelineConfig], workers: int, repeat: int
) -> list[list[BenchResult]]:
    """Each profile `repeat` times over the same files, alternating (ABAB...), so drift in the
    machine's load hits every profile alike. Results per profile, in run order."""
    results: list[list[BenchResult]] = [[] for _ in configs]
    for _ in range(max(1, repeat)):
        for i, config in enumerate(configs):
            results[i].append(
                bench_folio(f"{label}, {config.name} profile", paths, config, workers)
            )
    return results


def format_alternating(results: list[list[BenchResult]]) -> str:
    """Median pages/s per profile and each profile's median ratio to the first one."""
    medians = [statistics.median(r.pages_per_s for r in runs) for runs in results]
    lines = []
    for runs, median in zip(results, medians, strict=True):
        each = ", ".join(f"{r.pages_per_s:.2f}" for r in runs)
        ratio = median / medians[0] if medians[0] else 0.0
        lines.append(
            f"{runs[0].label}: median {median:.2f} pages/s over {len(runs)} runs ({each}); "
            f"{ratio:.2f}x the first"
        )
    return "\n".join(lines)


def plain_rapidocr() -> Any:
    """RapidOCR as a user would run it, but with the bundled model files by explicit path."""
    from rapidocr import RapidOCR

    from models.assets import model_path

    return RapidOCR(
        params={
            "Global.use_cls": False,
            "Global.log_level": "warning",
            "Det.model_path": str(model_path("ppocr_det")),
            "Rec.model_path": str(model_path("ppocr_rec")),
        }
    )


def bench_rapidocr_baseline(paths: list[Path]) -> BenchResult:
    """Plain RapidOCR on the same images, in one process, timed the same way."""
    engine = plain_rapidocr()
    files, _ = discover(paths)
    images = [f for f in files if f.suffix.lower() in (".jpg", ".jpeg", ".png", ".tif", ".tiff")]
    if images:
        engine(str(images[0]))  # warm-up, as the folio workers load models before timing too
    per_page = []
    start = time.perf_counter()
    for image in images:
        t0 = time.perf_counter()
        engine(str(image))
        per_page.append(time.perf_counter() - t0)
    seconds = time.perf_counter() - start
    return BenchResult(
        label="scanned (plain rapidocr.RapidOCR, 1 process)",
        pages=len(images),
        seconds=seconds,
        stage_ms_per_page={"ocr (median)": statistics.median(per_page) * 1000 if per_page else 0},
        peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    )


def format_results(results: list[BenchResult]) -> str:
    lines = [f"{'run':52} {'pages':>6} {'s':>7} {'pages/s':>8} {'peak MB':>8}  per-stage ms/page"]
    for r in results:
        stages = ", ".join(f"{k} {v:.0f}" for k, v in r.stage_ms_per_page.items())
        lines.append(
            f"{r.label:52} {r.pages:6d} {r.seconds:7.1f} {r.pages_per_s:8.2f} {r.peak_rss_mb:8.0f}"
            f"  {stages}" + (f"  [{r.failed} failed]" if r.failed else "")
        )
    return "\n".join(lines)
