"""The service's API over fakeredis: jobs end to end, limits, cancel, failures, health."""

from __future__ import annotations

import io
import json
import logging
import time
import zipfile
from pathlib import Path

import fakeredis
import pytest
from fastapi.testclient import TestClient
from rq import Queue
from rq.job import Job as RQJob
from rq.registry import StartedJobRegistry

from pipelines.security.accounts import AccountStore
from pipelines.store.database import query
from pipelines.store.workspace import Workspace
from service import jobs, logs, tasks
from service.control import RQ_HEARTBEAT_SLACK_S, reap_abandoned, rescue_dequeued
from tests.conftest import SAMPLES
from tests.service.conftest import run_steps, tick

INVOICE = SAMPLES / "invoice.pdf"


def submit(client: TestClient, path: Path = INVOICE, **params: str) -> dict:
    with path.open("rb") as handle:
        response = client.post("/v1/jobs", files={"file": (path.name, handle)}, params=params)
    assert response.status_code == 202, response.text
    return response.json()


def sql(client: TestClient, statement: str) -> list[tuple]:
    table = query(client.app.state.workspace, statement)
    return list(zip(*[c.to_pylist() for c in table.columns], strict=True))


def test_a_job_runs_both_steps_and_its_result_is_in_sql(
    client: TestClient, redis: fakeredis.FakeRedis
) -> None:
    job = submit(client)
    assert job["state"] == "queued" and job["progress"]["pages_total"] == 1
    run_steps(redis)
    tick(client)  # the loader moves the staged bundle into the database
    done = client.get(f"/v1/jobs/{job['id']}").json()
    assert (done["state"], done["status"], done["step"]) == ("finished", "ok", "document")
    assert done["progress"] == {"pages_done": 1, "pages_total": 1}

    result = client.get(f"/v1/jobs/{job['id']}/result").json()
    assert result["document_id"] == job["document_id"] and result["source_name"] == "invoice.pdf"
    assert result["entities"], "the document stages ran in the second step"
    markdown = client.get(f"/v1/jobs/{job['id']}/result", params={"format": "markdown"})
    assert markdown.text.startswith("# invoice.pdf") and "INVOICE" in markdown.text
    archive = client.get(f"/v1/jobs/{job['id']}/result", params={"format": "parquet"})
    names = zipfile.ZipFile(io.BytesIO(archive.content)).namelist()
    assert "documents.parquet" in names and "words.parquet" in names

    rows = sql(client, "SELECT source_name, status, run_id FROM documents")
    assert rows == [("invoice.pdf", "ok", tasks.service_run_id("default"))]
    runs = sql(client, "SELECT n_files, n_ok, command FROM runs")
    assert runs == [(1, 1, "folio serve")]


def test_the_same_file_again_is_answered_from_the_workspace(
    client: TestClient, redis: fakeredis.FakeRedis
) -> None:
    first = submit(client)
    run_steps(redis)
    tick(client)
    again = submit(client)
    assert again["state"] == "finished" and again["cached"] is True
    assert again["result_id"] == first["result_id"]
    assert Queue("models", connection=redis).count == 0, "nothing was queued"
    assert client.get(f"/v1/jobs/{again['id']}/result").status_code == 200


def test_limits_refuse_with_the_setting_named(make_client, tmp_path: Path) -> None:
    small = make_client(max_upload_bytes=1000)
    response = small.post("/v1/jobs", files={"file": ("invoice.pdf", INVOICE.read_bytes())})
    assert response.status_code == 413
    assert response.json()["limit"] == "FOLIO_MAX_UPLOAD_BYTES"

    few_jobs = make_client(max_active_jobs_per_key=1)
    store = AccountStore(few_jobs.app.state.workspace.root)  # type: ignore[attr-defined]
    team_a = {"Authorization": f"Bearer {store.create_key('team-a', 'reviewer')[1]}"}
    team_b = {"X-API-Key": store.create_key("team-b", "reviewer")[1]}
    form = {"file": ("form.png", (SAMPLES / "form.png").read_bytes())}
    assert few_jobs.post("/v1/jobs", files=form, headers=team_a).status_code == 202
    response = few_jobs.post("/v1/jobs", files=form, headers=team_a)
    assert response.status_code == 429
    assert response.json()["limit"] == "FOLIO_MAX_ACTIVE_JOBS_PER_KEY"
    other_key = few_jobs.post("/v1/jobs", files=form, headers=team_b)
    assert other_key.status_code == 202, "the limit is per key"


def test_page_limit(make_client, tmp_path: Path) -> None:
    from PIL import Image

    frames = [Image.new("RGB", (200, 100), "white") for _ in range(3)]
    tiff = tmp_path / "three.tiff"
    frames[0].save(tiff, save_all=True, append_images=frames[1:])
    client = make_client(max_pages=2)
    response = client.post("/v1/jobs", files={"file": ("three.tiff", tiff.read_bytes())})
    assert response.status_code == 413, response.text
    assert response.json()["limit"] == "FOLIO_MAX_PAGES" and "3 pages" in response.json()["detail"]


@pytest.mark.parametrize(
    ("name", "content", "says"),
    [
        ("empty.pdf", b"", "empty"),
        ("broken.pdf", b"%PDF-1.7\nnot really a pdf", "broken.pdf"),
        ("notes.txt", b"plain text", "notes.txt"),
    ],
)
def test_unreadable_uploads_fail_at_once_with_a_reason(
    client: TestClient, name: str, content: bytes, says: str
) -> None:
    response = client.post("/v1/jobs", files={"file": (name, content)})
    assert response.status_code == 422
    assert says in response.json()["detail"]


def test_unknown_profile_and_job(client: TestClient) -> None:
    response = client.post(
        "/v1/jobs", files={"file": ("i.pdf", INVOICE.read_bytes())}, params={"profile": "nope"}
    )
    assert response.status_code == 422 and "known:" in response.json()["detail"]
    assert client.get("/v1/jobs/0123").status_code == 404
    assert client.get("/v1/jobs/0123/result").status_code == 404


def test_cancel_a_queued_job(client: TestClient, redis: fakeredis.FakeRedis) -> None:
    job = submit(client)
    cancelled = client.post(f"/v1/jobs/{job['id']}/cancel").json()
    assert cancelled["state"] == "cancelled" and cancelled["reason"]
    assert client.post(f"/v1/jobs/{job['id']}/cancel").status_code == 409
    run_steps(redis)
    tick(client)
    assert sql(client, "SELECT count(*) FROM documents") == [(0,)], "nothing of it landed"
    response = client.get(f"/v1/jobs/{job['id']}/result")
    assert response.status_code == 409 and "cancelled" in response.json()["detail"]


def test_a_duplicated_step_ends_the_job_once(
    client: TestClient, redis: fakeredis.FakeRedis
) -> None:
    """A step retried after its worker died, though it had finished: one ending, one row."""
    job = submit(client)
    Queue("models", connection=redis).enqueue(
        tasks.read_pages, job["id"], _options(client)
    )  # the step twice, as after a worker lost between its work and its acknowledgement
    run_steps(redis)
    tick(client)
    assert client.get(f"/v1/jobs/{job['id']}").json()["state"] == "finished"
    metrics = client.get("/metrics").text
    assert 'folio_jobs_finished_total{status="ok"} 1.0' in metrics
    assert sql(client, "SELECT count(*) FROM documents") == [(1,)]


def _options(client: TestClient) -> dict:
    from dataclasses import asdict

    settings = client.app.state.loop.settings
    return asdict(tasks.StepOptions.of(settings))


def _abandon(redis: fakeredis.FakeRedis, rq_id: str) -> None:
    """Put a step where a killed worker leaves it: started, its heartbeat long gone."""
    rq_job = RQJob.fetch(rq_id, connection=redis)
    queue = Queue(rq_job.origin, connection=redis)
    queue.remove(rq_job)
    rq_job.set_status("started")
    registry = StartedJobRegistry(rq_job.origin, connection=redis)
    stale = time.time() - 1
    redis.zadd(registry.key, {f"{rq_id}:dead-execution": stale})


def test_a_step_whose_worker_died_is_retried(
    client: TestClient, redis: fakeredis.FakeRedis
) -> None:
    job = submit(client)
    _abandon(redis, jobs.get(redis, job["id"]).rq_job)
    assert Queue("models", connection=redis).count == 0
    reap_abandoned(redis)
    assert Queue("models", connection=redis).count == 1, "handed back to the queue"
    run_steps(redis)
    tick(client)
    assert client.get(f"/v1/jobs/{job['id']}").json()["status"] == "ok"


def test_a_step_out_of_retries_fails_the_job_with_its_reason(
    make_client, redis: fakeredis.FakeRedis
) -> None:
    client = make_client(retries=0)
    job = submit(client)
    _abandon(redis, jobs.get(redis, job["id"]).rq_job)
    tick(client)  # reaps, then ends the failed step's job, then loads the failed document
    tick(client)
    failed = client.get(f"/v1/jobs/{job['id']}").json()
    assert (failed["state"], failed["failure"]) == ("failed", "crash")
    assert "worker running it stopped" in failed["reason"]
    rows = sql(client, "SELECT status, errors FROM documents")
    assert rows[0][0] == "failed" and "worker running it stopped" in str(rows[0][1])
    assert 'folio_job_failures_total{reason="crash"} 1.0' in client.get("/metrics").text


def test_a_step_past_its_time_limit_fails_as_timeout(
    make_client, redis: fakeredis.FakeRedis, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Slow:
        def process_many(self, *args: object, **kwargs: object) -> object:
            time.sleep(5)
            raise AssertionError("stopped before")

    monkeypatch.setattr(tasks, "pipeline_for", lambda profile: Slow())
    client = make_client(document_timeout_s=1)
    job = submit(client)
    run_steps(redis)
    tick(client)
    failed = client.get(f"/v1/jobs/{job['id']}").json()
    assert (failed["state"], failed["failure"]) == ("failed", "timeout")
    assert "FOLIO_DOCUMENT_TIMEOUT_S" in failed["reason"]


def test_cached_abandoned_reaper_leaves_live_steps_alone(
    client: TestClient, redis: fakeredis.FakeRedis
) -> None:
    job = submit(client)
    rq_id = jobs.get(redis, job["id"]).rq_job
    rq_job = RQJob.fetch(rq_id, connection=redis)
    Queue("models", connection=redis).remove(rq_job)
    rq_job.set_status("started")
    registry = StartedJobRegistry("models", connection=redis)
    # heartbeat 5 s ago: RQ's entry expires 60 s + the monitoring interval after it
    redis.zadd(registry.key, {f"{rq_id}:live": time.time() - 5 + RQ_HEARTBEAT_SLACK_S + 5})
    reap_abandoned(redis)
    assert Queue("models", connection=redis).count == 0 and registry.count == 1


def test_health_version_metrics_and_openapi(client: TestClient) -> None:
    assert client.get("/livez").status_code == 200
    assert client.get("/readyz").status_code == 503, "not ready before the loop has checked"
    tick(client)
    ready = client.get("/readyz")
    assert ready.status_code == 200, ready.json()
    assert ready.json()["checks"] == {"models": "ok", "queue": "ok", "store": "ok"}
    assert client.get("/version").json()["document_schema"].startswith("folio.document/")
    metrics = client.get("/metrics").text
    for family in (
        "folio_http_requests_total",
        "folio_queue_depth",
        "folio_queue_oldest_job_age_seconds",
        "folio_workers",
        "folio_ready 1.0",
        'folio_job_failures_total{reason="timeout"} 0.0',
    ):
        assert family in metrics, family
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/v1/jobs", "/v1/jobs/{job_id}", "/v1/jobs/{job_id}/result", "/v1/convert"} <= set(
        paths
    )


def test_convert_answers_with_the_result_or_names_its_wait_limit(
    make_client, redis: fakeredis.FakeRedis
) -> None:
    client = make_client(convert_wait_s=0.5)
    response = client.post("/v1/convert", files={"file": ("invoice.pdf", INVOICE.read_bytes())})
    assert response.status_code == 504 and response.json()["limit"] == "FOLIO_CONVERT_WAIT_S"
    (job,) = jobs.recent(redis, 1)
    assert job.state == "cancelled", "a convert that gave up leaves no work running"


def test_server_side_paths_only_inside_allowed_folders(make_client, tmp_path: Path) -> None:
    closed = make_client()
    response = closed.post("/v1/jobs/from-path", json={"path": str(INVOICE)})
    assert response.status_code == 403 and "FOLIO_ALLOWED_PATHS" in response.json()["detail"]
    allowed = make_client(allowed_paths=(SAMPLES,))
    assert allowed.post("/v1/jobs/from-path", json={"path": str(INVOICE)}).status_code == 202
    outside = allowed.post("/v1/jobs/from-path", json={"path": "/etc/passwd"})
    assert outside.status_code == 403


def test_logs_are_json_lines_with_the_request_id(client: TestClient) -> None:
    record = logging.LogRecord("folio.service", logging.INFO, "", 0, "request", None, None)
    token = logs.request_id.set("abc123")
    try:
        line = json.loads(logs.JsonFormatter().format(record))
    finally:
        logs.request_id.reset(token)
    assert line["request_id"] == "abc123" and line["message"] == "request"
    response = client.get("/livez", headers={"x-request-id": "req-7"})
    assert response.headers["x-request-id"] == "req-7"


def test_workspace_is_shared_with_folio_sql(client: TestClient, redis: fakeredis.FakeRedis) -> None:
    submit(client)
    run_steps(redis)
    tick(client)
    ws = Workspace(client.app.state.workspace.root)
    assert query(ws, "SELECT count(*) AS n FROM words").column("n")[0].as_py() > 10


def test_a_step_taken_by_a_worker_that_died_before_starting_it_is_put_back(
    client: TestClient, redis: fakeredis.FakeRedis
) -> None:
    from rq.intermediate_queue import IntermediateQueue

    job = submit(client)
    queue = Queue("models", connection=redis)
    parked = IntermediateQueue(queue.key, connection=redis)
    redis.lmove(queue.key, parked.key)  # what a worker's dequeue does, then it was killed
    assert queue.count == 0
    assert rescue_dequeued(redis) == 0, "first sight: it may be about to start"
    redis.set(parked.get_first_seen_key(jobs.get(redis, job["id"]).rq_job), time.time() - 60)
    assert rescue_dequeued(redis) == 1 and queue.count == 1 and parked.get_job_ids() == []
    run_steps(redis)
    tick(client)
    assert client.get(f"/v1/jobs/{job['id']}").json()["status"] == "ok"


def test_a_step_registered_but_never_started_is_put_back(
    client: TestClient, redis: fakeredis.FakeRedis
) -> None:
    """The worker died between registering the step and its horse marking it started: the
    entry's step still says queued, and RQ's own cleanup would drop it."""
    job = submit(client)
    rq_id = jobs.get(redis, job["id"]).rq_job
    queue = Queue("models", connection=redis)
    queue.remove(rq_id)
    registry = StartedJobRegistry("models", connection=redis)
    redis.zadd(registry.key, {f"{rq_id}:dead-execution": time.time() - 1})
    reap_abandoned(redis)
    assert queue.get_job_ids() == [rq_id] and registry.count == 0
    run_steps(redis)
    tick(client)
    assert client.get(f"/v1/jobs/{job['id']}").json()["status"] == "ok"


def test_metrics_and_readiness_without_redis(make_client) -> None:
    from redis import Redis

    client = make_client()
    client.app.state.loop.redis = Redis.from_url("redis://127.0.0.1:1/0")  # nothing listens
    client.app.state.loop.tick()
    ready = client.get("/readyz")
    assert ready.status_code == 503 and "redis unreachable" in ready.json()["checks"]["queue"]

    from service.api import create_app

    settings = client.app.state.loop.settings
    down = create_app(settings, redis=Redis.from_url("redis://127.0.0.1:1/0"), run_loop=False)
    with TestClient(down) as offline:
        metrics = offline.get("/metrics")
    assert metrics.status_code == 200 and "folio_ready 0.0" in metrics.text


def test_a_running_step_stops_between_pages_once_its_job_is_cancelled(
    client: TestClient, redis: fakeredis.FakeRedis
) -> None:
    job = submit(client)
    tasks._progress(redis, job["id"], 1)  # running: progress recorded
    assert client.get(f"/v1/jobs/{job['id']}").json()["progress"]["pages_done"] == 1
    client.post(f"/v1/jobs/{job['id']}/cancel")
    with pytest.raises(tasks.StepCancelled):
        tasks._progress(redis, job["id"], 2)
