"""The service for real on loopback: Redis, the API under uvicorn, two workers; 50 documents
submitted at once, one worker killed (with its work horse) in the middle of a step. Every job
must end exactly once, finished, with its result in SQL once."""

from __future__ import annotations

import random
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from redis import Redis
from rq.job import Job as RQJob
from rq.worker import Worker

from pipelines.store.database import query
from pipelines.store.workspace import Workspace
from service.loopback import LocalStack, local_stack, redis_server
from tests.conftest import SAMPLES
from tests.invoice_generator import write_set

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(redis_server() is None, reason="redis-server is not installed"),
]

N_INVOICES = 45
N_SCANS = 5


def documents(folder: Path) -> list[Path]:
    write_set(folder / "invoices", N_INVOICES)
    paths = sorted((folder / "invoices" / "docs").glob("*.pdf"))
    receipt = np.asarray(Image.open(SAMPLES / "receipt.jpg").convert("RGB"))
    for k in range(N_SCANS):  # distinct bytes: the same receipt, one pixel changed
        pixels = receipt.copy()
        pixels[k, k] = (k * 40) % 256
        path = folder / f"receipt-{k}.png"
        Image.fromarray(pixels).save(path)
        paths.append(path)
    return paths


def test_fifty_jobs_one_worker_killed_every_job_ends_once(tmp_path: Path) -> None:
    files = documents(tmp_path / "in")
    workspace = tmp_path / "ws"
    with local_stack(workspace, workers=2) as stack:
        with ThreadPoolExecutor(16) as pool:
            submitted = list(pool.map(stack.submit, files))
        ids = [job["id"] for job in submitted]
        assert len(set(ids)) == len(files)

        redis = Redis.from_url(stack.redis_url)
        victim, victim_step = _kill_during_a_scan(stack, redis)
        killed_while = RQJob.fetch(victim_step, connection=redis).get_status()
        print(f"killed {victim} while its step {victim_step} was {killed_while}")

        ended = stack.wait_ended(ids, timeout_s=240)
        stuck = [stack.get(f"/v1/jobs/{i}") for i in ids if i not in ended]
        assert not stuck, f"jobs never ended: {stuck}"
        states = {job["state"] for job in ended.values()}
        assert states == {"finished"}, {
            j["id"]: j["reason"] for j in ended.values() if j["state"] != "finished"
        }
        assert {job["status"] for job in ended.values()} == {"ok"}
        if killed_while == "started":  # lost mid-step: ran again, counted as one retry
            assert RQJob.fetch(victim_step, connection=redis).retries_left == 1
        # (else the worker died between taking the step and starting it: put back as it was)

        metrics = stack.metrics()
        finished = sum(v for k, v in metrics.items() if k.startswith("folio_jobs_finished_total"))
        assert finished == len(files), "each job counted once"
        assert metrics["folio_jobs_submitted_total"] == len(files)

        deadline = time.monotonic() + 30
        ws = Workspace(workspace)
        while time.monotonic() < deadline:
            loaded = query(ws, "SELECT count(*) AS n FROM documents").column("n")[0].as_py()
            if loaded == len(files):
                break
            time.sleep(0.5)
    table = query(
        ws, "SELECT result_id, count(*) AS n FROM results GROUP BY result_id HAVING n > 1"
    )
    assert table.num_rows == 0, "no result twice"
    assert query(ws, "SELECT count(*) AS n FROM documents").column("n")[0].as_py() == len(files)
    runs = query(ws, "SELECT n_files, n_ok FROM runs WHERE command = 'folio serve'")
    assert runs.to_pylist() == [{"n_files": len(files), "n_ok": len(files)}]
    words = query(ws, "SELECT count(*) AS n FROM words").column("n")[0].as_py()
    assert words > 50 * len(files) / 2


def _kill_during_a_scan(stack: LocalStack, redis: Redis) -> tuple[str, str]:
    """Kill the first worker seen taking the page step of a scan (about a second of OCR), at
    a random point between taking the step and the middle of its work."""
    pids = {process.pid: name for name, process in stack.processes.items()}
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        for worker in Worker.all(connection=redis):
            step_id = worker.get_current_job_id()
            if not step_id or worker.pid not in pids:
                continue
            step = RQJob.fetch(step_id, connection=redis)
            job = stack.get(f"/v1/jobs/{step.args[0]}")
            if step.func_name.endswith("read_pages") and job["filename"].endswith(".png"):
                time.sleep(random.uniform(0, 0.8))  # anywhere from taking it to mid-OCR
                stack.kill(pids[worker.pid])
                return pids[worker.pid], step_id
        time.sleep(0.02)
    raise AssertionError("no worker was seen on a scan's page step")
