"""GPU stages on GPU actors: the model server as a Ray actor, for the Ray executor.

The same `Batcher` as the local model server (models/model_server.py) holds the sessions of one
GPU; the pipeline actors (CPU only) send their model calls to it through `RaySession`, a drop-in
session registered for `Runtime(server="ray:<actor name>")`. The actor is asynchronous: calls
that arrive within a short window from different pipeline actors are joined into one device
call by the batcher's rule (same model and input shape, never padded together), and the device
work runs on a thread so the actor keeps accepting calls meanwhile.

Imported only where Ray is (the Ray executor and its actors).
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any, cast

import numpy as np

from models.model_server import Batcher, DescribedSession, Request, ServerStats
from models.runtime import REMOTE_SESSIONS, Runtime

SCHEME = "ray"
NAMESPACE = "folio"


class ModelServerActor:
    """Plain class; `ray.remote` wraps it at run time (GPU reserved by the executor)."""

    def __init__(self, runtime: Runtime, max_rows: int = 64, window_ms: float = 2.0) -> None:
        self.batcher = Batcher(runtime, max_rows)
        self.window_s = window_ms / 1000
        self._pending: list[Request] = []
        self._flush: asyncio.Task[None] | None = None
        self._device = threading.Lock()  # one device call at a time (the batcher is not shared)

    def describe(self, path: str) -> dict[str, Any]:
        with self._device:
            return self.batcher.describe(path)

    def stats(self) -> ServerStats:
        return self.batcher.stats

    async def run(
        self, path: str, output_names: list[str] | None, feeds: dict[str, np.ndarray]
    ) -> list[np.ndarray]:
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[tuple[str, Any]] = loop.create_future()

        def reply(status: str, payload: Any) -> None:  # called on the device thread
            loop.call_soon_threadsafe(answer.set_result, (status, payload))

        self._pending.append(Request(path, output_names, feeds, reply))
        if self._flush is None or self._flush.done():
            self._flush = asyncio.create_task(self._run_pending())
        status, payload = await answer
        if status != "ok":
            raise RuntimeError(f"model server: {payload}")
        return payload

    async def _run_pending(self) -> None:
        # Until nothing is left: a call that arrives while the device runs the previous round
        # finds this task still running (so starts none) and must be taken by the next round.
        while self._pending:
            await asyncio.sleep(self.window_s)  # let the other actors' calls of a round arrive
            requests, self._pending = self._pending, []
            await asyncio.to_thread(self._run, requests)

    def _run(self, requests: list[Request]) -> None:
        with self._device:
            self.batcher.run(requests)


class RaySession(DescribedSession):
    """A session whose model lives in a `ModelServerActor`; the calls of onnxruntime's."""

    def __init__(self, actor_name: str, path: Path) -> None:
        import ray

        self.ray, self.path = ray, str(path)
        self.actor = ray.get_actor(actor_name, namespace=NAMESPACE)
        super().__init__(cast("dict[str, Any]", ray.get(self.actor.describe.remote(self.path))))

    def run(self, output_names: list[str] | None, feeds: dict[str, Any]) -> list[np.ndarray]:
        arrays = {name: np.ascontiguousarray(value) for name, value in feeds.items()}
        outputs: Any = self.ray.get(self.actor.run.remote(self.path, output_names, arrays))
        return cast("list[np.ndarray]", outputs)


def register() -> None:
    """Make `Runtime(server="ray:<name>")` reach the named actor (in each pipeline actor)."""
    REMOTE_SESSIONS[SCHEME] = RaySession
