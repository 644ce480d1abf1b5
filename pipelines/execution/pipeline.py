"""The pipeline: input files in, one `Document` each out, never an exception.

Pages are rendered lazily and flow through the page stages in batches; the pages of several
documents may share a batch (`process_many`), so a stream of one-page receipts still gives a GPU
stage full batches. Document stages run once a document's last page is done. A stage failing
on a batch is retried page by page so one bad page makes its document `partial` instead of
failing it, and never touches the other documents of the batch; ingest errors make a document
`failed` with the reason. Timings per stage and the stage versions are recorded in
`Document.pipeline` (a batch's time is shared among its pages).
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
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
from extractors.ingest import IngestError, OpenedDocument, SourcePage, open_document
from extractors.office.native import NativePage
from extractors.stage import (
    IMAGE,
    LINES,
    RULINGS,
    AnyStage,
    DocumentStage,
    Image,
    PageContext,
    PageStage,
    StageError,
)
from models.assets import file_sha256
from models.runtime import DEFAULT_RUNTIME, Runtime
from pipelines.execution.config import PipelineConfig

logger = logging.getLogger(__name__)

PAGE_CHUNK = 8  # pages rendered and held at once; bounds memory on long documents
# on_progress(position of the document in the call, pages of it done so far)
ProgressHook = Callable[[int, int], None]


@dataclass
class _InFlight:
    """A document between its first and last page."""

    position: int
    document: Document
    opened: OpenedDocument | None
    started: float
    timings: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    next_page: int = 0  # pages before it have been through the page stages

    @property
    def page_count(self) -> int:
        return self.opened.page_count if self.opened is not None else 0


@dataclass
class _Slot:
    """A page context in a chunk, with the document it belongs to."""

    ctx: PageContext
    flight: _InFlight


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
        self.page_stages = [s for s in self.stages if isinstance(s, PageStage)]
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
        hook = (lambda _, pages: on_progress(pages)) if on_progress is not None else None
        return next(self.process_many([(path, sha256)], hook))

    def process_many(
        self,
        items: Sequence[tuple[Path, str | None]],
        on_progress: ProgressHook | None = None,
        document_stages: bool = True,
    ) -> Iterator[Document]:
        """Process several files, their pages sharing stage batches; yields each document as
        soon as its last page (and its document stages) is done, in input order.

        With `document_stages=False` documents leave after the page stages (the model half of
        the work), for `finish_document` to complete elsewhere (the service's CPU pool)."""
        flights = (self._start(position, path, sha) for position, (path, sha) in enumerate(items))
        waiting: list[_InFlight] = []  # started, pages left to put in a chunk
        for flight in flights:
            waiting.append(flight)
            last = flight.position == len(items) - 1
            while waiting and (last or self._pages_left(waiting) >= PAGE_CHUNK):
                yield from self._run_chunk(waiting, on_progress, document_stages)

    def finish_document(self, document: Document) -> Document:
        """The document stages over a document that left `process_many` after its pages;
        timings add to those of the page stages."""
        assert document.pipeline is not None
        started = time.perf_counter()
        timings: dict[str, float] = defaultdict(float)
        timings.update({k: v / 1000 for k, v in document.pipeline.timings_ms.items()})
        if not any(error.stage == "ingest" for error in document.errors):  # opened
            self._run_document_stages(document, timings)
        document.status = _status(document)
        document.pipeline.timings_ms = {k: round(v * 1000, 1) for k, v in timings.items()}
        document.pipeline.elapsed_ms = round(
            document.pipeline.elapsed_ms + (time.perf_counter() - started) * 1000, 1
        )
        return document

    def _start(self, position: int, path: Path, sha256: str | None) -> _InFlight:
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
        flight = _InFlight(position, document, None, started)
        try:
            with _timed(flight.timings, "ingest"):
                flight.opened = open_document(path, self.ingest_options)
            document.media_type = flight.opened.media_type
        except IngestError as error:
            document.errors.append(ErrorRecord(stage="ingest", message=str(error)))
        return flight

    @staticmethod
    def _pages_left(waiting: Sequence[_InFlight]) -> int:
        return sum(f.page_count - f.next_page for f in waiting)

    def _run_chunk(
        self,
        waiting: list[_InFlight],
        on_progress: ProgressHook | None,
        document_stages: bool = True,
    ) -> Iterator[Document]:
        """Up to PAGE_CHUNK pages from the waiting documents through the page stages; then the
        documents whose last page this was are finished and yielded."""
        slots: list[_Slot] = []
        natives: list[tuple[Page, NativePage, list[_Slot], _InFlight]] = []
        taken: list[_InFlight] = []
        room = PAGE_CHUNK
        for flight in waiting:
            if room <= 0:
                break
            take = min(room, flight.page_count - flight.next_page)
            if take <= 0:
                continue
            assert flight.opened is not None
            start = flight.next_page
            taken.append(flight)
            try:
                with _timed(flight.timings, "ingest"):  # text layers are read when touched
                    sources = list(flight.opened.pages[start : start + take])
            except MemoryError:
                raise
            except Exception as error:  # a damaged page tree: this document stops, alone
                _ingest_error(flight, start, error)
                flight.next_page = flight.page_count
                continue
            flight.next_page += take
            room -= take
            for source in sources:
                try:
                    slots += self._page_slots(flight, source, natives)
                except MemoryError:
                    raise
                except Exception as error:  # one unreadable page fails alone
                    _ingest_error(flight, source.index, error)
        self._run_page_stages(slots)
        for page, native, pictures, _ in natives:
            # Every picture keeps its place (apply pairs them with the page's images in order);
            # one whose stages failed is empty, and its error is on the document.
            native.apply(page, [s.ctx.page for s in pictures])
        for slot in slots:
            slot.ctx.release()
        if on_progress is not None:  # every document with pages in the chunk, pictures or not
            for flight in taken:
                on_progress(flight.position, flight.next_page)
        while waiting and waiting[0].next_page >= waiting[0].page_count:
            yield self._finish(waiting.pop(0), document_stages)

    def _page_slots(
        self,
        flight: _InFlight,
        source: SourcePage,
        natives: list[tuple[Page, NativePage, list[_Slot], _InFlight]],
    ) -> list[_Slot]:
        """The contexts one source page puts through the page stages (its pictures, for an
        Office page)."""
        document, timings = flight.document, flight.timings
        page = Page(
            id=f"p{source.index}",
            index=source.index,
            width=round(source.width, 2),
            height=round(source.height, 2),
            unit=source.unit,
        )
        document.pages.append(page)
        if source.native is not None:
            # Office page: its structure is native; only its pictures go through the page
            # stages, each as a scanned image of its own.
            pictures = [
                _Slot(
                    PageContext(document.document_id, p, _timed_render(r, flight.timings)), flight
                )
                for p, r in source.native.image_pages(source.index)
            ]
            natives.append((page, source.native, pictures, flight))
            return pictures
        ctx = PageContext(
            document_id=document.document_id,
            page=page,
            render=_timed_render(source.render, timings),
            text_layer_usable=source.text_layer_usable,
        )
        if source.text_layer_usable and source.text_lines is not None:
            ctx.scratch[LINES] = list(source.text_lines)
            ctx.scratch[RULINGS] = list(source.rulings)
            page.text_source = "pdf"
        return [_Slot(ctx, flight)]

    def _run_page_stages(self, slots: list[_Slot]) -> None:
        """Every page stage over the chunk in batches; a failed page leaves the later stages."""
        failed: set[int] = set()
        for stage in self.page_stages:
            alive = [s for s in slots if id(s.ctx) not in failed]
            size = stage.pages_per_batch
            for batch_start in range(0, len(alive), size):
                batch = alive[batch_start : batch_start + size]
                if IMAGE in stage.requires:
                    # Pixels are made before a model stage, never inside it (its timing, and on
                    # a GPU its batch, are the model's alone).
                    failed |= _render_pages(stage, batch)
                    batch = [s for s in batch if id(s.ctx) not in failed]
                with _shared_timing(batch, stage.name):
                    failed |= _run_page_batch(stage, batch)

    def _finish(self, flight: _InFlight, document_stages: bool = True) -> Document:
        document = flight.document
        if flight.opened is not None:
            flight.opened.close()
            if document_stages:
                self._run_document_stages(document, flight.timings)
        document.status = _status(document)
        assert document.pipeline is not None
        document.pipeline.timings_ms = {k: round(v * 1000, 1) for k, v in flight.timings.items()}
        document.pipeline.elapsed_ms = round((time.perf_counter() - flight.started) * 1000, 1)
        return document

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


def _render_pages(stage: PageStage, batch: Sequence[_Slot]) -> set[int]:
    """Render the pages `stage` will read; a page that cannot be rendered fails alone."""
    failed: set[int] = set()
    for slot in batch:
        if not stage.applies_to(slot.ctx):
            continue
        try:
            slot.ctx.image  # noqa: B018  (renders and keeps the pixels)
        except Exception as error:
            _record_page_failure("render", slot, error)
            failed.add(id(slot.ctx))
    return failed


def _run_page_batch(stage: PageStage, batch: Sequence[_Slot]) -> set[int]:
    """Run a stage on a batch; on failure, retry page by page to isolate the bad page(s)."""
    if not batch:
        return set()
    try:
        stage([slot.ctx for slot in batch])
        return set()
    except Exception as error:
        if len(batch) == 1:
            _record_page_failure(stage.name, batch[0], error)
            return {id(batch[0].ctx)}
    failed: set[int] = set()
    for slot in batch:
        try:
            stage([slot.ctx])
        except Exception as error:
            _record_page_failure(stage.name, slot, error)
            failed.add(id(slot.ctx))
    return failed


def _record_page_failure(stage: str, slot: _Slot, error: Exception) -> None:
    ctx = slot.ctx
    logger.warning(
        "stage %s failed on %s page %d: %s", stage, ctx.document_id, ctx.page.index, error
    )
    slot.flight.document.errors.append(
        ErrorRecord(stage=stage, page=ctx.page.index, message=_message(error))
    )


def _ingest_error(flight: _InFlight, page: int, error: Exception) -> None:
    flight.document.errors.append(ErrorRecord(stage="ingest", page=page, message=_message(error)))


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
    """Pages render lazily in the first stage that needs pixels; count that as `render`."""

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


class _shared_timing:
    """A batch's wall time, less rendering inside it, shared equally among its pages."""

    def __init__(self, batch: Sequence[_Slot], name: str) -> None:
        self.flights = [slot.flight for slot in batch]
        self.name = name

    def _rendered(self) -> float:
        return sum(f.timings["render"] for f in {id(f): f for f in self.flights}.values())

    def __enter__(self) -> None:
        self.start = time.perf_counter()
        self.render_before = self._rendered()

    def __exit__(self, *exc: object) -> None:
        if not self.flights:
            return
        spent = time.perf_counter() - self.start - (self._rendered() - self.render_before)
        for flight in self.flights:
            flight.timings[self.name] += spent / len(self.flights)


class UnreadableDocument(ValueError):
    """The file cannot be opened as a document (corrupt, encrypted, unsupported); the message
    says why."""


def count_pages(path: Path, config: PipelineConfig, password: str | None = None) -> int:
    """Pages of a file as the pipeline would see them, without processing it (cheap: opening a
    PDF reads its page tree, an image its frame count)."""
    try:
        opened = open_document(path, config.ingest.model_copy(update={"password": password}))
    except IngestError as error:
        raise UnreadableDocument(str(error)) from error
    try:
        return opened.page_count
    finally:
        opened.close()
