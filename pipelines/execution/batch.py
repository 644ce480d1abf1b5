"""A batch run: find input files, skip what this configuration already processed, run the rest
on the executor, and keep the database loaded as results land.

Re-running the same files with the same profile does nothing; a kill at any point loses no
finished document (bundles are staged before they are counted) and a rerun finishes the rest.
"""

from __future__ import annotations

import logging
import os
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from extractors.document import document_id_for
from models.assets import file_sha256
from models.model_server import ServerStats
from models.runtime import Device
from pipelines.execution.config import PipelineConfig
from pipelines.execution.executor import Job, JobResult, LocalExecutor
from pipelines.execution.runs import RunRecord
from pipelines.learning.registry import with_learned_models
from pipelines.store.database import known_result_ids
from pipelines.store.loader import load_best_effort, load_with_retries
from pipelines.store.rows import result_id_for
from pipelines.store.workspace import Workspace

logger = logging.getLogger(__name__)

LOAD_EVERY_S = 2.0
# Folder scans pick these up; a file named explicitly is always tried (ingest sniffs the bytes).
SUPPORTED_SUFFIXES = frozenset(
    {".pdf", ".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp"}
    | {".docx", ".docm", ".dotx", ".xlsx", ".xlsm", ".xltx", ".pptx", ".pptm", ".ppsx", ".potx"}
)
NO_SUFFIX = "(no extension)"
_EXAMPLES = 3  # file names shown per unsupported type


def discover(
    paths: Iterable[Path], unsupported: Counter[str] | None = None
) -> tuple[list[Path], list[str]]:
    """Files under the given paths (folders recursively, hidden files skipped), plus problems.

    Files a folder scan leaves out because Folio cannot read their type are never silent: one
    problem line per type (with example names), and counted by type into `unsupported`."""
    found: list[Path] = []
    problems: list[str] = []
    left_out: dict[str, list[Path]] = {}
    for path in paths:
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                parts = child.relative_to(path).parts
                if not child.is_file() or any(p.startswith(".") for p in parts):
                    continue
                suffix = child.suffix.lower()
                if suffix in SUPPORTED_SUFFIXES:
                    found.append(child)
                else:
                    left_out.setdefault(suffix or NO_SUFFIX, []).append(child)
        elif path.is_file():
            found.append(path)  # named explicitly: try it, ingest explains if unsupported
        else:
            problems.append(f"{path}: no such file or folder")
    for suffix, files in sorted(left_out.items()):
        names = ", ".join(f.name for f in files[:_EXAMPLES])
        names += ", ..." if len(files) > _EXAMPLES else ""
        noun = "file" if len(files) == 1 else "files"
        problems.append(f"{len(files)} {suffix} {noun} not a supported type ({names})")
        if unsupported is not None:
            unsupported[suffix] += len(files)
    return found, problems


def planned_ids(sha256: str, config_hash: str) -> tuple[str, str]:
    """(document id, result id) a file gets under a configuration, known before it runs."""
    document_id = document_id_for(sha256)
    return document_id, result_id_for(document_id, config_hash)


@dataclass
class BatchSummary:
    run_id: str
    n_files: int = 0
    n_skipped: int = 0
    n_duplicates: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    n_pages: int = 0
    elapsed_s: float = 0.0
    stage_ms: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    failures: list[tuple[str, str]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    # Files a folder scan left out, by type (".docx" before Office support, ".txt", ...).
    unsupported: Counter[str] = field(default_factory=Counter)
    # Per model server (GPU runs): device calls, rows per call, busy time per model.
    model_stats: list[ServerStats] = field(default_factory=list)

    @property
    def pages_per_s(self) -> float:
        return self.n_pages / self.elapsed_s if self.elapsed_s > 0 else 0.0


ProgressHook = Callable[[JobResult | None, BatchSummary], None]
EXECUTORS = ("local", "ray")


class Executor(Protocol):
    def run(
        self, jobs: list[Job], on_idle: Callable[[], None] | None = None
    ) -> Iterator[JobResult]: ...


def _executor(
    kind: str,
    config: PipelineConfig,
    workspace: Workspace,
    run_id: str,
    workers: int,
    password: str | None,
    device: Device,
    ray_address: str | None,
    model_server: bool | None,
) -> Executor:
    if kind == "ray":
        from pipelines.execution.ray_executor import RayExecutor  # ray is optional

        return RayExecutor(
            config, workspace, run_id, workers, password, device, ray_address, model_server
        )
    return LocalExecutor(config, workspace, run_id, workers, password, device, model_server)


def run_batch(
    paths: list[Path],
    config: PipelineConfig,
    workspace: Workspace,
    workers: int = 2,
    password: str | None = None,
    retry_failed: bool = False,
    device: Device = "auto",
    command: str = "",
    on_planned: Callable[[int], None] | None = None,
    on_result: ProgressHook | None = None,
    executor: str = "local",
    ray_address: str | None = None,
    model_server: bool | None = None,
) -> BatchSummary:
    """`executor`: "local" (worker processes here) or "ray" (actors on a Ray cluster at
    `ray_address` or $RAY_ADDRESS, else a local Ray; the workspace must be shared storage).
    `model_server` (local executor): models in one process per device that batches every
    worker's requests; None: on GPUs only."""
    if executor not in EXECUTORS:
        raise ValueError(f"executor must be {' or '.join(EXECUTORS)}, not {executor!r}")
    if executor == "ray":
        from pipelines.execution.ray_executor import import_ray

        import_ray(ray_address or os.environ.get("RAY_ADDRESS"))  # RayUnavailable now, not mid-run
    started = time.monotonic()
    started_at = datetime.now(UTC)
    run_id = f"run-{started_at:%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:6]}"
    summary = BatchSummary(run_id=run_id)
    load_best_effort(workspace)  # what a previous, killed batch finished goes in first

    files, summary.problems = discover(paths, summary.unsupported)
    # The workspace's active learned models (folio train) are part of what it runs.
    config = with_learned_models(config, workspace)
    config_hash = config.config_hash()
    done = known_result_ids(workspace)
    if retry_failed:
        done -= known_result_ids(workspace, statuses=("failed",))
    jobs: list[Job] = []
    seen: set[str] = set()
    for path in files:
        try:
            sha = file_sha256(path)
        except OSError as error:
            summary.problems.append(f"{path}: cannot read ({error.strerror or error})")
            continue
        if sha in seen:
            summary.n_duplicates += 1
            continue
        seen.add(sha)
        if planned_ids(sha, config_hash)[1] in done:
            summary.n_skipped += 1
            continue
        stored = workspace.keep_copy(path, sha)
        jobs.append(Job(path=path.resolve(), sha256=sha, stored_path=str(stored)))
    summary.n_files = len(files)
    if on_planned is not None:
        on_planned(len(jobs))

    record_seq = 0

    def record(state: str) -> None:
        # Append-only: every update is a new staged file, so a loader that reads one and removes
        # it after its commit can never remove a later state of the run.
        nonlocal record_seq
        record_seq += 1
        summary.elapsed_s = time.monotonic() - started
        RunRecord(
            run_id=run_id,
            started_at=started_at,
            finished_at=datetime.now(UTC) if state != "running" else None,
            profile=config.name,
            config_hash=config_hash,
            workers=workers,
            command=command,
            n_files=summary.n_files,
            n_skipped=summary.n_skipped,
            n_ok=summary.statuses["ok"],
            n_partial=summary.statuses["partial"],
            n_failed=summary.statuses["failed"],
            n_pages=summary.n_pages,
            elapsed_s=summary.elapsed_s,
            stage_ms=dict(summary.stage_ms),
            state=state,
        ).stage(workspace, stamp=f"{record_seq:08d}")

    last_load = time.monotonic()

    def maybe_load() -> None:
        nonlocal last_load
        if time.monotonic() - last_load >= LOAD_EVERY_S:
            record("running")
            load_best_effort(workspace)  # a busy database must not stop the batch
            last_load = time.monotonic()

    state = "interrupted"
    try:
        if jobs:
            record("running")
            runner = _executor(
                executor, config, workspace, run_id, workers, password, device, ray_address,
                model_server,
            )  # fmt: skip
            for result in runner.run(jobs, on_idle=maybe_load):
                summary.statuses[result.status] += 1
                summary.n_pages += result.n_pages
                for stage, ms in result.timings_ms.items():
                    summary.stage_ms[stage] += ms
                if result.status != "ok":
                    summary.failures.append((result.job.path.name, "; ".join(result.errors)))
                summary.elapsed_s = time.monotonic() - started
                if on_result is not None:
                    on_result(result, summary)
            summary.model_stats = list(getattr(runner, "server_stats", []))
        state = "finished"
    finally:
        summary.elapsed_s = time.monotonic() - started
        record(state)
        if load_with_retries(workspace) is None:
            summary.problems.append(
                "the workspace database stayed locked; finished results stay staged and load "
                "on the next folio command or app start"
            )
    return summary
