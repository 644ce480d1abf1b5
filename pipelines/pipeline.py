"""The pipeline: one input file in, one `Document` out, never an exception.

Pages are rendered lazily and flow through the page stages in batches (so a GPU stage sees many
pages at once); document stages run after. A stage failing on a batch is retried page by page so
one bad page makes the document `partial` instead of failing it; ingest errors make it `failed`
with the reason. Timings per stage and the stage versions are recorded in `Document.pipeline`.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from extractors.document import (
    Document,
    ErrorRecord,
    Page,
    PipelineInfo,
    Status,
    document_id_for,
)
from extractors.ingest import IngestError, OpenedDocument, open_document
from extractors.office.native import NativePage
from extractors.stage import (
    IMAGE,
    LINES,
    AnyStage,
    DocumentStage,
    Image,
    PageContext,
    PageStage,
    StageError,
)
from models.assets import file_sha256
from models.runtime import DEFAULT_RUNTIME, Runtime
from pipelines.config import PipelineConfig

logger = logging.getLogger(__name__)

PAGE_CHUNK = 8  # pages rendered and held at once; bounds memory on long documents


class Pipeline:
    """Stages built once per process and reused for every document."""

    def __init__(
        self,
        config: PipelineConfig,
        password: str | None = None,
        runtime: Runtime = DEFAULT_RUNTIME,
    ) -> None:
        self.config = config
        self.stages: list[AnyStage] = config.build_stages(runtime)
        self.config_hash = config.config_hash()
        self.stage_versions = config.stage_versions()
        self.ingest_options = config.ingest.model_copy(update={"password": password})

    def process(
        self,
        path: Path,
        sha256: str | None = None,
        on_progress: Callable[[int], None] | None = None,
    ) -> Document:
        """Process one file; `on_progress(pages_done)` is called as pages finish."""
        started = time.perf_counter()
        sha = sha256 or file_sha256(path)
        document = Document(
            document_id=document_id_for(sha),
            source_name=path.name,
            source_path=str(path),
            sha256=sha,
            size_bytes=path.stat().st_size,
            pipeline=PipelineInfo(
                profile=self.config.name,
                config_hash=self.config_hash,
                stages=dict(self.stage_versions),
                started_at=datetime.now(UTC).isoformat(timespec="seconds"),
            ),
        )
        timings: dict[str, float] = defaultdict(float)
        try:
            with _timed(timings, "ingest"):
                opened = open_document(path, self.ingest_options)
        except IngestError as error:
            document.errors.append(ErrorRecord(stage="ingest", message=str(error)))
        else:
            try:
                document.media_type = opened.media_type
                self._run_pages(document, opened, timings, on_progress)
            finally:
                opened.close()
            self._run_document_stages(document, timings)
        document.status = _status(document)
        assert document.pipeline is not None
        document.pipeline.timings_ms = {k: round(v * 1000, 1) for k, v in timings.items()}
        document.pipeline.elapsed_ms = round((time.perf_counter() - started) * 1000, 1)
        return document

    def _run_pages(
        self,
        document: Document,
        opened: OpenedDocument,
        timings: dict[str, float],
        on_progress: Callable[[int], None] | None,
    ) -> None:
        page_stages = [s for s in self.stages if isinstance(s, PageStage)]
        for start in range(0, opened.page_count, PAGE_CHUNK):
            contexts: list[PageContext] = []
            natives: list[tuple[Page, NativePage, list[PageContext]]] = []
            with _timed(timings, "ingest"):  # text layers are read when a page is first touched
                sources = list(opened.pages[start : start + PAGE_CHUNK])
            for source in sources:
                page = Page(
                    id=f"p{source.index}",
                    index=source.index,
                    width=round(source.width, 2),
                    height=round(source.height, 2),
                    unit=source.unit,
                )
                if source.native is not None:
                    # Office page: its structure is native; only its pictures go through the
                    # page stages, each as a scanned image of its own.
                    pictures = [
                        PageContext(document.document_id, p, _timed_render(render, timings))
                        for p, render in source.native.image_pages(source.index)
                    ]
                    contexts += pictures
                    natives.append((page, source.native, pictures))
                    document.pages.append(page)
                    continue
                ctx = PageContext(
                    document_id=document.document_id,
                    page=page,
                    render=_timed_render(source.render, timings),
                    text_layer_usable=source.text_layer_usable,
                )
                if source.text_layer_usable and source.text_lines is not None:
                    ctx.scratch[LINES] = list(source.text_lines)
                    page.text_source = "pdf"
                contexts.append(ctx)
                document.pages.append(page)
            failed: set[int] = set()
            for stage in page_stages:
                alive = [ctx for ctx in contexts if ctx.page.index not in failed]
                size = stage.pages_per_batch
                for batch_start in range(0, len(alive), size):
                    batch = alive[batch_start : batch_start + size]
                    if IMAGE in stage.requires:
                        # Pixels are made before a model stage, never inside it (its timing,
                        # and on a GPU its batch, are the model's alone).
                        failed |= _render_pages(stage, batch, document)
                        batch = [ctx for ctx in batch if ctx.page.index not in failed]
                    with _timed(timings, stage.name):
                        failed |= _run_page_batch(stage, batch, document)
            for page, native, pictures in natives:
                native.apply(page, [ctx.page for ctx in pictures if page.index not in failed])
            for ctx in contexts:
                ctx.release()
            if on_progress is not None:
                on_progress(len(document.pages))

    def _run_document_stages(self, document: Document, timings: dict[str, float]) -> None:
        for stage in self.stages:
            if not isinstance(stage, DocumentStage):
                continue
            try:
                with _timed(timings, stage.name):
                    stage(document)
            except Exception as error:  # a document stage failing leaves the pages intact
                logger.exception("stage %s failed on %s", stage.name, document.document_id)
                document.errors.append(ErrorRecord(stage=stage.name, message=_message(error)))


def _render_pages(stage: PageStage, batch: Sequence[PageContext], document: Document) -> set[int]:
    """Render the pages `stage` will read; a page that cannot be rendered fails alone."""
    failed: set[int] = set()
    for ctx in batch:
        if not stage.applies_to(ctx):
            continue
        try:
            ctx.image  # noqa: B018  (renders and keeps the pixels)
        except Exception as error:
            document.errors.append(
                ErrorRecord(stage="render", page=ctx.page.index, message=_message(error))
            )
            failed.add(ctx.page.index)
    return failed


def _run_page_batch(stage: PageStage, batch: Sequence[PageContext], document: Document) -> set[int]:
    """Run a stage on a batch; on failure, retry page by page to isolate the bad page(s)."""
    try:
        stage(batch)
        return set()
    except Exception as error:
        if len(batch) == 1:
            return {_record_page_failure(stage, batch[0], document, error)}
    failed: set[int] = set()
    for ctx in batch:
        try:
            stage([ctx])
        except Exception as error:
            failed.add(_record_page_failure(stage, ctx, document, error))
    return failed


def _record_page_failure(
    stage: AnyStage, ctx: PageContext, document: Document, error: Exception
) -> int:
    logger.warning(
        "stage %s failed on %s page %d: %s", stage.name, ctx.document_id, ctx.page.index, error
    )
    document.errors.append(
        ErrorRecord(stage=stage.name, page=ctx.page.index, message=_message(error))
    )
    return ctx.page.index


def _message(error: BaseException) -> str:
    if isinstance(error, StageError):
        return error.message
    text = str(error) or error.__class__.__name__
    return f"{error.__class__.__name__}: {text}"[:2000]


def _status(document: Document) -> Status:
    if not document.errors:
        return "ok"
    failed_pages = {e.page for e in document.errors if e.page is not None}
    if not document.pages or any(e.stage == "ingest" for e in document.errors):
        return "failed"
    if len(failed_pages) >= len(document.pages):
        return "failed"
    return "partial"


def _timed_render(render: Callable[[], Image], timings: dict[str, float]) -> Callable[[], Image]:
    """Pages render lazily inside the first stage that needs pixels; count that as `render`."""

    def timed() -> Image:
        start = time.perf_counter()
        try:
            return render()
        finally:
            timings["render"] += time.perf_counter() - start

    return timed


class _timed:
    """Adds the elapsed wall time of a block to timings[name]."""

    def __init__(self, timings: dict[str, float], name: str) -> None:
        self.timings, self.name = timings, name

    def __enter__(self) -> None:
        self.start = time.perf_counter()
        self.render_before = self.timings["render"]

    def __exit__(self, *exc: object) -> None:
        # Rendering triggered inside a stage is reported as `render`, not as that stage.
        rendered = self.timings["render"] - self.render_before
        self.timings[self.name] += time.perf_counter() - self.start - rendered
