"""The whole service on loopback, for the integration test and the load benchmark: a private
Redis server, `folio serve` under uvicorn and N `folio worker` processes, each in its own
process group so a test can kill one (work horse included) like a lost machine."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class StackError(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def redis_server() -> str | None:
    return shutil.which("redis-server")


@dataclass
class LocalStack:
    workspace: Path
    workers: int = 2
    profile: str = "default"
    env: dict[str, str] = field(default_factory=dict)
    logs: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="folio-stack-")))
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.redis_port = free_port()
        self.api_port = free_port()
        self.redis_url = f"redis://127.0.0.1:{self.redis_port}/0"
        self.base = f"http://127.0.0.1:{self.api_port}"

    def _environment(self) -> dict[str, str]:
        return {
            **os.environ,
            "FOLIO_REDIS_URL": self.redis_url,
            "FOLIO_WORKSPACE": str(self.workspace),
            "FOLIO_PROFILE": self.profile,
            **self.env,
        }

    def _start(self, name: str, command: list[str]) -> None:
        log = (self.logs / f"{name}.log").open("wb")
        self.processes[name] = subprocess.Popen(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=self._environment(),
            start_new_session=True,
        )

    def start(self, timeout_s: float = 120.0) -> LocalStack:
        server = redis_server()
        if server is None:
            raise StackError("redis-server is not installed (Debian package redis-server)")
        self._start(
            "redis",
            [
                server,
                "--port",
                str(self.redis_port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
        )
        folio = [sys.executable, "-m", "service.cli"]
        self._start("api", [*folio, "serve", "--port", str(self.api_port)])
        for index in range(self.workers):
            self.start_worker(f"worker-{index}")
        self.wait_ready(timeout_s)
        return self

    def start_worker(self, name: str) -> None:
        folio = [sys.executable, "-m", "service.cli"]
        threads = max(1, (os.cpu_count() or 1) // max(1, self.workers))  # as the batch does
        self._start(
            name,
            [
                *folio,
                "worker",
                "--threads",
                str(threads),
                "--heartbeat-file",
                str(self.logs / f"{name}.alive"),
            ],
        )

    def wait_ready(self, timeout_s: float) -> None:
        """Until /readyz answers 200 and every worker has warmed up and registered."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for name, process in self.processes.items():
                if process.poll() is not None:
                    raise StackError(f"{name} exited: {self.log(name)[-2000:]}")
            with contextlib.suppress(OSError, StackError):
                if self.get("/readyz")["ready"] and self.busy_workers(any_state=True) >= len(
                    [n for n in self.processes if n.startswith("worker")]
                ):
                    return
            time.sleep(0.5)
        raise StackError(f"the stack was not ready in {timeout_s:.0f} s; logs in {self.logs}")

    def log(self, name: str) -> str:
        return (self.logs / f"{name}.log").read_text(errors="replace")

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any]:
        request = urllib.request.Request(
            self.base + path, data=body, method=method, headers=headers or {}
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as error:
            status, raw = error.code, error.read()
        try:
            return status, json.loads(raw)
        except ValueError:
            return status, raw.decode(errors="replace")

    def get(self, path: str) -> Any:
        status, payload = self.request("GET", path)
        if status != 200:
            raise StackError(f"GET {path}: {status} {payload}")
        return payload

    def submit(self, path: Path) -> dict[str, Any]:
        boundary = uuid.uuid4().hex
        body = (
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
                f'filename="{path.name}"\r\nContent-Type: application/octet-stream\r\n\r\n'
            ).encode()
            + path.read_bytes()
            + f"\r\n--{boundary}--\r\n".encode()
        )
        status, payload = self.request(
            "POST", "/v1/jobs", body, {"Content-Type": f"multipart/form-data; boundary={boundary}"}
        )
        if status != 202:
            raise StackError(f"submit {path.name}: {status} {payload}")
        return dict(payload)

    def wait_ended(self, job_ids: list[str], timeout_s: float) -> dict[str, dict[str, Any]]:
        deadline = time.monotonic() + timeout_s
        ended: dict[str, dict[str, Any]] = {}
        while time.monotonic() < deadline and len(ended) < len(job_ids):
            for job_id in job_ids:
                if job_id not in ended:
                    job = self.get(f"/v1/jobs/{job_id}")
                    if job["ended_at"]:
                        ended[job_id] = job
            time.sleep(0.3)
        return ended

    def metrics(self) -> dict[str, float]:
        """The /metrics samples as {"name{labels}": value}."""
        _, text = self.request("GET", "/metrics")
        samples = {}
        for line in str(text).splitlines():
            if line and not line.startswith("#"):
                name, _, value = line.rpartition(" ")
                samples[name] = float(value)
        return samples

    def busy_workers(self, any_state: bool = False) -> int:
        values = self.metrics()
        states = ("busy", "idle") if any_state else ("busy",)
        return int(
            sum(
                v
                for k, v in values.items()
                if k.startswith("folio_workers{")
                and any(f'state="{s}"' in k for s in states)
                and 'queue="models"' in k
            )
        )

    def kill(self, name: str) -> None:
        """SIGKILL a worker and its work horse at once, as when their machine is lost (RQ puts
        each horse in a process group of its own)."""
        process = self.processes.pop(name)
        groups = {process.pid, *_children(process.pid)}
        for group in groups:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(group, signal.SIGKILL)
        process.wait(10)

    def stop(self) -> None:
        for name in [n for n in self.processes if n != "redis"] + ["redis"]:
            process = self.processes.pop(name, None)
            if process is None:
                continue
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(5)


def _children(pid: int) -> list[int]:
    children: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            children += [int(c) for c in (task / "children").read_text().split()]
    return children


@contextlib.contextmanager
def local_stack(workspace: Path, workers: int = 2, **options: Any) -> Iterator[LocalStack]:
    stack = LocalStack(workspace, workers, **options)
    try:
        yield stack.start()
    finally:
        stack.stop()
