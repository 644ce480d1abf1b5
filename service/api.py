"""The HTTP API: submit documents as jobs, follow them, fetch results, cancel; health and
metrics. Job state lives in Redis (any replica answers for any job); results come from the
workspace once the loader has moved them in."""

from __future__ import annotations

import contextlib
import io
import logging
import platform
import tempfile
import time
import uuid
import zipfile
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from importlib.metadata import version
from pathlib import Path
from typing import Annotated, Any

from fastapi import FastAPI, File, HTTPException, Query, Request, Response, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.process_collector import ProcessCollector
from pydantic import BaseModel, Field, field_validator
from redis import Redis
from rq import Worker
from rq.command import send_stop_job_command
from rq.exceptions import InvalidJobOperation, NoSuchJobError
from rq.job import Job as RQJob
from rq.job import JobStatus

from extractors.document import SCHEMA_VERSION
from models.assets import file_sha256
from pipelines.execution.batch import planned_ids
from pipelines.execution.config import (
    PipelineConfig,
    ProfileError,
    available_profiles,
    load_profile,
)
from pipelines.execution.pipeline import UnreadableDocument, count_pages
from pipelines.export import document_markdown, export_workspace
from pipelines.security.principal import Principal
from pipelines.store.database import load_result, result_status
from pipelines.store.reviewed import reviewed_document
from pipelines.store.workspace import Workspace, safe_suffix
from service import jobs, logs, stats
from service.auth import Exporter, ServiceAuth, Uploader, Viewer, owner_id
from service.control import QueueLoop, queue_depths
from service.settings import ServiceSettings
from service.tasks import QUEUES, enqueue_first_step

logger = logging.getLogger("folio.service")

RESULT_FORMATS = ("json", "markdown", "csv", "parquet")
RESULT_WAIT_S = 10.0  # a finished job's bundle is usually loaded within a loop pass
POLL_S = 0.2
CHUNK = 1 << 20


class LimitExceeded(Exception):
    def __init__(self, status: int, message: str, limit: str) -> None:
        super().__init__(message)
        self.status, self.message, self.limit = status, message, limit


class PathJob(BaseModel):
    path: str = Field(max_length=4096)
    profile: str | None = Field(None, max_length=200)

    @field_validator("path")
    @classmethod
    def _no_nul(cls, value: str) -> str:
        if "\x00" in value:  # no file system takes one; Path.resolve() would raise
            raise ValueError("a path cannot contain a NUL byte")
        return value


def create_app(
    settings: ServiceSettings, redis: Redis | None = None, run_loop: bool = True
) -> FastAPI:
    """The service; `run_loop=False` leaves the queue loop to the caller (tests call tick)."""
    redis = redis or Redis.from_url(settings.redis_url)
    workspace = Workspace.open(settings.workspace)
    loop = QueueLoop(redis, settings, workspace)
    registry = CollectorRegistry()
    requests = Counter(
        "folio_http_requests", "HTTP requests.", ["method", "route", "status"], registry=registry
    )
    latency = Histogram(
        "folio_http_request_duration_seconds", "HTTP request time.", ["route"], registry=registry
    )
    ProcessCollector(registry=registry)
    registry.register(
        stats.RedisCollector(redis, lambda: _gauges(redis), lambda: loop.readiness.ready)
    )
    profiles: dict[str, PipelineConfig] = {}

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if run_loop:
            loop.start()
        yield
        if run_loop:
            loop.stop()

    app = FastAPI(
        title="Folio",
        version=version("folio"),
        summary="Document processing jobs: layout, OCR, tables, entities and fields",
        lifespan=lifespan,
    )
    app.state.loop = loop
    app.state.redis = redis
    app.state.workspace = workspace
    auth = ServiceAuth(settings, workspace, redis)
    app.state.auth = auth

    @app.middleware("http")
    async def observe(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        rid = request.headers.get("x-request-id") or uuid.uuid4().hex[:16]
        token = logs.request_id.set(rid)
        started = time.perf_counter()
        status = 500
        try:
            response = await call_next(request)
            status = response.status_code
            response.headers["x-request-id"] = rid
            return response
        finally:
            route = request.scope.get("route")
            label = getattr(route, "path", "unmatched")
            elapsed = time.perf_counter() - started
            requests.labels(request.method, label, str(status)).inc()
            latency.labels(label).observe(elapsed)
            logger.info(
                "request",
                extra={
                    "method": request.method,
                    "path": label,
                    "status": status,
                    "duration_ms": round(elapsed * 1000, 1),
                },
            )
            logs.request_id.reset(token)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, error: RequestValidationError) -> JSONResponse:
        """FastAPI's own 422 echoes the offending input, which may not even encode (NaN in a
        JSON body) and may be a document's contents; answer with where and why only."""
        detail = [
            {"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": e.get("type")}
            for e in error.errors()
        ]
        return JSONResponse({"detail": detail}, status_code=422)

    @app.exception_handler(LimitExceeded)
    async def limit_exceeded(_: Request, error: LimitExceeded) -> JSONResponse:
        return JSONResponse(
            status_code=error.status, content={"detail": error.message, "limit": error.limit}
        )

    def profile_config(name: str | None) -> PipelineConfig:
        name = name or settings.profile
        if name not in profiles:
            if name not in available_profiles():
                raise HTTPException(
                    422, f"unknown profile {name!r}; known: {', '.join(available_profiles())}"
                )
            try:
                profiles[name] = load_profile(name)
            except ProfileError as error:
                raise HTTPException(422, str(error)) from error
        return profiles[name]

    def submit(
        source: Path,
        filename: str,
        profile: str | None,
        principal: Principal,
        max_pages: int,
        what: str,
    ) -> jobs.JobRecord:
        config = profile_config(profile)
        client = owner_id(principal)
        if jobs.active_count(redis, client) >= settings.max_active_jobs_per_key:
            raise LimitExceeded(
                429,
                f"this client already has {settings.max_active_jobs_per_key} jobs queued or "
                "running; wait for some to end",
                settings.env_name("max_active_jobs_per_key"),
            )
        try:
            pages = count_pages(source, config)
        except UnreadableDocument as error:
            raise HTTPException(422, f"{filename}: {error}") from error
        if pages > max_pages:
            raise LimitExceeded(
                413,
                f"{filename} has {pages} pages; {what} takes at most {max_pages}",
                settings.env_name("convert_max_pages" if what == "convert" else "max_pages"),
            )
        sha = file_sha256(source)
        stored = workspace.keep_copy(source, sha)
        document_id, result_id = planned_ids(sha, config.config_hash())
        job = jobs.JobRecord(
            id=jobs.new_job_id(),
            filename=filename,
            sha256=sha,
            profile=config.name,
            stored_path=str(stored),
            result_id=result_id,
            document_id=document_id,
            client=client,
            pages_total=pages,
        )
        done = _loaded_status(workspace, result_id)
        if done is not None:  # the same bytes under the same profile: nothing to run again
            job.cached = True
            jobs.save_new(redis, job)
            jobs.end_job(redis, job, "finished", settings.job_ttl_s, status=done)
        else:
            jobs.save_new(redis, job)
            enqueue_first_step(redis, settings, job)
        logger.info("job submitted", extra={"queue": QUEUES[0]})
        auth.record(principal, "upload", document_id, job=job.id, pages=pages, what=what)
        return jobs.get(redis, job.id) or job

    def submit_upload(
        request: Request,
        file: UploadFile,
        profile: str | None,
        principal: Principal,
        max_pages: int,
        what: str,
    ) -> jobs.JobRecord:
        with _received(request, file, settings) as path:
            name = safe_filename(file.filename)
            return submit(path, name, profile, principal, max_pages, what)

    @app.post("/v1/jobs", status_code=202, tags=["jobs"])
    def submit_file(
        request: Request,
        principal: Uploader,
        file: Annotated[UploadFile, File(description="a PDF, image or Office file")],
        profile: Annotated[str | None, Query(description="pipeline profile")] = None,
    ) -> dict[str, Any]:
        """Queue one document; returns the job at once (poll it, then fetch its result)."""
        job = submit_upload(request, file, profile, principal, settings.max_pages, "a job")
        return job.public()

    @app.post("/v1/jobs/from-path", status_code=202, tags=["jobs"])
    def submit_path(principal: Uploader, body: PathJob) -> dict[str, Any]:
        """Queue a file the server can read, inside a folder an admin allowed."""
        path = Path(body.path).resolve()
        if not settings.allowed_paths:
            raise HTTPException(
                403,
                f"server-side paths are off; an admin sets {settings.env_name('allowed_paths')}",
            )
        if not any(path.is_relative_to(root.resolve()) for root in settings.allowed_paths):
            raise HTTPException(403, f"{body.path} is outside the allowed folders")
        if not path.is_file():
            raise HTTPException(404, f"{body.path}: no such file")
        if path.stat().st_size > settings.max_upload_bytes:
            raise _too_big(settings)
        job = submit(path, path.name, body.profile, principal, settings.max_pages, "a job")
        return job.public()

    @app.get("/v1/jobs", tags=["jobs"])
    def list_jobs(
        principal: Viewer,
        state: Annotated[
            str | None, Query(pattern="^(queued|running|finished|failed|cancelled)$")
        ] = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
    ) -> dict[str, Any]:
        """The newest jobs: the caller's own, or everyone's for an admin."""
        found = jobs.recent(redis, limit if principal.can("admin") else 500, state)
        mine = [job for job in found if visible(job, principal)][:limit]
        return {"jobs": [job.public() for job in mine]}

    def visible(job: jobs.JobRecord, principal: Principal) -> bool:
        return principal.can("admin") or job.client == owner_id(principal)

    def existing(job_id: str, principal: Principal) -> jobs.JobRecord:
        job = jobs.get(redis, job_id)
        if job is None or not visible(job, principal):  # another key's job: as if unknown
            raise HTTPException(404, f"no job {job_id} (unknown, or ended long ago)")
        return job

    @app.get("/v1/jobs/{job_id}", tags=["jobs"])
    def job_status(job_id: str, principal: Viewer) -> dict[str, Any]:
        return existing(job_id, principal).public()

    @app.post("/v1/jobs/{job_id}/cancel", tags=["jobs"])
    def cancel(job_id: str, principal: Uploader) -> dict[str, Any]:
        """Stop a queued or running job (its work stops; nothing of it lands)."""
        job = existing(job_id, principal)
        if job.ended_at is not None or not jobs.end_job(
            redis, job, "cancelled", settings.job_ttl_s, reason="cancelled by the client"
        ):
            raise HTTPException(409, f"job {job_id} already ended ({job.state})")
        _stop_step(redis, job.rq_job)
        auth.record(principal, "cancel", job.document_id, job=job.id)
        return existing(job_id, principal).public()

    @app.get("/v1/jobs/{job_id}/result", tags=["jobs"])
    def result(
        job_id: str,
        principal: Exporter,
        format: Annotated[str, Query(pattern="^(json|markdown|csv|parquet)$")] = "json",
        reviewed: bool = True,
    ) -> Response:
        """The result: the document JSON of `folio export` (review corrections applied unless
        reviewed=false), Markdown, or the tables as CSV / the views as Parquet (zip)."""
        return _result_response(existing(job_id, principal), format, reviewed, principal)

    def _result_response(
        job: jobs.JobRecord, fmt: str, reviewed: bool, principal: Principal
    ) -> Response:
        if job.state != "finished":
            detail = f"job {job.id} is {job.state}" + (f": {job.reason}" if job.reason else "")
            raise HTTPException(409, detail)
        document = _wait_loaded(workspace, job.result_id, RESULT_WAIT_S)
        if document is None:
            raise HTTPException(
                503,
                "the result is staged but not in the database yet (it is busy); retry shortly",
                headers={"Retry-After": "5"},
            )
        if reviewed:
            document = reviewed_document(workspace, document)
        auth.record(principal, "export", job.document_id, job=job.id, format=fmt)
        if fmt == "json":
            return Response(document.to_json(), media_type="application/json")
        if fmt == "markdown":
            return PlainTextResponse(document_markdown(document), media_type="text/markdown")
        return _zipped_export(workspace, document.document_id, fmt, reviewed)

    @app.post("/v1/convert", tags=["convert"])
    def convert(
        request: Request,
        principal: Uploader,
        file: Annotated[UploadFile, File(description="a short document")],
        profile: Annotated[str | None, Query()] = None,
    ) -> Response:
        """Process one short document and answer with its result, waiting a bounded time; a
        document that takes longer is cancelled (use /v1/jobs for long work)."""
        if not principal.can("export"):
            raise HTTPException(403, f"the {principal.role} role may not export results")
        job = submit_upload(
            request, file, profile, principal, settings.convert_max_pages, "convert"
        )
        deadline = time.monotonic() + settings.convert_wait_s
        while job.ended_at is None and time.monotonic() < deadline:
            time.sleep(POLL_S)
            job = existing(job.id, principal)
        if job.ended_at is None:
            if jobs.end_job(
                redis,
                job,
                "cancelled",
                settings.job_ttl_s,
                reason=f"convert waited {settings.convert_wait_s:.0f} s",
            ):
                _stop_step(redis, job.rq_job)
            raise LimitExceeded(
                504,
                f"{job.filename} was not done within {settings.convert_wait_s:.0f} s and was "
                "cancelled; submit it to /v1/jobs instead",
                settings.env_name("convert_wait_s"),
            )
        return _result_response(job, "json", True, principal)

    @app.get("/livez", tags=["health"])
    def livez() -> JSONResponse:
        alive = loop.alive() if run_loop else True
        return JSONResponse({"alive": alive}, status_code=200 if alive else 503)

    @app.get("/readyz", tags=["health"])
    def readyz() -> JSONResponse:
        state = loop.readiness
        return JSONResponse(
            {"ready": state.ready, "checks": state.checks}, status_code=200 if state.ready else 503
        )

    @app.get("/version", tags=["health"])
    def version_info() -> dict[str, Any]:
        return {
            "folio": version("folio"),
            "document_schema": SCHEMA_VERSION,
            "python": platform.python_version(),
            "profiles": available_profiles(),
            "default_profile": settings.profile,
            "device": settings.device,
        }

    @app.get("/metrics", tags=["health"])
    def metrics() -> Response:
        return Response(generate_latest(registry), media_type="text/plain; version=0.0.4")

    return app


def _gauges(redis: Redis) -> Iterator[GaugeMetricFamily]:
    depth = GaugeMetricFamily("folio_queue_depth", "Steps waiting, per queue.", labels=["queue"])
    age = GaugeMetricFamily(
        "folio_queue_oldest_job_age_seconds", "Age of the oldest waiting step.", labels=["queue"]
    )
    for name, (count, oldest) in queue_depths(redis).items():
        depth.add_metric([name], count)
        age.add_metric([name], oldest)
    yield depth
    yield age
    workers = GaugeMetricFamily(
        "folio_workers", "Workers by queue and state.", labels=["queue", "state"]
    )
    counts = {(q, s): 0 for q in QUEUES for s in ("idle", "busy")}
    for worker in Worker.all(connection=redis):
        state = "busy" if worker.get_state() == "busy" else "idle"
        for name in worker.queue_names():
            if (name, state) in counts:
                counts[(name, state)] += 1
    for (queue, state), count in counts.items():
        workers.add_metric([queue, state], count)
    yield workers


def safe_filename(name: str | None) -> str:
    """The upload's name as a label only (it never becomes a path): the last component, no
    control characters, at most 200 characters."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = "".join(ch for ch in base if ch.isprintable()).strip()[:200]
    return cleaned if cleaned not in ("", ".", "..") else "upload"


def _too_big(settings: ServiceSettings) -> LimitExceeded:
    return LimitExceeded(
        413,
        f"the file is larger than {settings.max_upload_bytes} bytes",
        settings.env_name("max_upload_bytes"),
    )


@contextlib.contextmanager
def _received(request: Request, upload: UploadFile, settings: ServiceSettings) -> Iterator[Path]:
    """The upload as a temp file in the workspace, refused as soon as it passes the limit."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > settings.max_upload_bytes + CHUNK:
        raise _too_big(settings)
    folder = settings.workspace / "service" / "uploads"
    folder.mkdir(parents=True, exist_ok=True)
    suffix = safe_suffix(Path(safe_filename(upload.filename)).suffix)
    with tempfile.NamedTemporaryFile(dir=folder, suffix=suffix) as handle:
        size = 0
        upload.file.seek(0)
        while chunk := upload.file.read(CHUNK):
            size += len(chunk)
            if size > settings.max_upload_bytes:
                raise _too_big(settings)
            handle.write(chunk)
        handle.flush()
        if size == 0:
            raise HTTPException(422, f"{upload.filename or 'the upload'} is empty")
        yield Path(handle.name)


def _loaded_status(workspace: Workspace, result_id: str) -> str | None:
    with contextlib.suppress(Exception):  # a busy database: just run it again (idempotent)
        return result_status(workspace, result_id)
    return None


def _wait_loaded(workspace: Workspace, result_id: str, wait_s: float) -> Any:
    deadline = time.monotonic() + wait_s
    while True:
        with contextlib.suppress(Exception):
            document = load_result(workspace, result_id)
            if document is not None:
                return document
        if time.monotonic() > deadline:
            return None
        time.sleep(POLL_S)


def _stop_step(redis: Redis, rq_id: str) -> None:
    """Stop the RQ step of a cancelled job: dequeue it, or kill its work horse."""
    if not rq_id:
        return
    try:
        rq_job = RQJob.fetch(rq_id, connection=redis)
    except NoSuchJobError:
        return
    status = rq_job.get_status()
    with contextlib.suppress(InvalidJobOperation, NoSuchJobError):
        if status == JobStatus.STARTED:
            send_stop_job_command(redis, rq_id)
        elif status in (JobStatus.QUEUED, JobStatus.DEFERRED, JobStatus.SCHEDULED):
            rq_job.cancel()


def _zipped_export(workspace: Workspace, document_id: str, fmt: str, reviewed: bool) -> Response:
    with tempfile.TemporaryDirectory() as folder:
        written = export_workspace(workspace, Path(folder), fmt, [document_id], reviewed)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in written:
                archive.write(path, path.name)
    return Response(
        buffer.getvalue(),
        media_type="application/zip",
        headers={"content-disposition": f'attachment; filename="{document_id}-{fmt}.zip"'},
    )
