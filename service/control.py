"""The API process's queue loop: ends jobs whose steps failed for good, hands abandoned steps
(their worker died) back to the queue, keeps the workspace loaded, and says whether the service
is ready. One pass is cheap and idempotent; every API replica runs it (their loads serialise
on the workspace's loader lock; a job ends once whoever sees its failure first)."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field

from redis import Redis
from redis.exceptions import RedisError
from rq import Queue
from rq.exceptions import NoSuchJobError
from rq.intermediate_queue import IntermediateQueue
from rq.job import Job as RQJob
from rq.job import JobStatus
from rq.registry import FailedJobRegistry, StartedJobRegistry

from pipelines.execution.config import model_file_problems
from pipelines.store.database import StoreBusyError, query
from pipelines.store.loader import load_best_effort
from pipelines.store.workspace import Workspace
from service import jobs
from service.settings import ServiceSettings
from service.tasks import QUEUES, StepOptions, fail

logger = logging.getLogger(__name__)

# RQ keeps a running step's entry alive for `job_monitoring_interval` + 60 s past each
# heartbeat; a step not heard of for ABANDONED_AFTER_S lost its worker (kill -9, OOM, node lost).
RQ_HEARTBEAT_SLACK_S = 60
ABANDONED_AFTER_S = 20
JOB_MONITORING_INTERVAL_S = 5  # workers heartbeat a running step this often
LOOP_INTERVAL_S = 1.0


def reap_abandoned(redis: Redis) -> None:
    """Steps whose worker stopped heartbeating are retried (or failed when out of retries).

    A worker killed between registering a step and its work horse marking it started leaves
    an entry whose step still says `queued`; RQ's cleanup would drop that entry and the step
    with it, so such steps go back to the front of their queue first."""
    cutoff = time.time() + RQ_HEARTBEAT_SLACK_S - ABANDONED_AFTER_S
    for name in QUEUES:
        queue = Queue(name, connection=redis)
        registry = StartedJobRegistry(name, connection=redis)
        expired: list[bytes] = redis.zrangebyscore(registry.key, 0, cutoff)  # type: ignore[assignment]
        for entry in expired:
            step_id = entry.decode().split(":")[0]
            step = queue.fetch_job(step_id)
            if step is not None and step.get_status() == JobStatus.QUEUED:
                redis.zrem(registry.key, entry)
                if step_id not in queue.get_job_ids():
                    queue.enqueue_job(step, at_front=True)
        registry.cleanup(timestamp=cutoff)


def rescue_dequeued(redis: Redis) -> int:
    """Steps a worker took off the queue but died before starting (RQ parks them in an
    intermediate list that only a live worker's hourly maintenance would clean) go back to the
    front of their queue; returns how many."""
    rescued = 0
    for name in QUEUES:
        queue = Queue(name, connection=redis)
        parked = IntermediateQueue(queue.key, connection=redis)
        started = StartedJobRegistry(name, connection=redis)
        for step_id in parked.get_job_ids():
            if step_id in started or parked.set_first_seen(step_id):
                continue  # running, or seen for the first time now
            first_seen = parked.get_first_seen(step_id)
            if first_seen is None or time.time() - first_seen.timestamp() < ABANDONED_AFTER_S:
                continue
            parked.remove(step_id)
            step = queue.fetch_job(step_id)
            if step is not None:
                queue.enqueue_job(step, at_front=True)
                rescued += 1
    return rescued


def failure_of(rq_job: RQJob, attempts: int) -> tuple[str, str]:
    """(reason class, readable reason) of a step that failed for good after `attempts` tries."""
    result = rq_job.latest_result()
    text = (result.exc_string if result is not None else None) or ""
    tries = f"tried {attempts} time{'s' if attempts > 1 else ''}"
    if "AbandonedJobError" in text or "terminated unexpectedly" in text or "killed" in text:
        return "crash", (
            f"the worker running it stopped (killed, out of memory or its machine lost); {tries}"
        )
    last = [line for line in text.strip().splitlines() if line.strip()]
    return "error", (last[-1] if last else "the step failed without a message")


def end_failed_steps(redis: Redis, settings: ServiceSettings) -> int:
    """Jobs whose step failed for good end as failed, with the reason; returns how many."""
    ended = 0
    for name in QUEUES:
        registry = FailedJobRegistry(name, connection=redis)
        for rq_id in registry.get_job_ids():
            try:
                rq_job = RQJob.fetch(rq_id, connection=redis)
            except NoSuchJobError:
                registry.remove(rq_id)
                continue
            job = jobs.get(redis, str(rq_job.meta.get("folio_job", "")))
            if job is not None and job.ended_at is None:
                failure, reason = failure_of(rq_job, settings.retries + 1)
                fail(redis, StepOptions.of(settings), job, failure, reason)
                ended += 1
            registry.remove(rq_job)
    return ended


def queue_depths(redis: Redis) -> dict[str, tuple[int, float]]:
    """queue -> (jobs waiting, age in seconds of the oldest)."""
    depths = {}
    for name in QUEUES:
        queue = Queue(name, connection=redis)
        count = queue.count
        age = 0.0
        if count:
            first = queue.get_job_ids(0, 0)
            oldest = RQJob.fetch(first[0], connection=redis) if first else None
            if oldest is not None and oldest.enqueued_at is not None:
                age = max(0.0, time.time() - oldest.enqueued_at.timestamp())
        depths[name] = (count, age)
    return depths


@dataclass
class Readiness:
    ready: bool = False
    checks: dict[str, str] = field(default_factory=dict)


class QueueLoop:
    """The background thread of the API process (started and stopped with the app)."""

    def __init__(self, redis: Redis, settings: ServiceSettings, workspace: Workspace) -> None:
        self.redis = redis
        self.settings = settings
        self.workspace = workspace
        self.readiness = Readiness(checks={"loop": "starting"})
        self.last_tick = 0.0
        self._models: list[str] | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="folio-queue-loop", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        self._stop.set()
        self._thread.join(timeout_s)

    def alive(self, max_age_s: float = 30.0) -> bool:
        return self._thread.is_alive() and time.time() - self.last_tick < max_age_s

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.tick()
            except Exception:  # the loop must outlive any one failure (it is /livez)
                logger.exception("queue loop pass failed")
            self._stop.wait(LOOP_INTERVAL_S)

    def tick(self) -> None:
        checks = {}
        if self._models is None:
            self._models = model_file_problems()
        checks["models"] = "; ".join(self._models) or "ok"
        try:
            self.redis.ping()
            reap_abandoned(self.redis)
            rescue_dequeued(self.redis)
            end_failed_steps(self.redis, self.settings)
            checks["queue"] = "ok"
        except RedisError as error:
            checks["queue"] = f"redis unreachable: {error}"
        if not self.workspace.staging.is_empty():
            load_best_effort(self.workspace, wait_s=1.0)
        checks["store"] = store_check(self.workspace)
        self.readiness = Readiness(all(v == "ok" for v in checks.values()), checks)
        self.last_tick = time.time()


def store_check(workspace: Workspace) -> str:
    try:
        query(workspace, "SELECT count(*) FROM documents")
    except StoreBusyError:
        return "ok"  # a writer holds it for a moment: reachable
    except Exception as error:
        return f"workspace database unreadable: {error}"
    return "ok"
