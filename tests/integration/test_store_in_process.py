"""A reader and the loader in one process (the app: page queries beside its background
loader) wait for each other instead of failing."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from pipelines.store.database import query, read_connection, write_connection
from pipelines.store.workspace import Workspace


def _in_thread(target: object) -> tuple[threading.Thread, dict[str, object]]:
    out: dict[str, object] = {}

    def run() -> None:
        try:
            out["value"] = target()  # type: ignore[operator]
        except Exception as error:
            out["error"] = error

    thread = threading.Thread(target=run)
    thread.start()
    return thread, out


def test_a_query_waits_while_this_process_writes(tmp_path: Path) -> None:
    ws = Workspace.open(tmp_path / "ws")
    with write_connection(ws):
        thread, out = _in_thread(lambda: query(ws, "SELECT count(*) AS n FROM documents"))
        time.sleep(0.3)  # the reader is now retrying against the open read-write connection
    thread.join(timeout=30)
    assert "error" not in out, out.get("error")
    assert out["value"].to_pylist() == [{"n": 0}]  # type: ignore[attr-defined]


def test_the_loader_waits_while_this_process_reads(tmp_path: Path) -> None:
    ws = Workspace.open(tmp_path / "ws")
    query(ws, "SELECT 1")  # create the database
    with read_connection(ws):

        def write() -> int:
            with write_connection(ws) as con:
                return int(con.execute("SELECT 1").fetchone()[0])  # type: ignore[index]

        thread, out = _in_thread(write)
        time.sleep(0.3)
    thread.join(timeout=30)
    assert "error" not in out, out.get("error")
    assert out["value"] == 1


def test_two_first_connections_create_the_schema_once(tmp_path: Path) -> None:
    ws = Workspace.open(tmp_path / "ws")
    barrier = threading.Barrier(4)

    def first_read() -> int:
        barrier.wait()
        return len(query(ws, "SELECT * FROM documents"))

    started = [_in_thread(first_read) for _ in range(4)]
    for thread, _ in started:
        thread.join(timeout=60)
    assert [out.get("error") for _, out in started] == [None] * 4
    assert [out["value"] for _, out in started] == [0] * 4
