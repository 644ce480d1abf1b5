"""The model server: one process owns the models, workers' requests are joined into batches."""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from models.assets import model_path
from models.model_server import ModelServer, ModelServerError, RemoteSession, _Client
from models.runtime import Runtime, session

SAMPLES = Path(__file__).resolve().parents[2] / "data" / "samples"
REC = model_path("ppocr_rec")


@pytest.fixture
def server() -> Iterator[ModelServer]:
    # A wide window makes "requests that arrive together" deterministic in the test; the
    # socket lives in a short folder (pytest's tmp_path can exceed a Unix socket's 108 bytes).
    with tempfile.TemporaryDirectory(prefix="folio-test-") as folder:
        started = ModelServer(Runtime(device="cpu", threads=2), f"{folder}/m.sock",
                              window_ms=300).start()  # fmt: skip
        yield started
        started.stop()


def _rows(width: int, seed: int, n: int = 2) -> np.ndarray:
    return np.random.default_rng(seed).random((n, 3, 48, width), dtype=np.float32)


def test_a_remote_session_answers_like_a_local_one(server: ModelServer) -> None:
    remote = RemoteSession(server.address, REC)
    local = session(REC, Runtime(device="cpu", threads=2))
    rows = _rows(160, 0)
    assert [i.name for i in remote.get_inputs()] == [i.name for i in local.get_inputs()]
    assert remote.get_modelmeta().custom_metadata_map == local.get_modelmeta().custom_metadata_map
    np.testing.assert_allclose(remote.run(None, {"x": rows})[0], local.run(None, {"x": rows})[0],
                               atol=1e-6)  # fmt: skip


def _send_together(
    server: ModelServer, batches: list[np.ndarray], model: Path = REC, name: str = "x"
) -> list[np.ndarray]:
    """Several workers' requests in flight at once, each on its own connection and thread
    (as worker processes: each sends one request and reads its answer)."""
    clients = [_Client(server.address) for _ in batches]
    with ThreadPoolExecutor(len(batches)) as pool:
        answers = pool.map(
            lambda pair: pair[0].call("run", str(model), None, {name: pair[1]})[0],
            zip(clients, batches, strict=True),
        )
        return list(answers)


def test_requests_of_one_shape_from_several_workers_share_one_call(server: ModelServer) -> None:
    batches = [_rows(160, seed) for seed in range(3)]
    answers = _send_together(server, batches)
    stats = server.stats().models[REC.name]
    assert (stats.calls, stats.rows, stats.requests) == (1, 6, 3)
    local = session(REC, Runtime(device="cpu", threads=2))
    for rows, answer in zip(batches, answers, strict=True):  # each got its own rows back
        np.testing.assert_allclose(answer, local.run(None, {"x": rows})[0], atol=1e-5)


def test_different_shapes_are_never_padded_together(server: ModelServer) -> None:
    _send_together(server, [_rows(160, 0), _rows(320, 1)])
    stats = server.stats().models[REC.name]
    assert (stats.calls, stats.requests) == (2, 2)


def test_a_fixed_batch_model_is_run_request_by_request(server: ModelServer) -> None:
    image = np.zeros((1, 3, 800, 608), dtype=np.float32)
    answers = _send_together(server, [image, image], model_path("layout_cdla"), "image")
    assert [a.shape for a in answers] == [(1, 7600, 10)] * 2
    assert server.stats().models["layout_cdla.onnx"].calls == 2


def _request_then_hang(address: str) -> None:
    client = _Client(address)
    client.conn.send(("run", 1, str(REC), None, {"x": _rows(960, 5, n=16)}))
    time.sleep(60)


def test_a_worker_killed_mid_request_leaves_the_server_serving(server: ModelServer) -> None:
    ctx = mp.get_context("spawn")
    doomed = ctx.Process(target=_request_then_hang, args=(server.address,))
    doomed.start()
    time.sleep(1.0)
    assert doomed.pid is not None
    os.kill(doomed.pid, signal.SIGKILL)
    doomed.join()
    answer = RemoteSession(server.address, REC).run(None, {"x": _rows(160, 0)})
    assert answer[0].shape[0] == 2


def test_a_broken_model_file_fails_its_request_with_the_reason(
    server: ModelServer, tmp_path: Path
) -> None:
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"not a model")
    with pytest.raises(ModelServerError):
        RemoteSession(server.address, broken)
    assert RemoteSession(server.address, REC).run(None, {"x": _rows(160, 0)})[0].shape[0] == 2


def test_the_executor_through_a_model_server_gives_the_same_documents(tmp_path: Path) -> None:
    from pipelines.execution.batch import run_batch
    from pipelines.execution.config import load_profile
    from pipelines.store.database import query
    from pipelines.store.workspace import Workspace

    files = [SAMPLES / "receipt.jpg", SAMPLES / "form.png"]
    texts = {}
    for use in (False, True):
        workspace = Workspace.open(tmp_path / f"ws-{use}")
        summary = run_batch(files, load_profile("text"), workspace, workers=2,
                            model_server=use)  # fmt: skip
        assert summary.statuses["ok"] == 2
        if use:
            calls = {name: s.calls for st in summary.model_stats for name, s in st.models.items()}
            assert calls["PP-OCRv6_det_small.onnx"] >= 2 and calls["PP-OCRv6_rec_small.onnx"] >= 2
        texts[use] = query(workspace, "select text from lines order by text").column(0).to_pylist()
    assert texts[True] and texts[True] == texts[False]


def test_the_ray_model_actor_answers_a_call_that_arrives_while_the_device_is_busy() -> None:
    """The asyncio batcher of the Ray executor's model actor (run here without Ray): a call
    made while the previous round is on the device must be taken by a next round."""
    import asyncio
    import threading

    from pipelines.execution.ray_models import ModelServerActor

    actor = ModelServerActor(Runtime(device="cpu", threads=2), window_ms=1)
    on_device, release = threading.Event(), threading.Event()
    run = actor.batcher.run

    def slow_first_round(requests: list) -> None:
        if not on_device.is_set():
            on_device.set()
            release.wait(10)
        run(requests)

    actor.batcher.run = slow_first_round  # type: ignore[method-assign]

    async def scenario() -> list:
        first = asyncio.create_task(actor.run(str(REC), None, {"x": _rows(160, 0)}))
        while not on_device.is_set():
            await asyncio.sleep(0.01)
        second = asyncio.create_task(actor.run(str(REC), None, {"x": _rows(160, 1)}))
        await asyncio.sleep(0.05)  # the second call is queued while the first is on the device
        release.set()
        return await asyncio.wait_for(asyncio.gather(first, second), timeout=30)

    answers = asyncio.run(scenario())
    assert [a[0].shape[0] for a in answers] == [2, 2]
    assert actor.stats().models[REC.name].calls == 2
