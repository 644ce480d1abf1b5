"""Service metrics kept in Redis, so every API replica reports the same global figures and a
worker's work horse (a forked child that exits after its job) loses nothing.

Workers and the API write counters and histogram buckets with HINCRBY; `/metrics` reads them
through a Prometheus collector. Label values are bounded: job statuses, failure reasons, queue
names and the profile's stage names.
"""

from __future__ import annotations

import bisect
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector
from redis import Redis
from redis.exceptions import RedisError
from rq import Worker

logger = logging.getLogger(__name__)

PREFIX = "folio:stats:"
COUNTERS = PREFIX + "counters"
WORKERS = PREFIX + "workers"  # hash: worker name -> "rss_bytes heartbeat_unix"
WORKER_STALE_S = 120.0  # a worker not heard of this long is gone (its row is dropped)

JOB_BUCKETS = (0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1800)
STAGE_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
HISTOGRAMS = {"job_duration_seconds": JOB_BUCKETS, "stage_duration_seconds": STAGE_BUCKETS}

STATUSES = ("ok", "partial", "failed", "cancelled")
FAILURE_REASONS = ("timeout", "crash", "unreadable", "limit", "error")


def _field(name: str, label: str) -> str:
    return f"{name}|{label}"


def incr(redis: Redis, name: str, label: str = "", amount: int = 1, pipe: Any = None) -> None:
    (pipe or redis).hincrby(COUNTERS, _field(name, label), amount)


def observe(redis: Redis, name: str, seconds: float, label: str = "", pipe: Any = None) -> None:
    """One observation into a Redis histogram: its bucket's count, the sum and the count."""
    buckets = HISTOGRAMS[name]
    index = bisect.bisect_left(buckets, seconds)
    bucket = str(buckets[index]) if index < len(buckets) else "+Inf"
    key = PREFIX + name
    target = pipe or redis
    target.hincrby(key, _field(label, bucket), 1)
    target.hincrbyfloat(key, _field(label, "sum"), seconds)
    target.hincrby(key, _field(label, "count"), 1)


def report_worker(redis: Redis, name: str, rss_bytes: int) -> None:
    redis.hset(WORKERS, name, f"{rss_bytes} {time.time():.3f}")


def forget_worker(redis: Redis, name: str) -> None:
    redis.hdel(WORKERS, name)


def _decode(mapping: Mapping[Any, Any]) -> dict[str, str]:
    return {
        (k.decode() if isinstance(k, bytes) else k): (v.decode() if isinstance(v, bytes) else v)
        for k, v in mapping.items()
    }


def counters(redis: Redis) -> dict[tuple[str, str], float]:
    values = {}
    for field, value in _decode(redis.hgetall(COUNTERS)).items():
        name, _, label = field.partition("|")
        values[(name, label)] = float(value)
    return values


def histogram(redis: Redis, name: str) -> dict[str, tuple[list[tuple[str, float]], float]]:
    """label -> (cumulative buckets as Prometheus wants them, sum)."""
    raw: dict[str, dict[str, float]] = {}
    for field, value in _decode(redis.hgetall(PREFIX + name)).items():
        label, _, part = field.rpartition("|")
        raw.setdefault(label, {})[part] = float(value)
    families = {}
    for label, parts in raw.items():
        running = 0.0
        buckets = []
        for bound in [*map(str, HISTOGRAMS[name]), "+Inf"]:
            running += parts.get(bound, 0.0)
            buckets.append((bound, running))
        families[label] = (buckets, parts.get("sum", 0.0))
    return families


def workers(redis: Redis, now: float | None = None) -> dict[str, tuple[int, float]]:
    """Live workers: name -> (RSS bytes, seconds since their last report); stale rows dropped."""
    now = time.time() if now is None else now
    alive = {}
    for name, value in _decode(redis.hgetall(WORKERS)).items():
        rss, _, beat = value.partition(" ")
        age = now - float(beat)
        if age > WORKER_STALE_S:
            redis.hdel(WORKERS, name)
            continue
        alive[name] = (int(rss), age)
    return alive


class RedisCollector(Collector):
    """The Redis-held families plus queue gauges computed at scrape time; with Redis out of
    reach only `folio_ready` (then 0), so Prometheus still sees the replica and why."""

    def __init__(
        self, redis: Redis, gauges: Callable[[], Iterable[Any]], ready: Callable[[], bool]
    ) -> None:
        self.redis = redis
        self.gauges = gauges
        self.ready = ready

    def collect(self) -> Iterator[Any]:
        try:
            yield from self._from_redis()
        except RedisError as error:
            logger.warning("metrics without Redis: %s", error)
        ready = GaugeMetricFamily("folio_ready", "1 while /readyz answers 200.")
        ready.add_metric([], 1.0 if self.ready() else 0.0)
        yield ready

    def _from_redis(self) -> Iterator[Any]:
        values = counters(self.redis)
        yield _counter(
            "folio_jobs_submitted", "Jobs accepted by the API.", values, "jobs_submitted"
        )
        yield _counter(
            "folio_jobs_finished",
            "Jobs ended, by status.",
            values,
            "jobs_finished",
            "status",
            STATUSES,
        )
        yield _counter(
            "folio_job_failures",
            "Failed jobs by reason.",
            values,
            "job_failures",
            "reason",
            FAILURE_REASONS,
        )
        yield _counter("folio_pages_processed", "Pages of finished jobs.", values, "pages")
        job = HistogramMetricFamily(
            "folio_job_duration_seconds", "Submit to end of a job.", labels=[]
        )
        for buckets, total in histogram(self.redis, "job_duration_seconds").values():
            job.add_metric([], buckets, total)
        yield job
        stage = HistogramMetricFamily(
            "folio_stage_duration_seconds", "Time of one stage on one document.", labels=["stage"]
        )
        for label, (buckets, total) in sorted(
            histogram(self.redis, "stage_duration_seconds").items()
        ):
            stage.add_metric([label], buckets, total)
        yield stage
        rss = GaugeMetricFamily(
            "folio_worker_rss_bytes", "Worker RSS (with its job).", labels=["worker"]
        )
        beat = GaugeMetricFamily(
            "folio_worker_heartbeat_age_seconds",
            "Seconds since the worker last reported.",
            labels=["worker"],
        )
        registered = {worker.name for worker in Worker.all(connection=self.redis)}
        for name, (rss_bytes, age) in sorted(workers(self.redis).items()):
            if name not in registered:  # gone (recycled, killed): its row ages out
                continue
            rss.add_metric([name], rss_bytes)
            beat.add_metric([name], age)
        yield rss
        yield beat
        yield from self.gauges()


def _counter(
    name: str,
    help_text: str,
    values: Mapping[tuple[str, str], float],
    key: str,
    label: str | None = None,
    label_values: Iterable[str] = (),
) -> CounterMetricFamily:
    family = CounterMetricFamily(name, help_text, labels=[label] if label else [])
    if label is None:
        family.add_metric([], values.get((key, ""), 0.0))
        return family
    for value in label_values:  # every series exists from the start (rate() needs a zero)
        family.add_metric([value], values.get((key, value), 0.0))
    return family
