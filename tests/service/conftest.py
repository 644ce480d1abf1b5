"""Service fixtures: Redis in memory (fakeredis), the API under FastAPI's test client with the
queue loop driven by hand, and an in-process RQ worker that runs the queued steps."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import fakeredis
import pytest
from fastapi.testclient import TestClient
from rq import Queue, SimpleWorker

from service.api import create_app
from service.settings import ServiceSettings
from service.tasks import QUEUES


@pytest.fixture()
def redis() -> fakeredis.FakeRedis:
    return fakeredis.FakeRedis()


@pytest.fixture()
def make_client(tmp_path: Path, redis: fakeredis.FakeRedis) -> Iterator[Callable[..., TestClient]]:
    clients: list[TestClient] = []

    def make(**settings: Any) -> TestClient:
        values = {"workspace": tmp_path / "ws", "profile": "default", **settings}
        app = create_app(ServiceSettings(**values), redis=redis, run_loop=False)
        client = TestClient(app)
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture()
def client(make_client: Callable[..., TestClient]) -> TestClient:
    return make_client()


def run_steps(redis: fakeredis.FakeRedis) -> None:
    """Every queued step, in this process, until both queues are empty (burst)."""
    queues = [Queue(name, connection=redis) for name in QUEUES]
    SimpleWorker(queues, connection=redis).work(burst=True)


def tick(client: TestClient) -> None:
    """One pass of the API's queue loop (reaping, failed steps, loading, readiness)."""
    client.app.state.loop.tick()  # type: ignore[attr-defined]
