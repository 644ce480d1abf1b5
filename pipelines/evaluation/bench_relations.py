"""What `relations.text` costs per page, in one run (a script, not a test; quote medians).

`bench_relations` runs the same profile with and without the stage over the same files,
alternating (and alternating which goes first), after one warm-up document; a document's time is its
fastest run divided by its pages, medians are over documents. `bench_stage` times the stage
alone on documents that already went through a pipeline (their Document JSON), which is what
the stage adds to them, without the noise of OCR around it.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from extractors.document import Document
from extractors.stages.relations import RelationStage
from extractors.stages.relations import parse as parser
from pipelines.execution.config import PipelineConfig, StageSpec

STAGE = RelationStage.kind
UNDERSTANDING = ("entities.text", "classify.doctype", STAGE)


@dataclass
class RelationsBench:
    documents: int
    pages: int
    stage_ms: float  # median per page over documents
    stage_max_ms: float
    with_ms: float = 0.0  # median per page, the whole pipeline with the stage
    without_ms: float = 0.0  # the same profile without it
    understanding_ms: float = 0.0  # median per page of entities + doctype + relations
    relations_per_page: float = 0.0


def with_relations(config: PipelineConfig) -> PipelineConfig:
    """`config` with `relations.text` last, unless it holds the stage already."""
    if any(s.kind == STAGE for s in config.stages):
        return config
    return config.model_copy(
        update={
            "name": f"{config.name} with {STAGE}",
            "stages": [*config.stages, StageSpec(kind=STAGE)],
        }
    )


def _per_page(document: Document, ms: float) -> float:
    return ms / max(1, len(document.pages))


def bench_relations(
    paths: Sequence[Path], config: PipelineConfig, repeats: int = 2
) -> RelationsBench:
    """The stage's cost inside the pipeline, and the pipeline with and without it."""
    from pipelines.execution.pipeline import Pipeline

    config = with_relations(config)
    with_stage, bare = Pipeline(config), Pipeline(config.without([STAGE]))
    parser.load()  # whether or not the warm-up document has a sentence to parse
    if paths:
        with_stage.process(paths[0])
        bare.process(paths[0])
    stage: list[float] = []
    total_with: list[float] = []
    total_without: list[float] = []
    understanding: list[float] = []
    found: list[float] = []
    pages = 0
    for path in paths:
        runs: list[tuple[float, float, float, float]] = []
        n = 1
        for k in range(max(1, repeats)):
            # Which profile goes first alternates: a file's second read is the cheaper one.
            if k % 2:
                other, doc = bare.process(path), with_stage.process(path)
            else:
                doc, other = with_stage.process(path), bare.process(path)
            assert doc.pipeline is not None and other.pipeline is not None
            n = max(1, len(doc.pages))
            timings = doc.pipeline.timings_ms
            runs.append(
                (
                    timings.get(STAGE, 0.0) / n,
                    doc.pipeline.elapsed_ms / n,
                    other.pipeline.elapsed_ms / n,
                    sum(timings.get(k, 0.0) for k in UNDERSTANDING) / n,
                )
            )
            relations = [r for r in doc.relations if r.source == STAGE]
        pages += n
        found.append(len(relations) / n)
        for column, values in zip(
            (stage, total_with, total_without, understanding), zip(*runs, strict=True), strict=True
        ):
            column.append(min(values))
    return _summary(len(paths), pages, stage, found, total_with, total_without, understanding)


def bench_stage(documents: Sequence[Document], repeats: int = 3) -> RelationsBench:
    """The stage alone over processed documents (copies; the inputs are left as they are)."""
    stage = RelationStage()
    parser.load(stage.options.model)  # loaded once per process, before timing
    times, found = [], []
    pages = 0
    for document in documents:
        best = float("inf")
        for _ in range(max(1, repeats)):
            copy = document.model_copy(deep=True)
            started = time.perf_counter()
            stage(copy)
            best = min(best, (time.perf_counter() - started) * 1000)
        pages += max(1, len(document.pages))
        times.append(_per_page(document, best))
        found.append(_per_page(copy, sum(r.source == STAGE for r in copy.relations)))
    return _summary(len(documents), pages, times, found)


def _summary(
    documents: int,
    pages: int,
    stage: list[float],
    found: list[float],
    total_with: Sequence[float] = (),
    total_without: Sequence[float] = (),
    understanding: Sequence[float] = (),
) -> RelationsBench:
    def med(values: Sequence[float]) -> float:
        return round(statistics.median(values), 1) if values else 0.0

    return RelationsBench(
        documents=documents,
        pages=pages,
        stage_ms=round(statistics.median(stage), 2) if stage else 0.0,
        stage_max_ms=round(max(stage), 1) if stage else 0.0,
        with_ms=med(total_with),
        without_ms=med(total_without),
        understanding_ms=med(understanding),
        relations_per_page=round(sum(found) / len(found), 2) if found else 0.0,
    )


def format_bench(bench: RelationsBench, label: str = "") -> str:
    lines = [
        f"{label}{bench.documents} documents, {bench.pages} pages (medians per page)",
        f"  {STAGE:16s} {bench.stage_ms:8.2f} ms (max {bench.stage_max_ms:.1f}), "
        f"{bench.relations_per_page:.2f} relations a page",
    ]
    if bench.with_ms:
        lines.append(
            f"  understanding    {bench.understanding_ms:8.1f} ms (entities+doctype+relations)"
        )
        added = bench.with_ms / bench.without_ms - 1 if bench.without_ms else 0.0
        lines.append(
            f"  pipeline         {bench.with_ms:8.1f} ms with, {bench.without_ms:.1f} ms without "
            f"({added:+.1%})"
        )
    return "\n".join(lines)


__all__ = ["RelationsBench", "bench_relations", "bench_stage", "format_bench", "with_relations"]
