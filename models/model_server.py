"""One process per GPU that owns the models; CPU worker processes send it arrays to run.

On a GPU each worker loading its own copy of every model wastes device memory and leaves the GPU
idle between one worker's small batches. Instead the local executor starts a `ModelServer` per
device; workers keep doing the CPU work (decoding, rendering, text layer, post-processing, NER)
and their model calls become requests to the server (`RemoteSession`, a drop-in for an
onnxruntime session). The server gathers the requests that arrive together from different
workers, joins those for the same model and input shape into one batch (rows of different
shapes are never padded together, so results equal the unbatched ones), runs it and answers
each worker with its rows.

Each worker has at most one request in flight (a call blocks until answered), so the queue is
bounded by the number of workers: CPU work runs ahead of the GPU by at most one batch per
worker. Each worker talks over its own connection, so a worker killed mid-request (timeout,
out of memory) breaks only its own connection, never the server or the other workers.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing as mp
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Client, Connection, Listener, wait
from pathlib import Path
from typing import Any, ClassVar, cast

import numpy as np

from models.runtime import ModelSession, Runtime, session

logger = logging.getLogger(__name__)


class ModelServerError(RuntimeError):
    """The model server failed a request or is gone."""


@dataclass
class ModelStats:
    """Per model: calls run on the device, rows in them, and time the device spent."""

    calls: int = 0
    rows: int = 0
    requests: int = 0
    busy_s: float = 0.0

    @property
    def rows_per_call(self) -> float:
        return self.rows / self.calls if self.calls else 0.0


@dataclass
class ServerStats:
    wall_s: float = 0.0
    models: dict[str, ModelStats] = field(default_factory=lambda: defaultdict(ModelStats))

    def utilisation(self) -> dict[str, float]:
        """Share of the server's wall time each model kept the device busy."""
        return {name: s.busy_s / self.wall_s if self.wall_s else 0.0
                for name, s in self.models.items()}  # fmt: skip


Reply = Callable[[str, Any], None]  # ("ok", output rows) or ("error", reason)


@dataclass
class Request:
    """One worker's model call; `reply` carries the answer back by whatever transport."""

    path: str
    output_names: list[str] | None
    feeds: dict[str, np.ndarray]
    reply: Reply


def _batchable(model: ModelSession) -> bool:
    """Only graphs with a free batch dimension on their one input can join requests."""
    inputs = model.get_inputs()
    return len(inputs) == 1 and not isinstance(inputs[0].shape[0], int)


def _group_key(request: Request) -> tuple[Any, ...]:
    shapes = tuple((name, v.shape[1:], v.dtype.str) for name, v in sorted(request.feeds.items()))
    return (request.path, tuple(request.output_names or ()), shapes)


class Batcher:
    """Sessions by model file on one device, the batching rule and the statistics; the
    transports (a Unix socket per worker here, a Ray actor in the Ray executor) feed it."""

    def __init__(self, runtime: Runtime, max_rows: int) -> None:
        self.runtime, self.max_rows = runtime, max_rows
        self.sessions: dict[str, ModelSession] = {}
        self.stats = ServerStats()

    def session(self, path: str) -> ModelSession:
        if path not in self.sessions:
            self.sessions[path] = session(Path(path), self.runtime)
        return self.sessions[path]

    def describe(self, path: str) -> dict[str, Any]:
        model = self.session(path)
        info = lambda values: [(v.name, list(v.shape)) for v in values]  # noqa: E731
        meta = dict(model.get_modelmeta().custom_metadata_map)
        return {"inputs": info(model.get_inputs()), "outputs": info(model.get_outputs()),
                "meta": meta}  # fmt: skip

    def run_group(self, group: list[Request]) -> None:
        """One device call for requests of one model and shape; each gets its own rows back."""
        first = group[0]
        model = self.session(first.path)
        stats = self.stats.models[Path(first.path).name]
        names = list(first.feeds)
        sizes = [len(r.feeds[names[0]]) for r in group]
        feeds = {n: np.concatenate([r.feeds[n] for r in group]) for n in names}
        started = time.perf_counter()
        outputs = model.run(first.output_names, feeds)
        stats.busy_s += time.perf_counter() - started
        stats.calls += 1
        stats.rows += sum(sizes)
        stats.requests += len(group)
        offsets = np.cumsum([0, *sizes])
        for index, request in enumerate(group):
            request.reply("ok", [out[offsets[index] : offsets[index + 1]] for out in outputs])

    def run(self, requests: list[Request]) -> None:
        """Answer every request: those of one model and shape in shared device calls."""
        groups: dict[tuple[Any, ...], list[Request]] = defaultdict(list)
        for request in requests:
            try:
                batchable = _batchable(self.session(request.path))
            except Exception as error:  # a missing or broken model file fails its requests
                request.reply("error", f"{error}")
                continue
            key = _group_key(request) if batchable else ("alone", id(request))
            groups[key].append(request)
        for group in groups.values():
            for start in range(0, len(group), self.max_rows):
                part = group[start : start + self.max_rows]
                try:
                    self.run_group(part)
                except Exception as error:  # the model failed: each request gets the reason
                    logger.exception("model server: a batch failed")
                    for request in part:
                        request.reply("error", f"{error}")


def _answer(conn: Connection, message: tuple[Any, ...]) -> None:
    with contextlib.suppress(OSError, EOFError):  # the worker is gone (killed): nothing to do
        conn.send(message)


def _replier(conn: Connection, request_id: int) -> Reply:
    return lambda status, payload: _answer(conn, (status, request_id, payload))


def _serve(address: str, ready: Any, runtime: Runtime, max_rows: int, window_s: float) -> None:
    serving = Batcher(runtime, max_rows)
    listener = Listener(address, family="AF_UNIX")
    connections: list[Connection] = []
    new: list[Connection] = []
    lock = threading.Lock()

    def accept() -> None:
        while True:
            try:
                conn = listener.accept()
            except OSError:
                return
            with lock:
                new.append(conn)

    threading.Thread(target=accept, daemon=True).start()
    ready.set()
    started = time.perf_counter()
    stopping = False
    while not stopping:
        with lock:
            connections.extend(new)
            new.clear()
        if not connections:
            time.sleep(0.02)
            continue
        readable = cast("list[Connection]", wait(connections, timeout=0.05))
        if readable and window_s > 0:
            time.sleep(window_s)  # let the other workers' requests of this round arrive
            readable = cast("list[Connection]", wait(connections, timeout=0))
        requests: list[Request] = []
        for conn in readable:
            try:
                message = conn.recv()
            except (EOFError, OSError):
                connections.remove(conn)
                continue
            kind = message[0]
            if kind == "run":
                _, request_id, path, output_names, feeds = message
                requests.append(Request(path, output_names, feeds, _replier(conn, request_id)))
            elif kind == "describe":
                try:
                    _answer(conn, ("ok", message[1], serving.describe(message[2])))
                except Exception as error:
                    _answer(conn, ("error", message[1], f"{error}"))
            elif kind == "stats":
                serving.stats.wall_s = time.perf_counter() - started
                _answer(conn, ("ok", message[1], serving.stats))
            elif kind == "stop":
                stopping = True
        if requests:
            serving.run(requests)
    listener.close()


class ModelServer:
    """Start with `start()`; workers reach it through `Runtime(server=server.address)`."""

    def __init__(
        self, runtime: Runtime, address: str, max_rows: int = 64, window_ms: float = 2.0
    ) -> None:
        if len(address.encode()) > 100:  # the kernel's limit for a Unix socket path is 108
            raise ModelServerError(f"socket path too long for a Unix socket: {address}")
        self.runtime, self.address = runtime, address
        self.max_rows, self.window_s = max_rows, window_ms / 1000
        self._ctx = mp.get_context("spawn")
        self.process: Any = None

    def start(self) -> ModelServer:
        ready = self._ctx.Event()
        self.process = self._ctx.Process(
            target=_serve,
            args=(self.address, ready, self.runtime, self.max_rows, self.window_s),
            daemon=True,
            name="folio-model-server",
        )
        self.process.start()
        deadline = time.monotonic() + 60
        while not ready.wait(0.1):
            if not self.process.is_alive() or time.monotonic() > deadline:
                self.process.kill()
                raise ModelServerError(
                    f"the model server did not start (exit code {self.process.exitcode})"
                )
        return self

    def stats(self) -> ServerStats:
        stats: ServerStats = _Client(self.address).call("stats")
        return stats

    def stop(self) -> None:
        if self.process is None:
            return
        with contextlib.suppress(ModelServerError, OSError):
            client = _Client(self.address)
            client.conn.send(("stop", 0))
        self.process.join(10)
        if self.process.is_alive():
            self.process.kill()
        self.process = None


class _Client:
    def __init__(self, address: str) -> None:
        try:
            self.conn = Client(address, family="AF_UNIX")
        except OSError as error:
            raise ModelServerError(f"cannot reach the model server at {address}: {error}") from None
        self.next_id = 0

    def call(self, kind: str, *args: Any) -> Any:
        self.next_id += 1
        try:
            self.conn.send((kind, self.next_id, *args))
            while True:
                status, request_id, payload = self.conn.recv()
                if request_id == self.next_id:
                    break
        except (EOFError, OSError) as error:
            raise ModelServerError(f"the model server went away: {error}") from None
        if status != "ok":
            raise ModelServerError(payload)
        return payload


@dataclass(frozen=True)
class TensorSpec:
    name: str
    shape: list[int | str]


@dataclass(frozen=True)
class ModelMeta:
    custom_metadata_map: dict[str, str]


class DescribedSession:
    """The graph description part of a session whose model lives elsewhere (a server's
    `describe` answer: inputs, outputs, metadata)."""

    def __init__(self, description: dict[str, Any]) -> None:
        self._inputs = [TensorSpec(n, s) for n, s in description["inputs"]]
        self._outputs = [TensorSpec(n, s) for n, s in description["outputs"]]
        self._meta = ModelMeta(description["meta"])

    def get_inputs(self) -> Sequence[TensorSpec]:
        return self._inputs

    def get_outputs(self) -> Sequence[TensorSpec]:
        return self._outputs

    def get_modelmeta(self) -> ModelMeta:
        return self._meta


class RemoteSession(DescribedSession):
    """A session whose model lives in the model server; the same calls as onnxruntime's."""

    _clients: ClassVar[dict[str, _Client]] = {}  # one connection per server and process
    _lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, address: str, path: Path) -> None:
        self.address, self.path = address, str(path)
        with self._lock:
            if address not in self._clients:
                self._clients[address] = _Client(address)
            description = self._clients[address].call("describe", self.path)
        super().__init__(description)

    def run(self, output_names: list[str] | None, feeds: dict[str, Any]) -> list[np.ndarray]:
        arrays = {name: np.ascontiguousarray(value) for name, value in feeds.items()}
        with self._lock:  # one connection, one request at a time per process
            outputs: list[np.ndarray] = self._clients[self.address].call(
                "run", self.path, output_names, arrays
            )
        return outputs
