"""GPU benchmark: end-to-end pages per second over batch sizes and worker counts, one table.

    .venv/bin/python -m pipelines.gpu_bench --scanned ../shared/datasets/sroie/dev \\
        --born-digital ../shared/datasets/icdar2013/dev --device cuda

Every cell is a whole `run_batch` (ingest, rendering, every stage of the profile, staging and
the loader) into a fresh workspace, so the figures are what `folio run` gives. Beside pages per
second it prints the per-stage share of the time, the model server's device calls (rows per
call: how well requests from the workers were joined) and busy share per model, and the GPU's
peak memory (torch allocator) and mean utilisation (NVML, sampled by a thread while the cell
runs). A CPU baseline (onnxruntime, the same files) runs first in the same process, so the
ratio is measured on the same machine and files.

`--check-text DIR` compares the text read on the device with the CPU path on every image in DIR
(identical lines, else the character error rate of the device text against the CPU text).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipelines.execution.batch import BatchSummary, discover, run_batch
from pipelines.execution.config import PipelineConfig, StageSpec, load_profile
from pipelines.store.workspace import Workspace

MODEL_STAGES = ("preprocess.orientation", "layout.cdla", "ocr.ppocr", "tables.image")


def with_batch_size(config: PipelineConfig, batch: int) -> PipelineConfig:
    """The profile with every model stage batching `batch` pages (outside the config hash)."""
    stages = [
        StageSpec(kind=s.kind, options={**s.options, "batch_size": batch})
        if s.kind in MODEL_STAGES else s
        for s in config.stages
    ]  # fmt: skip
    return config.model_copy(update={"stages": stages, "documents_per_batch": max(1, batch)})


@dataclass
class Cell:
    kind: str
    device: str
    workers: int
    batch: int
    pages: int = 0
    seconds: float = 0.0
    failed: int = 0
    stage_ms: dict[str, float] = field(default_factory=dict)
    rows_per_call: dict[str, float] = field(default_factory=dict)
    busy: dict[str, float] = field(default_factory=dict)
    gpu_util: float | None = None
    gpu_peak_mb: float | None = None

    @property
    def pages_per_s(self) -> float:
        return self.pages / self.seconds if self.seconds else 0.0


class _GpuSampler:
    """GPU utilisation and memory while a cell runs, from nvidia-smi every 0.2 s."""

    def __init__(self, device: str) -> None:
        self.index = int(device.partition(":")[2] or 0)
        self.util: list[float] = []
        self.memory_mb: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        command = ["nvidia-smi", "--query-gpu=utilization.gpu,memory.used",
                   "--format=csv,noheader,nounits", "-i", str(self.index)]  # fmt: skip
        while not self._stop.wait(0.2):
            try:
                out = subprocess.run(command, capture_output=True, text=True, timeout=5).stdout
                util, memory = (float(v) for v in out.strip().split(","))
            except (OSError, ValueError, subprocess.TimeoutExpired):
                return  # no nvidia-smi: utilisation stays unknown
            self.util.append(util)
            self.memory_mb.append(memory)

    def __enter__(self) -> _GpuSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


@contextmanager
def _measured(device: str) -> Iterator[dict[str, Any]]:
    """GPU utilisation and peak memory of what runs inside (nothing on the CPU)."""
    found: dict[str, Any] = {}
    if device == "cpu":
        yield found
        return
    with _GpuSampler(device) as sampler:
        yield found
    if sampler.util:
        found["util"] = statistics.fmean(sampler.util)
        found["memory_mb"] = max(sampler.memory_mb)


def run_cell(files: list[Path], config: PipelineConfig, kind: str, device: str, workers: int,
             batch: int) -> Cell:  # fmt: skip
    cell = Cell(kind, device, workers, batch)
    with tempfile.TemporaryDirectory(prefix="folio-bench-") as folder, _measured(device) as gpu:
        started = time.perf_counter()
        summary: BatchSummary = run_batch(
            files, with_batch_size(config, batch), Workspace.open(Path(folder)), workers=workers,
            device=device,
        )  # fmt: skip
        cell.seconds = time.perf_counter() - started
    cell.pages, cell.failed = summary.n_pages, summary.statuses["failed"]
    total = sum(summary.stage_ms.values()) or 1.0
    cell.stage_ms = {stage: ms / total for stage, ms in summary.stage_ms.items()}
    for stats in summary.model_stats:
        for name, model in stats.models.items():
            cell.rows_per_call[name] = model.rows_per_call
        cell.busy.update(stats.utilisation())
    cell.gpu_util, cell.gpu_peak_mb = gpu.get("util"), gpu.get("memory_mb")
    return cell


def _short(name: str) -> str:
    return name.removesuffix(".onnx").replace("PP-OCRv6_", "").replace("_small", "")


def print_table(cells: list[Cell]) -> None:
    baseline: dict[str, float] = {}
    for c in cells:  # the first CPU cell of each kind is the baseline
        if c.device == "cpu":
            baseline.setdefault(c.kind, c.pages_per_s)
    header = (
        f"{'kind':<13}{'device':<8}{'workers':>8}{'batch':>6}{'pages':>7}{'pages/s':>9}"
        f"{'x cpu':>7}{'gpu %':>7}{'GPU MB':>8}  top stages | model rows/call busy"
    )
    print(header)
    print("-" * len(header))
    for c in cells:
        ratio = c.pages_per_s / baseline[c.kind] if baseline.get(c.kind) else 0.0
        top = sorted(c.stage_ms.items(), key=lambda kv: -kv[1])[:3]
        stages = ", ".join(f"{s} {share:.0%}" for s, share in top)
        models = ", ".join(f"{_short(n)} {r:.1f}/{c.busy.get(n, 0):.0%}"
                           for n, r in c.rows_per_call.items())  # fmt: skip
        util = f"{c.gpu_util:.0f}" if c.gpu_util is not None else "-"
        memory = f"{c.gpu_peak_mb:.0f}" if c.gpu_peak_mb is not None else "-"
        print(f"{c.kind:<13}{c.device:<8}{c.workers:>8}{c.batch:>6}{c.pages:>7}"
              f"{c.pages_per_s:>9.2f}{ratio:>7.2f}{util:>7}{memory:>8}  {stages}"
              + (f" | {models}" if models else "")
              + (f" | {c.failed} failed" if c.failed else ""))  # fmt: skip


def check_text(folder: Path, device: str, limit: int) -> None:
    """Lines read on the device against the CPU path, image by image."""
    from rapidfuzz.distance import Levenshtein

    from models.runtime import Runtime
    from pipelines.execution.pipeline import Pipeline

    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in (".jpg", ".png"))[:limit]
    config = load_profile("default")
    reads: dict[str, list[str]] = {}
    for name, runtime in (("reference", Runtime(device="cpu", backend="onnxruntime")),
                          ("device", Runtime(device=device, backend="torch"))):  # fmt: skip
        pipeline = Pipeline(config, runtime=runtime)
        reads[name] = ["\n".join(line.text for page in d.pages for line in page.lines())
                       for d in pipeline.process_many([(f, None) for f in files])]  # fmt: skip
    pairs = list(zip(reads["reference"], reads["device"], strict=True))
    same = sum(a == b for a, b in pairs)
    chars = sum(len(a) for a, _ in pairs) or 1
    edits = sum(Levenshtein.distance(a, b) for a, b in pairs)
    print(f"text with torch on {device} vs onnxruntime on cpu: {same}/{len(files)} pages "
          f"identical; CER {edits / chars:.5f} over {len(files)} pages")  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scanned", type=Path, help="folder of page images / scanned PDFs")
    parser.add_argument("--born-digital", type=Path, help="folder of born-digital PDFs")
    parser.add_argument("--device", default="cuda", help="cuda, cuda:N (or cpu to try it here)")
    parser.add_argument("--workers", default="4,8,16", help="worker processes, comma-separated")
    parser.add_argument("--batch", default="8,32", help="pages per model batch, comma-separated")
    parser.add_argument("--limit", type=int, default=200, help="files per kind")
    parser.add_argument("--profile", default="default")
    parser.add_argument("--check-text", type=Path, help="compare device and CPU text on images")
    args = parser.parse_args(argv)
    config = load_profile(args.profile)
    cells: list[Cell] = []
    for kind, folder in (("scanned", args.scanned), ("born-digital", args.born_digital)):
        if folder is None:
            continue
        files, _ = discover([folder], None)
        files = sorted(files)[: args.limit]
        cells.append(run_cell(files, config, kind, "cpu", 2, 8))  # the same-run baseline
        for workers in (int(w) for w in args.workers.split(",")):
            for batch in (int(b) for b in args.batch.split(",")):
                cells.append(run_cell(files, config, kind, args.device, workers, batch))
                print_table(cells[-1:])
    print()
    print_table(cells)
    if args.check_text is not None:
        check_text(args.check_text, args.device, args.limit)


if __name__ == "__main__":
    main()
