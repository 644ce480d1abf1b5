"""The Ray executor: the local executor's contract on a Ray cluster (or a bounded local Ray).

`workers` actors each build the pipeline once and take tasks of one or a few documents, like
the local executor's worker processes. Each actor writes every finished document's bundle into
the workspace's staging area itself, so the workspace root must be storage every node reaches
(a ReadWriteMany volume at the same path), and so must the input files; the driver only
schedules, and the database is written by the loader alone, as in a local batch.

Fault tolerance follows the local executor: a document over `timeout_s` (or without a finished
page for `stall_timeout_s`) gets its actor killed and replaced and is recorded as failed; a
shared task that stops is retried one document per task. An actor that dies (its process
killed, out of memory, its node lost) is not its documents' fault: they are retried once, each
alone, on a fresh actor, and a document whose actor dies twice fails with the reason. A
document whose bundle was staged before its actor died is credited, never redone.

Why a long poll instead of a streaming generator: Ray Client (`ray://` addresses) does not
support streaming actor methods, and results must reach the driver per document, not per task.
So an actor runs its task on a thread and the driver asks it for what happened since the last
call (`events`, which returns as soon as there is something).

Ray is an optional dependency (`bash scripts/setup.sh --ray`), imported only in here.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import logging
import math
import os
import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any, cast

from extractors.document import Document, document_id_for
from models.model_server import ServerStats
from models.runtime import Device, Runtime
from pipelines.execution.config import PipelineConfig
from pipelines.execution.executor import (
    MAX_FAILED_STARTS,
    Job,
    JobResult,
    TaskClock,
    WorkerStartError,
    _summary,
    fail_job,
    next_task,
    stop_task,
)
from pipelines.store.rows import result_id_for
from pipelines.store.staging import stage_bundle
from pipelines.store.workspace import Workspace

logger = logging.getLogger(__name__)

# A local Ray instance is small: its object store holds only task lists and result summaries
# (documents go to the workspace, not through Ray).
LOCAL_OBJECT_STORE_BYTES = 200 * 1024**2
POLL_S = 1.0  # an actor's `events` waits this long for something to report
TICK_S = 0.5  # the driver checks time limits and loads the database this often
KILL_WAIT_S = 10.0  # how long a killed actor may take to be gone before we move on
PLACEMENT_WARN_S = 60.0  # say so when Ray cannot place the actors for this long


class RayExecutorError(RuntimeError):
    """The Ray executor cannot run: Ray missing, the cluster unreachable or unsuitable."""


class RayUnavailable(RayExecutorError):
    """The optional `ray` package is not installed."""


def import_ray(address: str | None = None) -> Any:
    """The `ray` module, or RayUnavailable with the way to install what is missing (for a
    `ray://` address, Ray Client's grpcio too)."""
    try:
        ray = importlib.import_module("ray")
    except ImportError as error:
        raise RayUnavailable(
            "ray is not installed; install with bash scripts/setup.sh --ray"
        ) from error
    if (address or "").startswith("ray://") and importlib.util.find_spec("grpc") is None:
        raise RayUnavailable(
            "ray:// addresses need Ray Client: pip install 'ray[client]' (grpcio), or run "
            "folio on a node of the cluster with --ray-address auto"
        )
    return ray


def start_local_ray(ray: Any, num_cpus: int, **options: Any) -> None:
    """A bounded single-machine Ray on the loopback interface: `num_cpus` logical CPUs, a small
    object store, no dashboard, worker output in Ray's log files only."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # offline machines; nothing to report
    # Ray binds every interface with the machine's address unless it thinks clusters are off
    # (its rule for laptops); that switch is the one way to keep a local instance on 127.0.0.1.
    constants = importlib.import_module("ray._private.ray_constants")
    previous = getattr(constants, "ENABLE_RAY_CLUSTER", None)
    if previous is not None:
        setattr(constants, "ENABLE_RAY_CLUSTER", False)  # noqa: B010 (a private module)
    try:
        ray.init(
            address="local",  # a new instance, never a cluster some earlier `ray start` left
            num_cpus=num_cpus,
            include_dashboard=False,
            object_store_memory=options.pop("object_store_memory", LOCAL_OBJECT_STORE_BYTES),
            log_to_driver=False,
            logging_level=logging.WARNING,
            **options,
        )
    finally:
        if previous is not None:
            setattr(constants, "ENABLE_RAY_CLUSTER", previous)  # noqa: B010


class PipelineActor:
    """One Ray actor: a pipeline built once, tasks run on a thread, events kept for the driver.

    Plain class here; `ray.remote` wraps it at run time so importing this module needs no Ray."""

    def __init__(
        self,
        config: PipelineConfig,
        password: str | None,
        root: str,
        run_id: str,
        runtime: Runtime,
    ) -> None:
        os.environ.setdefault("OMP_THREAD_LIMIT", "1")  # OpenMP inside libraries (not our models)
        from pipelines.execution.pipeline import Pipeline

        if runtime.server is not None:  # models on a GPU actor (ray_models.py)
            from pipelines.execution.ray_models import register

            register()

        self.workspace = Workspace(Path(root))
        self.run_id = run_id
        self.pipeline = Pipeline(config, password=password, runtime=runtime)
        self._events: queue.Queue[tuple[str, Any]] = queue.Queue()
        self._thread: threading.Thread | None = None

    def pid(self) -> int:
        """The actor's process id: that it answers at all says the pipeline is built."""
        return os.getpid()

    def start(self, task: list[Job]) -> None:
        if self._thread is not None:
            self._thread.join()  # the previous task has sent its last result already
        self._thread = threading.Thread(target=self._work, args=(task,), daemon=True)
        self._thread.start()

    def events(self, wait_s: float) -> list[tuple[str, Any]]:
        """What happened since the last call: ("progress", position), ("done", JobResult) or
        ("error", message); waits up to `wait_s` for the first."""
        found: list[tuple[str, Any]] = []
        try:
            found.append(self._events.get(timeout=wait_s))
            while True:
                found.append(self._events.get_nowait())
        except queue.Empty:
            return found

    def _work(self, task: list[Job]) -> None:
        try:
            documents = self.pipeline.process_many(
                [(job.path, job.sha256) for job in task],
                on_progress=lambda position, _: self._events.put(("progress", position)),
            )
            for job, document in zip(task, documents, strict=True):
                # Staged before it is reported: a kill after this line loses nothing.
                result_id = stage_bundle(self.workspace, document, self.run_id, job.stored_path)
                self._events.put(("done", _summary(job, result_id, document)))
        except Exception as error:  # a broken workspace, a bug: the driver decides
            self._events.put(("error", f"{type(error).__name__}: {error}"))


class _Actor(TaskClock):
    """The driver's view of one actor: its handle, the task's unfinished documents, the clock
    (the same time limits and wording as a local worker)."""

    def __init__(self, remote_class: Any, args: tuple[Any, ...]) -> None:
        super().__init__()
        self.handle = remote_class.remote(*args)
        self.ready_ref: Any = self.handle.pid.remote()
        self.pid: int | None = None
        self.poll: Any = None  # the outstanding `events` call while a task runs
        self.created = time.monotonic()

    @property
    def ready(self) -> bool:
        return self.pid is not None

    def assign(self, task: list[Job]) -> None:
        self.begin(task)
        self.handle.start.remote(task)
        self.poll = self.handle.events.remote(POLL_S)


class RayExecutor:
    """Runs jobs on `workers` Ray actors; yields a JobResult per job as documents finish.

    `address` (or $RAY_ADDRESS): a cluster to connect to (`ray://head:10001`, `auto`); without
    one, a Ray instance this process already joined is used, else a local one is started on
    loopback for the batch and shut down after it. With a CUDA device every actor reserves a
    GPU (a share of one when there are more actors than GPUs); Ray picks which, so `cuda:N`
    means `cuda` here."""

    def __init__(
        self,
        config: PipelineConfig,
        workspace: Workspace,
        run_id: str,
        workers: int,
        password: str | None = None,
        device: Device = "auto",
        address: str | None = None,
        model_server: bool | None = None,
    ) -> None:
        self.address = address or os.environ.get("RAY_ADDRESS") or None
        self.ray = import_ray(self.address)  # fail before the batch starts, not in its middle
        self.config, self.workspace, self.run_id = config, workspace, run_id
        self.workers = max(1, workers)
        self.password, self.device = password, str(device)
        self.config_hash = config.config_hash()
        # GPU stages on GPU actors: on CUDA the models live in one model-server actor per GPU
        # and the pipeline actors are CPU-only (None: so on CUDA; True forces it on CPUs).
        cuda = self.device.startswith("cuda")
        self.use_model_server = cuda if model_server is None else model_server
        self.servers: list[Any] = []
        self.server_stats: list[ServerStats] = []  # per model-server actor, after run()

    def run(
        self, jobs: list[Job], on_idle: Callable[[], None] | None = None
    ) -> Iterator[JobResult]:
        if not jobs:
            return
        started_ray = self._connect()
        pool: list[_Actor] = []
        try:
            yield from self._schedule(jobs, pool, on_idle)
        finally:
            for actor in pool:
                self._kill(actor, wait=False)
            self._stop_servers()
            if started_ray:
                self.ray.shutdown()

    # -- connection and actors -----------------------------------------------------------------

    def _connect(self) -> bool:
        """Join or start Ray; True when this call did (and so shuts it down after the batch)."""
        ray = self.ray
        if ray.is_initialized():
            return False
        if self.address:
            try:
                ray.init(address=self.address, log_to_driver=False, logging_level=logging.WARNING)
            except Exception as error:
                raise RayExecutorError(
                    f"cannot connect to the Ray cluster at {self.address}: {error}"
                ) from error
        else:
            start_local_ray(ray, num_cpus=self.workers)
        return True

    def _cluster_gpus(self) -> float:
        gpus = float(self.ray.cluster_resources().get("GPU", 0))
        if gpus <= 0:
            raise RayExecutorError(
                f"device {self.device} asked for, but the Ray cluster has no GPUs "
                "(start a GPU worker group, or use --device cpu)"
            )
        return gpus

    def _start_servers(self) -> list[str]:
        """One model-server actor per GPU (one on the CPU when forced); their names. The GPU
        is their reservation; the batching itself is light, so they hold no CPU slot."""
        from pipelines.execution.ray_models import NAMESPACE, ModelServerActor

        cuda = self.device.startswith("cuda")
        count = max(1, int(self._cluster_gpus())) if cuda else 1
        runtime = Runtime(device="cuda" if cuda else "cpu", threads=0 if cuda else 1)
        names = [f"folio-models-{self.run_id}-{i}" for i in range(count)]
        for name in names:
            remote = self.ray.remote(ModelServerActor).options(
                name=name, namespace=NAMESPACE, num_cpus=0, num_gpus=1 if cuda else 0,
                max_restarts=3, max_concurrency=1000,
            )  # fmt: skip
            self.servers.append(remote.remote(runtime))
        return names

    def _stop_servers(self) -> None:
        for server in self.servers:
            with contextlib.suppress(Exception):
                self.server_stats.append(self.ray.get(server.stats.remote(), timeout=10))
            with contextlib.suppress(Exception):
                self.ray.kill(server, no_restart=True)
        self.servers = []

    def _remote_class(self) -> tuple[Any, Callable[[int], tuple[Any, ...]]]:
        """The actor class with its resources, and the arguments of the actor in each slot."""
        local = not self.address
        cuda = self.device.startswith("cuda")
        servers = self._start_servers() if self.use_model_server else []
        if cuda and not servers:
            gpus = self._cluster_gpus()
            # Several actors per GPU share it; floored so that N shares always fit on one GPU.
            share = 1.0 if self.workers <= gpus else math.floor(gpus / self.workers * 1e4) / 1e4
            resources: dict[str, Any] = {"num_cpus": 1, "num_gpus": share}
        else:
            resources = {"num_cpus": 1}
        # A local instance is this machine: each actor gets its share of the cores, as local
        # workers do. On a cluster an actor holds one CPU, so it runs one thread.
        threads = max(1, (os.cpu_count() or 1) // self.workers) if local else 1
        device = cast(Device, "cuda" if cuda else self.device)  # the GPU Ray gave is cuda:0
        runtime = Runtime(device=device, threads=threads)
        remote = self.ray.remote(PipelineActor).options(max_restarts=0, **resources)

        def args(slot: int) -> tuple[Any, ...]:
            slot_runtime = (
                replace(runtime, device="cpu", server=f"ray:{servers[slot % len(servers)]}")
                if servers else runtime
            )  # fmt: skip
            return (self.config, self.password, str(self.workspace.root), self.run_id,
                    slot_runtime)  # fmt: skip

        return remote, args

    def _kill(self, actor: _Actor, wait: bool = True) -> None:
        """Kill an actor; with `wait`, until it is gone, so it can stage nothing afterwards."""
        with contextlib.suppress(Exception):
            self.ray.kill(actor.handle, no_restart=True)
        if wait:
            probe = actor.handle.pid.remote()
            with contextlib.suppress(Exception):  # the expected answer is "actor died"
                self.ray.get(probe, timeout=KILL_WAIT_S)

    # -- scheduling ----------------------------------------------------------------------------

    def _schedule(
        self, jobs: list[Job], pool: list[_Actor], on_idle: Callable[[], None] | None
    ) -> Iterator[JobResult]:
        ray = self.ray
        from ray.exceptions import RayError  # actor died, task raised: all one to us here

        remote, args = self._remote_class()
        pending = list(reversed(jobs))
        deaths: dict[Job, int] = {}  # by the job as first queued (alone=False)
        credited: set[str] = set()  # sha256 of documents already yielded
        failed_starts = 0
        warned_placement = False
        pool.extend(_Actor(remote, args(slot)) for slot in range(min(self.workers, len(jobs))))

        def credit(results: Iterable[JobResult]) -> Iterator[JobResult]:
            for result in results:
                if result.job.sha256 not in credited:
                    credited.add(result.job.sha256)
                    yield result

        while pending or any(actor.jobs for actor in pool):
            for actor in pool:
                if actor.ready and not actor.jobs and pending:
                    actor.assign(self._next_task(pending))
            waitables = [a.ready_ref for a in pool if not a.ready] + [
                a.poll for a in pool if a.poll is not None
            ]
            ready: set[Any] = set()
            if waitables:
                first, _ = ray.wait(waitables, num_returns=1, timeout=TICK_S)
                if first:  # and whatever else is ready by now
                    done, _ = ray.wait(waitables, num_returns=len(waitables), timeout=0)
                    ready = set(done) | set(first)
            else:
                time.sleep(TICK_S)
            for index, actor in enumerate(pool):
                results: list[JobResult] = []
                try:
                    if not actor.ready and actor.ready_ref in ready:
                        actor.pid = ray.get(actor.ready_ref)
                    if actor.poll is not None and actor.poll in ready:
                        events = ray.get(actor.poll)
                        actor.poll = None
                        results = self._apply(actor, events)
                        if actor.jobs:
                            actor.poll = actor.handle.events.remote(POLL_S)
                except (RayError, _TaskError) as error:
                    if isinstance(error, _TaskError):
                        yield from credit(error.results)  # reported before the failure
                    if not actor.ready:
                        failed_starts += 1
                        if failed_starts > MAX_FAILED_STARTS:
                            raise WorkerStartError(
                                f"Ray workers die before they are ready ({_last_line(error)}); "
                                "see the worker logs under /tmp/ray/session_latest/logs"
                            ) from error
                    unfinished = actor.jobs
                    self._kill(actor)
                    pool[index] = _Actor(remote, args(index))
                    if unfinished:
                        yield from credit(
                            self._lost(unfinished, _death_reason(error), pending, deaths)
                        )
                    continue
                yield from credit(results)
                if reason := actor.overdue(self.config.timeout_s, self.config.stall_timeout_s):
                    unfinished = actor.jobs
                    self._kill(actor)
                    pool[index] = _Actor(remote, args(index))
                    yield from credit(self._stopped(unfinished, reason, pending))
            if not warned_placement and not any(a.ready for a in pool):
                waited = time.monotonic() - min(a.created for a in pool)
                if waited > PLACEMENT_WARN_S:
                    warned_placement = True
                    logger.warning(
                        "no Ray worker started in %.0f s; free resources: %s",
                        waited,
                        ray.available_resources(),
                    )
            if on_idle is not None:
                on_idle()

    def _apply(self, actor: _Actor, events: list[tuple[str, Any]]) -> list[JobResult]:
        results: list[JobResult] = []
        for kind, payload in events:
            if kind == "progress":
                actor.progressed = time.monotonic()
            elif kind == "done":
                actor.finished(payload.job)
                results.append(payload)
            elif kind == "error":
                raise _TaskError(payload, results)
        return results

    def _next_task(self, pending: list[Job]) -> list[Job]:
        return next_task(pending, self.workers, self.config.documents_per_batch)

    def _lost(
        self, unfinished: list[Job], reason: str, pending: list[Job], deaths: dict[Job, int]
    ) -> Iterator[JobResult]:
        """The actor died with these documents in hand: credit the ones it staged, retry the
        others once each alone on a fresh actor, fail one that lost its actor twice."""
        retry: list[Job] = []
        for job in unfinished:
            if (staged := self._staged_result(job)) is not None:
                yield staged
                continue
            key = replace(job, alone=False)
            deaths[key] = deaths.get(key, 0) + 1
            if deaths[key] >= 2:
                yield self._fail(job, f"{reason}; its Ray worker died twice while processing it")
            else:
                retry.append(replace(job, alone=True))
        if retry:
            logger.warning("a Ray worker died (%s); retrying %d documents", reason, len(retry))
            pending.extend(reversed(retry))

    def _stopped(
        self, unfinished: list[Job], reason: str, pending: list[Job]
    ) -> Iterator[JobResult]:
        """Over the time limit: like the local executor, one document alone fails with the
        reason, several go back in the queue one per task (less any it staged meanwhile)."""
        left = []
        for job in unfinished:
            if (staged := self._staged_result(job)) is not None:
                yield staged
            else:
                left.append(job)
        yield from stop_task(left, reason, pending, self._fail)

    def _fail(self, job: Job, reason: str) -> JobResult:
        return fail_job(self.workspace, self.config, self.run_id, job, reason)

    def _staged_result(self, job: Job) -> JobResult | None:
        """The job's result if this run already staged it (its actor died after staging, before
        the driver heard): from the staging area, or from the database once the loader took it."""
        result_id = result_id_for(document_id_for(job.sha256), self.config_hash)
        staging = self.workspace.staging
        for entry in staging.entries("results"):
            if entry.key != result_id:
                continue
            payload = staging.read(entry)  # None: loaded and removed meanwhile
            if payload is not None and payload.get("run_id") == self.run_id:
                return _summary(job, result_id, Document.model_validate(payload["document"]))
        try:
            from pipelines.store.database import query

            table = query(
                self.workspace,
                "SELECT document_json FROM results WHERE result_id = ? AND run_id = ?",
                [result_id, self.run_id],
            )
        except Exception as error:  # a locked or missing database: treat as not staged
            logger.warning("cannot look up %s in the workspace: %s", result_id, error)
            return None
        if table.num_rows == 0:
            return None
        document = Document.from_json(table.column("document_json")[0].as_py())
        return _summary(job, result_id, document)


class _TaskError(Exception):
    """An exception inside an actor's task thread, with the results it reported before."""

    def __init__(self, message: str, results: list[JobResult]) -> None:
        super().__init__(message)
        self.results = results


def _last_line(error: BaseException) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[-1] if lines else type(error).__name__


def _death_reason(error: BaseException) -> str:
    if isinstance(error, _TaskError):
        return f"the Ray worker failed: {error}"
    text = str(error)
    detail = text.partition("Worker exit detail:")[2].strip().split(". ")[0]
    base = "the Ray worker process died (killed, out of memory, or its node was lost)"
    return f"{base}: {detail}" if detail else base
