"""Hostile files are opened in a child process with a hard memory limit (RLIMIT_AS) and a time
limit, so a bomb, a parser crash (segfault) or a hang fails one test instead of taking pytest,
or the machine, down; the child also reports its peak resident memory for each file.

The child answers `Outcome`s; the tests judge them against the contract: a file opens and its
pages render (pixel-capped), or `IngestError` says why, and the pipeline always returns a
document (`failed` with a reason, `partial` with a failed page, or `ok`).
"""

from __future__ import annotations

import contextlib
import functools
import multiprocessing as mp
import os
import resource
import time
import traceback
from collections.abc import Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any, ClassVar, Literal

from extractors.stage import IMAGE, PageContext, PageStage, register

# Address space, not RSS: an interpreter with ingest loaded holds ~250 MB, and the decode cap
# is 1 GiB. The pipeline child also maps the model runtimes.
INGEST_MEMORY_MIB = 1536
PIPELINE_MEMORY_MIB = 2048
# After a file that took this much (peak RSS, or address space kept beyond a fresh child's),
# the child is replaced: freed heap stays mapped (malloc raises its mmap threshold after big
# frees), so under RLIMIT_AS a legitimate 1 GB decode failed only because earlier files had
# left the address space full.
RECYCLE_MIB = 300
DEFAULT_TIMEOUT_S = 30.0
# "abort" and "hang" misbehave on purpose: the harness's own test that it notices both.
Mode = Literal["ingest", "pipeline", "abort", "hang"]


@dataclass
class PageOutcome:
    width: float
    height: float
    unit: str
    shape: tuple[int, ...] | None = None  # of the render; None when it raised
    dtype: str = ""
    error_type: str = ""  # class of what render() raised
    error: str = ""
    trace: str = ""


@dataclass
class Outcome:
    """What happened to one file; `error_type` is the class of what escaped, if anything."""

    kind: Literal["opened", "raised", "processed", "crashed", "hung"]
    error_type: str = ""
    error: str = ""
    trace: str = ""
    media_type: str = ""
    page_count: int = 0
    pages: list[PageOutcome] = field(default_factory=list)
    status: str = ""  # pipeline mode: the document's status
    errors: list[tuple[str, int | None, str]] = field(default_factory=list)  # (stage, page, msg)
    peak_rss_mib: float = 0.0
    address_space_mib: float = 0.0  # after the file, i.e. what the next file starts with
    seconds: float = 0.0


@register
class PixelStage(PageStage[Any]):
    """Needs every page's pixels (as OCR does) and checks what it gets; no model."""

    kind: ClassVar[str] = "fuzz.pixels"
    version: ClassVar[str] = "1"
    requires: ClassVar[tuple[str, ...]] = (IMAGE,)
    batch_size: ClassVar[int] = 4

    def predict(self, batch: Sequence[PageContext]) -> list[Any]:
        for ctx in batch:
            image = ctx.image
            assert image.ndim == 3 and image.shape[2] == 3 and image.dtype.name == "uint8"
        return [None] * len(batch)

    def annotate(self, batch: Sequence[PageContext], predictions: Sequence[Any]) -> None:
        pass  # the pixels were the point


def _status_mib(field: str) -> float:
    """A memory figure of this process from /proc (VmHWM: peak RSS, VmSize: address space)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def _reset_peak_rss() -> None:
    """Linux resets VmHWM to the current RSS on "5" (so each file gets its own peak)."""
    Path("/proc/self/clear_refs").write_text("5")


def _ingest(path: Path, max_pages: int) -> Outcome:
    from extractors.ingest import IngestOptions, open_document

    with open_document(path, IngestOptions()) as opened:
        outcome = Outcome("opened", media_type=opened.media_type, page_count=opened.page_count)
        for index in range(min(max_pages, opened.page_count)):
            source = opened.pages[index]
            page = PageOutcome(source.width, source.height, source.unit)
            outcome.pages.append(page)
            try:
                image = source.render()
                page.shape, page.dtype = tuple(image.shape), image.dtype.name
            except Exception as error:  # judged by the test: only IngestError is allowed
                page.error_type, page.error = _qualified(error), str(error)
                page.trace = traceback.format_exc()
        return outcome


@functools.cache
def _fuzz_pipeline() -> Any:
    """Only in the pipeline child: the stage registry imports the model runtimes (~450 MB of
    address space), which a child that only opens files should not carry under its limit."""
    from pipelines.execution.config import PipelineConfig, StageSpec
    from pipelines.execution.pipeline import Pipeline

    return Pipeline(PipelineConfig(name="fuzz", stages=[StageSpec(kind=PixelStage.kind)]))


def _pipeline(path: Path) -> Outcome:
    document = _fuzz_pipeline().process(path)
    return Outcome(
        "processed",
        media_type=document.media_type or "",
        page_count=len(document.pages),
        pages=[PageOutcome(p.width, p.height, p.unit) for p in document.pages],
        status=document.status,
        errors=[(e.stage, e.page, e.message) for e in document.errors],
    )


def _qualified(error: BaseException) -> str:
    kind = type(error)
    return f"{kind.__module__}.{kind.__qualname__}"


def _serve(conn: Connection, memory_mib: int, cwd: str, pipeline: bool) -> None:
    limit = memory_mib * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # a crashing parser leaves no core file
    os.chdir(cwd)  # a parser writing relative paths would write here (the tests check it)
    if pipeline:
        _fuzz_pipeline()  # before "ready": its runtimes are part of the baseline
    conn.send(("ready", _status_mib("VmSize")))
    while (request := conn.recv()) is not None:
        mode, name, max_pages = request
        path = Path(name)
        _reset_peak_rss()
        started = time.perf_counter()
        try:
            if mode == "abort":
                os.abort()  # as a segfaulting parser would end
            elif mode == "hang":
                time.sleep(3600)
            outcome = _ingest(path, max_pages) if mode == "ingest" else _pipeline(path)
        except BaseException as error:
            outcome = Outcome("raised", _qualified(error), str(error), traceback.format_exc())
        outcome.seconds = time.perf_counter() - started
        outcome.peak_rss_mib = _status_mib("VmHWM")
        outcome.address_space_mib = _status_mib("VmSize")
        conn.send(outcome)


class Sandbox:
    """A child process that opens files under a memory limit; replaced after a crash or hang."""

    def __init__(
        self, cwd: Path, memory_mib: int = INGEST_MEMORY_MIB, pipeline: bool = False
    ) -> None:
        self.cwd, self.memory_mib, self.pipeline = cwd, memory_mib, pipeline
        self._ctx = mp.get_context("spawn")  # no inherited threads or model runtimes
        self._process: BaseProcess | None = None
        self._conn: Connection | None = None
        self._baseline_mib = 0.0  # address space of the fresh child
        self.starts = 0  # children started (the first, and one after each recycle or crash)

    def _start(self) -> Connection:
        parent, child = self._ctx.Pipe()
        self._process = self._ctx.Process(
            target=_serve,
            args=(child, self.memory_mib, str(self.cwd), self.pipeline),
            daemon=True,
        )
        self._process.start()
        self.starts += 1
        child.close()
        try:
            message = parent.recv() if parent.poll(120) else None
        except EOFError:
            message = None
        if not (isinstance(message, tuple) and message[0] == "ready"):
            raise RuntimeError(f"the sandbox process did not start ({self._process.exitcode})")
        self._baseline_mib = message[1]
        self._conn = parent
        return parent

    def run(
        self,
        path: Path,
        mode: Mode = "ingest",
        max_pages: int = 3,
        timeout_s: float = DEFAULT_TIMEOUT_S,
    ) -> Outcome:
        conn = self._conn or self._start()
        conn.send((mode, str(path), max_pages))
        try:
            if conn.poll(timeout_s):
                answer: Outcome = conn.recv()
                grown = answer.address_space_mib - self._baseline_mib
                if max(answer.peak_rss_mib, grown) > RECYCLE_MIB:
                    self.close()  # the next file gets a fresh child (see RECYCLE_MIB)
                return answer
            kind: Literal["crashed", "hung"] = "hung"
        except (EOFError, OSError):
            kind = "crashed"
        assert self._process is not None
        if kind == "hung":
            self._process.kill()
        self._process.join(5)
        code = self._process.exitcode
        self.close()
        if kind == "hung":
            return Outcome("hung", error=f"no answer within {timeout_s:g} s")
        return Outcome("crashed", error=f"the child died (exit code {code})")

    def close(self) -> None:
        if self._process is not None:
            if self._conn is not None:
                with contextlib.suppress(OSError):  # BrokenPipeError included
                    self._conn.send(None)
            self._process.join(2)
            if self._process.is_alive():
                self._process.kill()
                self._process.join(5)
        if self._conn is not None:
            self._conn.close()
        self._process = self._conn = None
