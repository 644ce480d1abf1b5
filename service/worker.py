"""`folio worker`: an RQ worker over the `models` and/or `cpu` queues.

Pipelines are built and warmed on bundled samples before the first job. Steps then run in the
worker process (the default, `InProcessWorker`) or each in a forked work horse (`--fork`,
`ForkingWorker`: isolated, slower). The worker recycles itself after `max_jobs` steps or when
its RSS passes `max_rss_mb` (the orchestrator starts a fresh one); it touches a heartbeat file
for liveness probes and reports its RSS for /metrics.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path
from typing import Any

from redis import Redis
from rq import Queue, SimpleWorker, Worker
from rq.worker import BaseWorker, WorkerStatus

from models.runtime import DEFAULT_RUNTIME, Runtime
from pipelines.samples import SAMPLES_DIR
from service import stats
from service.control import JOB_MONITORING_INTERVAL_S
from service.tasks import QUEUES, pipeline_for, use_runtime

logger = logging.getLogger("folio.worker")
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
WORKER_TTL_S = 25
WARM_SAMPLES = ("receipt.jpg", "invoice.pdf")  # a scan (OCR, layout) and a born-digital PDF


def rss_bytes(pid: int | str = "self") -> int:
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE_SIZE
    except (OSError, IndexError, ValueError):
        return 0


def warm(profile: str) -> None:
    """Build the profile's pipeline and run it once, so lazy model sessions and spaCy exist
    before the worker forks its first horse."""
    pipeline = pipeline_for(profile)
    started = time.perf_counter()
    for name in WARM_SAMPLES:
        sample = SAMPLES_DIR / name
        if sample.is_file():
            pipeline.process(sample)
    logger.info("warmed %s in %.1f s", profile, time.perf_counter() - started)


class _FolioWorking(BaseWorker):
    """What both kinds of Folio worker add to RQ's: warm limits, heartbeat file, RSS."""

    def __init__(
        self,
        queues: list[Queue],
        *args: Any,
        max_rss_mb: int = 0,
        heartbeat_file: Path | None = None,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("job_monitoring_interval", JOB_MONITORING_INTERVAL_S)
        # An idle worker wakes from its blocking dequeue every worker_ttl - 15 s to heartbeat;
        # liveness probes expect a heartbeat file younger than a minute.
        kwargs.setdefault("worker_ttl", WORKER_TTL_S)
        super().__init__(queues, *args, **kwargs)
        self.max_rss_mb = max_rss_mb
        self.heartbeat_file = heartbeat_file

    def heartbeat(self, *args: Any, **kwargs: Any) -> Any:
        outcome = super().heartbeat(*args, **kwargs)
        self._report()
        return outcome

    def _report(self) -> None:
        if self.heartbeat_file is not None:
            self.heartbeat_file.touch()
        horse = getattr(self, "_horse_pid", 0)
        total = rss_bytes() + (rss_bytes(horse) if horse else 0)
        try:
            stats.report_worker(self.connection, self.name, total)
        except Exception:  # metrics must never stop the work
            logger.debug("could not report worker stats", exc_info=True)

    def execute_job(self, job: Any, queue: Queue) -> Any:
        outcome = super().execute_job(job, queue)
        self._after_step()
        return outcome

    def _after_step(self) -> None:
        self._report()
        own_mb = rss_bytes() / 2**20
        if self.max_rss_mb and own_mb > self.max_rss_mb:
            logger.warning(
                "worker RSS %.0f MB passed the limit of %d MB: stopping to be replaced",
                own_mb,
                self.max_rss_mb,
            )
            self._stop_requested = True

    def teardown(self) -> None:
        super().teardown()
        stats.forget_worker(self.connection, self.name)


class ForkingWorker(_FolioWorking, Worker):
    """Each step in a forked work horse: isolation (a cancel kills the horse at once, a step's
    memory goes with it) for a price: a forked child runs onnxruntime on one thread and
    re-touches the model's pages (measured: a receipt 1.8 s in the horse, 0.9 s in-process with
    2 threads, 1.4 s with 1)."""


class InProcessWorker(_FolioWorking, SimpleWorker):
    """Steps in the worker process itself (the default: warm sessions, full thread pools). A
    thread heartbeats the running step, so a killed worker's step is handed back within
    seconds; cancel is checked between pages; the step time limit is RQ's SIGALRM."""

    def get_heartbeat_ttl(self, job: Any, working_time: float = 0.0) -> int:
        return Worker.get_heartbeat_ttl(self, job, working_time)

    def execute_job(self, job: Any, queue: Queue) -> Any:
        execution = self.prepare_execution(job)
        stop = threading.Event()
        beat = threading.Thread(
            target=self._beat,
            args=(job, execution, stop),
            name="folio-step-heartbeat",
            daemon=True,
        )
        beat.start()
        try:
            self.perform_job(job, queue, execution)
        finally:
            stop.set()
            beat.join()
        self.set_state(WorkerStatus.IDLE)
        self._after_step()

    def _beat(self, job: Any, execution: Any, stop: threading.Event) -> None:
        while not stop.wait(self.job_monitoring_interval):
            try:
                self.maintain_heartbeats(job, execution)
            except Exception:  # a missed beat is retried; the step goes on
                logger.warning("step heartbeat failed", exc_info=True)


def run_worker(
    redis_url: str,
    queues: list[str],
    profiles: list[str],
    max_jobs: int | None = None,
    max_rss_mb: int = 0,
    heartbeat_file: Path | None = None,
    burst: bool = False,
    runtime: Runtime = DEFAULT_RUNTIME,
    fork: bool = False,
) -> bool:
    unknown = sorted(set(queues) - set(QUEUES))
    if unknown:
        raise ValueError(f"unknown queue(s) {', '.join(unknown)}; known: {', '.join(QUEUES)}")
    redis = Redis.from_url(redis_url)
    redis.ping()
    if heartbeat_file is not None:  # alive while warming up (a startup probe allows for it)
        heartbeat_file.parent.mkdir(parents=True, exist_ok=True)
        heartbeat_file.touch()
    use_runtime(runtime)
    for profile in profiles:
        warm(profile)
    kind = ForkingWorker if fork else InProcessWorker
    worker = kind(
        [Queue(name, connection=redis) for name in queues],
        connection=redis,
        max_rss_mb=max_rss_mb,
        heartbeat_file=heartbeat_file,
    )
    return worker.work(burst=burst, max_jobs=max_jobs, logging_level="INFO")
