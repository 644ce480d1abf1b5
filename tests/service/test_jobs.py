"""Ending a job: one transaction, so readers never see it half-ended and one ender wins."""

from __future__ import annotations

import threading

import fakeredis

from service import jobs, stats


def _job(redis: fakeredis.FakeRedis) -> jobs.JobRecord:
    job = jobs.JobRecord(
        id=jobs.new_job_id(),
        filename="a.pdf",
        sha256="0" * 64,
        profile="default",
        stored_path="/x",
        result_id="r",
        document_id="d",
        client="local-x",
        state="running",
    )
    jobs.save_new(redis, job)
    return job


def test_racing_enders_end_a_job_once_and_readers_never_see_it_half_ended() -> None:
    redis = fakeredis.FakeRedis()
    job = _job(redis)
    seen: list[tuple[float | None, str]] = []
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            record = jobs.get(redis, job.id)
            assert record is not None
            seen.append((record.ended_at, record.state))

    def end(state: str) -> None:
        wins.append(jobs.end_job(redis, job, state, 60, status="ok" if state == "finished" else ""))

    wins: list[bool] = []
    reader = threading.Thread(target=read)
    reader.start()
    enders = [threading.Thread(target=end, args=(s,)) for s in ["finished", "cancelled"] * 8]
    for thread in enders:
        thread.start()
    for thread in enders:
        thread.join()
    stop.set()
    reader.join()

    assert wins.count(True) == 1
    final = jobs.get(redis, job.id)
    assert final is not None and final.state in ("finished", "cancelled") and final.ended_at
    assert all(state != "running" for ended_at, state in seen if ended_at), "half-ended seen"
    finished = {k: v for k, v in stats.counters(redis).items() if k[0] == "jobs_finished"}
    assert sum(finished.values()) == 1


class _Recording(fakeredis.FakeRedis):
    """Snapshots the job record after every command sent outside a transaction: what any
    reader could have seen between two of them."""

    watched = ""
    snapshots: list[dict[bytes, bytes]]

    def execute_command(self, *args, **options):  # type: ignore[no-untyped-def]
        result = super().execute_command(*args, **options)
        if self.watched and args[0] != "HGETALL":
            self.snapshots.append(super().execute_command("HGETALL", self.watched))
        return result


def test_no_command_boundary_shows_an_ended_job_without_its_state() -> None:
    redis = _Recording()
    redis.snapshots = []
    job = _job(redis)
    redis.watched = jobs._key(job.id)
    assert jobs.end_job(redis, job, "finished", 60, status="ok")
    half = [s for s in redis.snapshots if b"ended_at" in s and s.get(b"state") != b"finished"]
    assert not half, half
    record = jobs.get(redis, job.id)
    assert record is not None and (record.state, record.status) == ("finished", "ok")
