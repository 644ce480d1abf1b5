"""What the workers run. A job's work is two RQ steps:

1. `read_pages` (queue `models`): ingest and every page stage (orientation, layout, OCR, table
   structure: the model half), the document saved beside the workspace's staging area;
2. `finish_document` (queue `cpu`): the document stages (tables across pages, entities, fields,
   forms, relations: CPU), then the result bundle is staged for the loader and the job ends.

So a GPU machine can serve only `models` and CPU machines `cpu`. Both steps are idempotent: a
step retried after its worker died redoes its work and stages the same result id, and the job
ends once (`jobs.end_job`). Pipelines are built (and warmed) once per worker process.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from redis import Redis
from rq import Queue, Retry, get_current_job
from rq.timeouts import JobTimeoutException

from extractors.document import Document
from models.runtime import DEFAULT_RUNTIME, Runtime
from pipelines.execution.config import PipelineConfig, load_profile
from pipelines.execution.executor import Job, failed_document
from pipelines.execution.pipeline import Pipeline
from pipelines.execution.runs import RunRecord
from pipelines.store.staging import stage_bundle
from pipelines.store.workspace import Workspace, atomic_write_bytes
from service import jobs
from service.logs import job_context
from service.settings import ServiceSettings

logger = logging.getLogger(__name__)

MODELS_QUEUE = "models"
CPU_QUEUE = "cpu"
QUEUES = (MODELS_QUEUE, CPU_QUEUE)

_PIPELINES: dict[str, Pipeline] = {}
_RUNTIME: list[Runtime] = [DEFAULT_RUNTIME]  # the worker's device and threads per session


def use_runtime(runtime: Runtime) -> None:
    """Device and threads for the pipelines this process builds (set before the first)."""
    _RUNTIME[0] = runtime
    _PIPELINES.clear()


def pipeline_for(profile: str) -> Pipeline:
    """The worker's pipeline for a profile, built on first use (workers build theirs before
    forking, so every work horse starts warm)."""
    if profile not in _PIPELINES:
        _PIPELINES[profile] = Pipeline(load_profile(profile), runtime=_RUNTIME[0])
    return _PIPELINES[profile]


def pages_path(workspace: Workspace, job_id: str) -> Path:
    return workspace.root / "service" / "pages" / f"{job_id}.json"


@dataclass(frozen=True)
class StepOptions:
    """What a step needs of the service's settings (passed with it: no secrets, no URLs)."""

    workspace: str
    document_timeout_s: int
    retries: int
    job_ttl_s: int
    timeout_setting: str

    @classmethod
    def of(cls, settings: ServiceSettings) -> StepOptions:
        return cls(
            str(settings.workspace),
            settings.document_timeout_s,
            settings.retries,
            settings.job_ttl_s,
            settings.env_name("document_timeout_s"),
        )

    @property
    def timeout_reason(self) -> str:
        return (
            f"stopped after {self.document_timeout_s} s, the limit of one step "
            f"({self.timeout_setting})"
        )


def enqueue_first_step(redis: Redis, settings: ServiceSettings, job: jobs.JobRecord) -> str:
    return _enqueue(redis, StepOptions.of(settings), MODELS_QUEUE, read_pages, job.id)


def _enqueue(redis: Redis, options: StepOptions, queue: str, func: Any, job_id: str) -> str:
    rq_job = Queue(queue, connection=redis).enqueue(
        func,
        job_id,
        asdict(options),
        job_timeout=options.document_timeout_s,
        retry=Retry(max=options.retries) if options.retries else None,
        result_ttl=3600,
        failure_ttl=24 * 3600,
        meta={"folio_job": job_id},
    )
    jobs.update(redis, job_id, rq_job=rq_job.id)
    return str(rq_job.id)


@dataclass(frozen=True)
class _Step:
    redis: Redis
    job: jobs.JobRecord
    options: StepOptions
    workspace: Workspace


def _step(job_id: str, step_options: dict[str, Any]) -> _Step | None:
    """The step's context; None when its job is gone or has ended (expired, cancelled, or
    ended by a duplicate of this step)."""
    current = get_current_job()
    assert current is not None, "run by an RQ worker"
    redis: Redis = current.connection
    job = jobs.get(redis, job_id)
    if job is None or job.ended_at is not None:
        return None
    options = StepOptions(**step_options)
    return _Step(redis, job, options, Workspace(Path(options.workspace)))


@contextlib.contextmanager
def _time_limited(
    redis: Redis, options: StepOptions, job: jobs.JobRecord
) -> Iterator[list[Document]]:
    """Collects the step's document; when RQ stops the step at its time limit, the job fails
    as a timeout (not retried: it would time out again), and when the job was cancelled the
    step stops; either way the list stays empty."""
    out: list[Document] = []
    try:
        yield out
    except JobTimeoutException:
        fail(redis, options, job, "timeout", options.timeout_reason)
    except StepCancelled:
        logger.info("step stopped: its job was cancelled")


class StepCancelled(Exception):
    """The job ended (cancelled) while its step ran: stop between pages."""


def _progress(redis: Redis, job_id: str, pages_done: int) -> None:
    if jobs.is_ended(redis, job_id):
        raise StepCancelled(job_id)
    jobs.update(redis, job_id, pages_done=pages_done)


def read_pages(job_id: str, step_options: dict[str, Any]) -> str:
    """Step 1: the page stages; then the document step is queued."""
    step = _step(job_id, step_options)
    if step is None:
        return "skipped"
    redis, job, options, workspace = step.redis, step.job, step.options, step.workspace
    with job_context(job_id):
        jobs.update(redis, job_id, state="running", step="pages", started_at=time.time())
        pipeline = pipeline_for(job.profile)
        with _time_limited(redis, options, job) as out:
            out.append(
                next(
                    pipeline.process_many(
                        [(Path(job.stored_path), job.sha256)],
                        on_progress=lambda _, done: _progress(redis, job_id, done),
                        document_stages=False,
                    )
                )
            )
        if not out:
            return "stopped"
        document = out[0]
        document.source_name = job.filename
        atomic_write_bytes(pages_path(workspace, job_id), document.to_json().encode())
        _enqueue(redis, options, CPU_QUEUE, finish_document, job_id)
        jobs.update(redis, job_id, step="document", pages_total=len(document.pages))
    return "pages"


def finish_document(job_id: str, step_options: dict[str, Any]) -> str:
    """Step 2: the document stages, the result bundle staged, the job ended."""
    step = _step(job_id, step_options)
    if step is None:
        return "skipped"
    redis, job, options, workspace = step.redis, step.job, step.options, step.workspace
    saved = pages_path(workspace, job_id)
    with job_context(job_id):
        pipeline = pipeline_for(job.profile)
        with _time_limited(redis, options, job) as out:
            out.append(pipeline.finish_document(Document.from_json(saved.read_text())))
        if not out:
            return "timeout"
        document = out[0]
        if jobs.is_ended(redis, job_id):  # cancelled while the stages ran
            return "cancelled"
        stage_bundle(workspace, document, service_run_id(job.profile), job.stored_path)
        assert document.pipeline is not None
        ended = jobs.end_job(
            redis,
            job,
            "finished",
            options.job_ttl_s,
            status=document.status,
            reason="; ".join(f"{e.stage}: {e.message}" for e in document.errors),
            failure="unreadable" if document.status == "failed" else "",
            pages=len(document.pages),
            stage_seconds={k: v / 1000 for k, v in document.pipeline.timings_ms.items()},
        )
        if ended:
            record_run(redis, workspace, pipeline.config, document)
        with contextlib.suppress(FileNotFoundError):
            saved.unlink()
    return document.status


def fail(
    redis: Redis, options: StepOptions, job: jobs.JobRecord, failure: str, reason: str
) -> None:
    """End a job as failed, with a failed document in the workspace saying why (as a batch
    records a document it could not finish)."""
    if not jobs.end_job(redis, job, "failed", options.job_ttl_s, "failed", reason, failure):
        return
    workspace = Workspace(Path(options.workspace))
    config = load_profile(job.profile)
    document = failed_document(
        Job(path=Path(job.stored_path), sha256=job.sha256, stored_path=job.stored_path),
        config,
        config.config_hash(),
        reason,
    )
    document.source_name = job.filename
    stage_bundle(workspace, document, service_run_id(job.profile), job.stored_path)
    record_run(redis, workspace, config, document)
    with contextlib.suppress(FileNotFoundError):
        pages_path(workspace, job.id).unlink()


def service_run_id(profile: str, day: datetime | None = None) -> str:
    """The service's documents are grouped into one run per day and profile."""
    return f"svc-{(day or datetime.now(UTC)):%Y%m%d}-{profile}"


def record_run(
    redis: Redis, workspace: Workspace, config: PipelineConfig, document: Document
) -> None:
    """Add a document to its service run: counters in Redis (atomic across workers), then the
    run's new state staged under a stamp from the same transaction (newest wins)."""
    run_id = service_run_id(config.name)
    key = f"folio:run:{run_id}"
    pipeline_info = document.pipeline
    now = time.time()
    with redis.pipeline() as pipe:
        pipe.hsetnx(key, "started_at", f"{now}")
        pipe.hincrby(key, f"n_{document.status}", 1)
        pipe.hincrby(key, "n_files", 1)
        pipe.hincrby(key, "n_pages", len(document.pages))
        for stage, ms in (pipeline_info.timings_ms if pipeline_info else {}).items():
            pipe.hincrbyfloat(key, f"ms:{stage}", ms)
        pipe.hincrby(key, "seq", 1)
        pipe.expire(key, 3 * 24 * 3600)
        pipe.hgetall(key)
        values = {
            (k.decode() if isinstance(k, bytes) else k): float(v)
            for k, v in pipe.execute()[-1].items()
        }
    started = values["started_at"]
    RunRecord(
        run_id=run_id,
        started_at=datetime.fromtimestamp(started, UTC),
        profile=config.name,
        config_hash=config.config_hash(),
        workers=0,
        command="folio serve",
        n_files=int(values.get("n_files", 0)),
        n_ok=int(values.get("n_ok", 0)),
        n_partial=int(values.get("n_partial", 0)),
        n_failed=int(values.get("n_failed", 0)),
        n_pages=int(values.get("n_pages", 0)),
        elapsed_s=now - started,
        stage_ms={k[3:]: v for k, v in values.items() if k.startswith("ms:")},
    ).stage(workspace, stamp=f"{int(values['seq']):012d}")
