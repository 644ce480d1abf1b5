"""Background processing for uploads and retries: `run_batch` in a thread, progress in memory.

The thread runs the same pipeline as `folio run` (worker processes, staging, loader), so the
documents land in the queue exactly like a CLI batch. The registry lives in a
`st.cache_resource` owned by the app; it is plain Python so it can be tested without Streamlit.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from models.runtime import DEVICE_ENV, parse_device
from pipelines.execution.batch import SUPPORTED_SUFFIXES
from pipelines.execution.config import load_profile
from pipelines.store.workspace import Workspace, atomic_write_bytes

logger = logging.getLogger(__name__)

UPLOAD_SUFFIXES = tuple(sorted(SUPPORTED_SUFFIXES))  # what a folder scan takes, Office included
MAX_UPLOAD_MB = 50


@dataclass
class Job:
    job_id: str
    label: str
    names: list[str]
    state: str = "queued"  # queued, running, finished, failed
    total: int | None = None
    done: int = 0
    n_failed: int = 0
    n_skipped: int = 0
    message: str = ""
    started: float = field(default_factory=time.monotonic)
    finished: float | None = None

    @property
    def fraction(self) -> float:
        if self.state == "finished":
            return 1.0
        return self.done / self.total if self.total else 0.0

    @property
    def active(self) -> bool:
        return self.state in ("queued", "running")


class JobRegistry:
    """Jobs started by this app process, newest first; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._jobs: dict[str, Job] = {}

    def jobs(self) -> list[Job]:
        with self._lock:
            return sorted(self._jobs.values(), key=lambda job: -job.started)

    def start(
        self,
        workspace: Workspace,
        paths: list[Path],
        label: str,
        retry_failed: bool = False,
        profile: str = "default",
        workers: int = 1,
    ) -> Job:
        job = Job(job_id=uuid.uuid4().hex[:8], label=label, names=[p.name for p in paths])
        with self._lock:
            self._jobs[job.job_id] = job
        thread = threading.Thread(
            target=_run,
            args=(job, workspace, paths, retry_failed, profile, workers),
            name=f"folio-job-{job.job_id}",
            daemon=True,
        )
        thread.start()
        return job


def _run(
    job: Job,
    workspace: Workspace,
    paths: list[Path],
    retry_failed: bool,
    profile: str,
    workers: int,
) -> None:
    from pipelines.execution.batch import BatchSummary, run_batch

    job.state = "running"

    def planned(n: int) -> None:
        job.total = n

    def on_result(result: object, summary: BatchSummary) -> None:
        job.done = sum(summary.statuses.values())
        job.n_failed = summary.statuses["failed"]

    try:
        summary = run_batch(
            paths,
            load_profile(profile),
            workspace,
            workers=workers,
            retry_failed=retry_failed,
            device=parse_device(os.environ.get(DEVICE_ENV, "auto")),  # folio app --device
            command=f"folio app: {job.label}",
            on_planned=planned,
            on_result=on_result,
        )
        job.n_skipped = summary.n_skipped + summary.n_duplicates
        job.done = sum(summary.statuses.values())
        job.message = "; ".join(summary.problems)
        job.state = "finished"
    except Exception as error:  # the app shows it; the batch already recorded what it could
        logger.exception("background job %s failed", job.job_id)
        job.message = f"{type(error).__name__}: {error}"
        job.state = "failed"
    finally:
        job.finished = time.monotonic()


def check_upload(name: str, size: int, max_mb: int = MAX_UPLOAD_MB) -> str | None:
    """Why an upload is refused, or None when it is fine."""
    suffix = Path(name).suffix.lower()
    if suffix not in UPLOAD_SUFFIXES:
        return f"{name}: {suffix or 'no extension'} is not supported ({', '.join(UPLOAD_SUFFIXES)})"
    if size == 0:
        return f"{name}: the file is empty"
    if size > max_mb * 1024 * 1024:
        return f"{name}: {size / 1024 / 1024:.1f} MB is over the {max_mb} MB limit"
    return None


def save_upload(workspace: Workspace, name: str, data: bytes) -> Path:
    """Keep an uploaded file under <workspace>/uploads/ (same name twice: a numbered copy)."""
    folder = workspace.root / "uploads"
    safe = Path(name).name.replace("/", "_") or "upload"
    target = folder / safe
    counter = 1
    while target.exists() and target.read_bytes() != data:
        target = folder / f"{Path(safe).stem}-{counter}{Path(safe).suffix}"
        counter += 1
    if not target.exists():
        atomic_write_bytes(target, data)
    return target
