"""Job records in Redis: what a client's job is, where it stands, and its one ending.

A Folio job is one document. Its work runs as RQ jobs (the page stages on the `models` queue,
then the document stages on the `cpu` queue); the record here is what clients see, shared by
every API replica and worker. Every ending (finished, failed, cancelled) goes through `end_job`,
which only the first caller wins (HSETNX on `ended_at`), so a retried or duplicated step can
never end a job twice, count it twice or land its result twice.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from redis import Redis
from redis.exceptions import WatchError

from service import stats

JOB_PREFIX = "folio:job:"
JOB_INDEX = "folio:jobs"  # sorted set: job id by creation time
ACTIVE_PREFIX = "folio:active:"  # set per client key: its queued and running jobs
INDEX_LIMIT = 100_000

State = Literal["queued", "running", "finished", "failed", "cancelled"]
ENDED: tuple[State, ...] = ("finished", "failed", "cancelled")


@dataclass
class JobRecord:
    id: str
    filename: str
    sha256: str
    profile: str
    stored_path: str
    result_id: str
    document_id: str
    client: str
    state: State = "queued"
    step: str = ""
    created_at: float = field(default_factory=time.time)
    started_at: float | None = None
    ended_at: float | None = None
    pages_total: int = 0
    pages_done: int = 0
    status: str = ""  # the document's status once finished: ok, partial, failed
    reason: str = ""  # why it failed or was cancelled
    failure: str = ""  # the reason's class (stats.FAILURE_REASONS)
    rq_job: str = ""
    cached: bool = False  # the same file and profile were done before: nothing ran

    def public(self) -> dict[str, Any]:
        """The job as the API shows it."""

        def iso(t: float | None) -> str | None:
            return datetime.fromtimestamp(t, UTC).isoformat() if t else None

        return {
            "id": self.id,
            "state": self.state,
            "step": self.step or None,
            "filename": self.filename,
            "profile": self.profile,
            "document_id": self.document_id,
            "result_id": self.result_id,
            "status": self.status or None,
            "reason": self.reason or None,
            "failure": self.failure or None,
            "progress": {"pages_done": self.pages_done, "pages_total": self.pages_total},
            "created_at": iso(self.created_at),
            "started_at": iso(self.started_at),
            "ended_at": iso(self.ended_at),
            "cached": self.cached,
        }


_FLOATS = {"created_at", "started_at", "ended_at"}
_INTS = {"pages_total", "pages_done"}


def new_job_id() -> str:
    return uuid.uuid4().hex


def _key(job_id: str) -> str:
    return JOB_PREFIX + job_id


def save_new(redis: Redis, job: JobRecord) -> None:
    values: dict[Any, Any] = {k: _encode(v) for k, v in job.__dict__.items() if v is not None}
    with redis.pipeline() as pipe:
        pipe.hset(_key(job.id), mapping=values)
        pipe.zadd(JOB_INDEX, {job.id: job.created_at})
        pipe.zremrangebyrank(JOB_INDEX, 0, -INDEX_LIMIT - 1)
        pipe.sadd(ACTIVE_PREFIX + job.client, job.id)
        stats.incr(redis, "jobs_submitted", pipe=pipe)
        pipe.execute()


def _encode(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def get(redis: Redis, job_id: str) -> JobRecord | None:
    raw = redis.hgetall(_key(job_id))
    if not raw:
        return None
    values: dict[str, Any] = {}
    for k, v in raw.items():
        name = k.decode() if isinstance(k, bytes) else k
        text = v.decode() if isinstance(v, bytes) else v
        if name in _FLOATS:
            values[name] = float(text)
        elif name in _INTS:
            values[name] = int(text)
        elif name == "cached":
            values[name] = text == "1"
        elif name in JobRecord.__dataclass_fields__:
            values[name] = text
    return JobRecord(**values)


def update(redis: Redis, job_id: str, **values: Any) -> None:
    redis.hset(_key(job_id), mapping={k: _encode(v) for k, v in values.items()})


def recent(redis: Redis, limit: int = 50, state: str | None = None) -> list[JobRecord]:
    """Newest first; with `state`, only jobs in it (scans at most 20x `limit` records)."""
    found = []
    ids: list[Any] = redis.zrevrange(JOB_INDEX, 0, limit * (20 if state else 1) - 1)
    for raw_id in ids:
        job = get(redis, raw_id.decode() if isinstance(raw_id, bytes) else raw_id)
        if job is None or (state and job.state != state):
            continue
        found.append(job)
        if len(found) >= limit:
            break
    return found


def active_count(redis: Redis, client: str) -> int:
    return int(redis.scard(ACTIVE_PREFIX + client))


def end_job(
    redis: Redis,
    job: JobRecord,
    state: State,
    ttl_s: int,
    status: str = "",
    reason: str = "",
    failure: str = "",
    pages: int = 0,
    stage_seconds: dict[str, float] | None = None,
) -> bool:
    """End a job once: False (and nothing changed) when it had already ended.

    One transaction (WATCH the record, MULTI, EXEC): a reader never sees `ended_at` without the
    state it ended in, and of two enders racing, exactly one commits."""
    key = _key(job.id)
    counted = "cancelled" if state == "cancelled" else (status or "failed")
    with redis.pipeline() as pipe:
        while True:
            try:
                pipe.watch(key)
                if pipe.hexists(key, "ended_at"):
                    pipe.unwatch()
                    return False
                now = time.time()
                pipe.multi()
                pipe.hset(
                    key,
                    mapping={
                        "ended_at": f"{now}",
                        "state": state,
                        "status": status,
                        "reason": reason,
                        "failure": failure,
                    },
                )
                pipe.expire(key, ttl_s)
                pipe.srem(ACTIVE_PREFIX + job.client, job.id)
                stats.incr(redis, "jobs_finished", counted, pipe=pipe)
                if failure:
                    stats.incr(redis, "job_failures", failure, pipe=pipe)
                if pages:
                    stats.incr(redis, "pages", amount=pages, pipe=pipe)
                if not job.cached:
                    stats.observe(redis, "job_duration_seconds", now - job.created_at, pipe=pipe)
                for stage, seconds in (stage_seconds or {}).items():
                    stats.observe(redis, "stage_duration_seconds", seconds, stage, pipe=pipe)
                pipe.execute()
                return True
            except WatchError:  # the record changed meanwhile (progress, another ender): again
                continue


def is_ended(redis: Redis, job_id: str) -> bool:
    return bool(redis.hexists(_key(job_id), "ended_at"))
