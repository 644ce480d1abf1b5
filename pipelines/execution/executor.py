"""The local executor: worker processes on one machine, each with its own pipeline.

Each worker builds the stages once, then takes a task of one or a few files (their pages share
stage batches, `documents_per_batch` in the profile), processes them and writes each result
bundle into the workspace's staging area itself, so a finished document survives even a kill -9
of the batch. The parent only schedules: it enforces the per-document timeout (the worker is
killed and replaced, the document recorded as failed) and turns a crashed worker (e.g. out of
memory) into a failed document instead of a failed batch. When a task of several documents
times out or crashes, its unfinished documents are retried one per task, so only the culprit
fails.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing as mp
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

from extractors.document import Document, ErrorRecord, PipelineInfo, document_id_for
from models.model_server import ModelServer, ModelServerError, ServerStats
from models.runtime import Device, Runtime, torch_cuda_devices
from pipelines.execution.config import PipelineConfig
from pipelines.store.staging import stage_bundle
from pipelines.store.workspace import Workspace

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    path: Path
    sha256: str
    stored_path: str
    alone: bool = False  # retried after its shared task failed: never shares a task again


@dataclass
class JobResult:
    job: Job
    result_id: str
    status: str
    n_pages: int
    errors: list[str]
    timings_ms: dict[str, float] = field(default_factory=dict)
    elapsed_ms: float = 0.0


def _summary(job: Job, result_id: str, document: Document) -> JobResult:
    pipeline = document.pipeline
    return JobResult(
        job=job,
        result_id=result_id,
        status=document.status,
        n_pages=len(document.pages),
        errors=[
            f"{e.stage}{'' if e.page is None else f' p{e.page}'}: {e.message}"
            for e in document.errors
        ],
        timings_ms=dict(pipeline.timings_ms) if pipeline else {},
        elapsed_ms=pipeline.elapsed_ms if pipeline else 0.0,
    )


def failed_document(job: Job, config: PipelineConfig, config_hash: str, reason: str) -> Document:
    """The record of a document the worker could not finish (timeout, crash)."""
    return Document(
        document_id=document_id_for(job.sha256),
        source_name=job.path.name,
        source_path=str(job.path),
        sha256=job.sha256,
        size_bytes=job.path.stat().st_size if job.path.exists() else 0,
        status="failed",
        errors=[ErrorRecord(stage="executor", message=reason)],
        pipeline=PipelineInfo(profile=config.name, config_hash=config_hash),
    )


def _worker_main(
    conn: Connection,
    config: PipelineConfig,
    password: str | None,
    root: str,
    run_id: str,
    runtime: Runtime,
) -> None:
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")  # OpenMP inside libraries (not our models)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides how a batch stops
    from pipelines.execution.pipeline import Pipeline

    workspace = Workspace(Path(root))
    pipeline = Pipeline(config, password=password, runtime=runtime)
    conn.send(("ready", None))
    while True:
        try:
            task: list[Job] | None = conn.recv()
        except EOFError:  # the parent is gone: stop after the last finished document
            return
        if task is None:
            return
        documents = pipeline.process_many(
            [(job.path, job.sha256) for job in task],
            on_progress=lambda position, pages: conn.send(("progress", (position, pages))),
        )
        for job, document in zip(task, documents, strict=True):
            result_id = stage_bundle(workspace, document, run_id, job.stored_path)
            conn.send(("done", _summary(job, result_id, document)))


_MAIN_LOCK = threading.Lock()


@contextlib.contextmanager
def _main_script_hidden() -> Iterator[None]:
    """A spawned child re-imports the parent's main script (as `__mp_main__`) before it runs
    its target. Under Streamlit that script is the review app (streamlit, pandas, plotly: ~2 s
    and ~300 MB per worker, measured), under `folio` the whole CLI; the worker needs neither,
    its code lives in this module. So a worker starts with an empty main module."""
    with _MAIN_LOCK:
        main = sys.modules["__main__"]
        sys.modules["__main__"] = types.ModuleType("__main__")
        try:
            yield
        finally:
            sys.modules["__main__"] = main


class TaskClock:
    """A worker's current task and its clocks, for the time limits (local and Ray workers)."""

    def __init__(self) -> None:
        self.jobs: list[Job] = []  # the task's documents not finished yet
        self.started = self.progressed = 0.0

    def begin(self, task: list[Job]) -> None:
        self.jobs, self.started = list(task), time.monotonic()
        self.progressed = self.started

    def finished(self, job: Job) -> None:
        self.jobs = [j for j in self.jobs if j != job]
        self.started = time.monotonic()  # the next document's time limit starts now

    def overdue(self, timeout_s: float, stall_timeout_s: float) -> str | None:
        """Why the current task must be stopped, if it must."""
        now = time.monotonic()
        if not self.jobs:
            return None
        if now - self.started > timeout_s:
            return f"timed out after {timeout_s:g} s (timeout_s in the profile)"
        if now - self.progressed > stall_timeout_s:
            return (
                f"stopped: no page finished for {stall_timeout_s:g} s "
                "(stall_timeout_s in the profile)"
            )
        return None


def next_task(pending: list[Job], workers: int, documents_per_batch: int) -> list[Job]:
    """The next documents for one worker: up to `documents_per_batch`, but never so many that
    another worker would sit idle, and a retried document alone."""
    share = -(-len(pending) // workers)  # ceil: every worker gets its part
    size = max(1, min(documents_per_batch, share))
    task: list[Job] = []
    while pending and len(task) < size:
        if pending[-1].alone and task:
            break
        task.append(pending.pop())
        if task[-1].alone:
            break
    return task


def stop_task(
    unfinished: list[Job], reason: str, pending: list[Job], fail: Callable[[Job, str], JobResult]
) -> Iterator[JobResult]:
    """A task stopped (timeout, crash): one document alone fails with the reason; several go
    back in the queue one per task, so only the one to blame fails."""
    if len(unfinished) == 1:
        yield fail(unfinished[0], reason)
    elif unfinished:
        logger.warning("a shared task stopped (%s); retrying its %d documents one by one",
                       reason, len(unfinished))  # fmt: skip
        pending.extend(replace(job, alone=True) for job in reversed(unfinished))


def fail_job(
    workspace: Workspace, config: PipelineConfig, run_id: str, job: Job, reason: str
) -> JobResult:
    """Record a document the executor could not finish, as a failed result bundle."""
    document = failed_document(job, config, config.config_hash(), reason)
    result_id = stage_bundle(workspace, document, run_id, job.stored_path)
    return _summary(job, result_id, document)


class _Worker(TaskClock):
    def __init__(self, ctx: Any, args: tuple[Any, ...]) -> None:
        super().__init__()
        self.conn, child = ctx.Pipe()
        self.process: BaseProcess = ctx.Process(
            target=_worker_main, args=(child, *args), daemon=True
        )
        with _main_script_hidden():
            self.process.start()
        child.close()
        self.ready = False

    def assign(self, task: list[Job]) -> None:
        self.begin(task)
        self.conn.send(task)

    def kill(self) -> None:
        self.process.kill()
        self.process.join(5)
        self.conn.close()


MAX_FAILED_STARTS = 3


class WorkerStartError(RuntimeError):
    """Workers die before they can take work (broken install, unimportable code)."""


class LocalExecutor:
    """Runs jobs on `workers` processes; yields a JobResult per job as they finish."""

    def __init__(
        self,
        config: PipelineConfig,
        workspace: Workspace,
        run_id: str,
        workers: int,
        password: str | None = None,
        device: Device = "auto",
        model_server: bool | None = None,
    ) -> None:
        self.config, self.workspace, self.run_id = config, workspace, run_id
        self.workers = max(1, workers)
        self.config_hash = config.config_hash()
        # Each worker gets its share of the cores: N workers never oversubscribe the machine.
        runtime = Runtime(device=device, threads=max(1, (os.cpu_count() or 1) // self.workers))
        placement = runtime.placement()  # a missing GPU fails here, before any worker starts
        # On a GPU the models live in one server process per device, fed by every worker
        # (models/model_server.py); on the CPU each worker runs its own sessions.
        self.use_model_server = placement.device != "cpu" if model_server is None else model_server
        self._placement, self._runtime = placement, runtime
        self._args = (config, password, str(workspace.root), run_id, runtime)
        self.servers: list[ModelServer] = []
        self.server_stats: list[ServerStats] = []  # per server, after run()
        # spawn: model runtimes and their thread pools must not be inherited through fork.
        self._ctx = mp.get_context("spawn")

    def _start_servers(self) -> None:
        """One model server per device in use; worker slots are spread over them."""
        if not self.use_model_server:
            return
        if self._placement.device == "cpu":
            devices = ["cpu"]
        elif self._runtime.device.startswith("cuda:"):
            devices = [self._placement.device]
        else:
            devices = [f"cuda:{i}" for i in range(max(1, torch_cuda_devices()))]
        folder = Path(tempfile.mkdtemp(prefix="folio-models-"))
        self._server_folder = folder
        for index, device in enumerate(devices):
            server_runtime = replace(self._runtime, device=device, threads=os.cpu_count() or 1)
            self.servers.append(ModelServer(server_runtime, str(folder / f"{index}.sock")).start())

    def _worker_args(self, slot: int) -> tuple[Any, ...]:
        if not self.servers:
            return self._args
        address = self.servers[slot % len(self.servers)].address
        return (*self._args[:-1], replace(self._runtime, server=address))

    def _stop_servers(self) -> None:
        for server in self.servers:
            with contextlib.suppress(ModelServerError, OSError):
                self.server_stats.append(server.stats())
            server.stop()
        self.servers = []
        if getattr(self, "_server_folder", None) is not None:
            shutil.rmtree(self._server_folder, ignore_errors=True)

    def run(
        self, jobs: list[Job], on_idle: Callable[[], None] | None = None
    ) -> Iterator[JobResult]:
        pending = list(reversed(jobs))
        failed_starts = 0
        self._start_servers()
        pool = [
            _Worker(self._ctx, self._worker_args(slot))
            for slot in range(min(self.workers, len(jobs)))
        ]
        try:
            while pending or any(w.jobs for w in pool):
                for worker in pool:
                    if worker.ready and not worker.jobs and pending:
                        worker.assign(self._next_task(pending))
                ready = wait(
                    [w.conn for w in pool] + [w.process.sentinel for w in pool], timeout=0.5
                )
                for index, worker in enumerate(pool):
                    yield from self._poll(worker, ready)
                    if not worker.process.is_alive() and (pending or worker.jobs):
                        if not worker.ready:
                            failed_starts += 1
                            if failed_starts > MAX_FAILED_STARTS:
                                raise WorkerStartError(
                                    "worker processes exit before they are ready "
                                    f"({_crash_reason(worker.process.exitcode)}); "
                                    "run with -v to see why"
                                )
                        unfinished = worker.jobs  # died without answering
                        crash = _crash_reason(worker.process.exitcode)
                        worker.kill()
                        pool[index] = _Worker(self._ctx, self._worker_args(index))
                        if unfinished:
                            yield from self._stopped(unfinished, crash, pending)
                    elif reason := worker.overdue(
                        self.config.timeout_s, self.config.stall_timeout_s
                    ):
                        unfinished = worker.jobs
                        worker.kill()
                        pool[index] = _Worker(self._ctx, self._worker_args(index))
                        yield from self._stopped(unfinished, reason, pending)
                if on_idle is not None:
                    on_idle()
        finally:
            for worker in pool:
                with contextlib.suppress(OSError, BrokenPipeError):
                    worker.conn.send(None)
            for worker in pool:
                worker.process.join(2)
                if worker.process.is_alive():
                    worker.kill()
            self._stop_servers()

    def _poll(self, worker: _Worker, ready: list[Any]) -> list[JobResult]:
        """Every message the worker has sent so far (a worker that died after finishing a
        document must still be credited with it, so the pipe is drained, not read once)."""
        results: list[JobResult] = []
        if worker.conn not in ready:
            return results
        try:
            while worker.conn.poll():
                kind, payload = worker.conn.recv()
                if kind == "ready":
                    worker.ready = True
                elif kind == "progress":
                    worker.progressed = time.monotonic()
                else:
                    worker.finished(payload.job)
                    results.append(payload)
        except (EOFError, OSError):
            pass
        return results

    def _next_task(self, pending: list[Job]) -> list[Job]:
        return next_task(pending, self.workers, self.config.documents_per_batch)

    def _stopped(
        self, unfinished: list[Job], reason: str, pending: list[Job]
    ) -> Iterator[JobResult]:
        return stop_task(unfinished, reason, pending, self._fail)

    def _fail(self, job: Job, reason: str) -> JobResult:
        return fail_job(self.workspace, self.config, self.run_id, job, reason)


def _crash_reason(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        name = signal.Signals(-exitcode).name
        hint = " (likely out of memory)" if name == "SIGKILL" else ""
        return f"worker process was killed by {name}{hint}"
    return f"worker process exited unexpectedly (exit code {exitcode})"
