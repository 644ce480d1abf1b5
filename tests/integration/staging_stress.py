"""Stress and kill harness for the staging area and the loader (used by the tests, and runnable
for long sessions: `python -m tests.integration.staging_stress --kills 200 --stress 5`).

- stress: processes write bundles (some re-staged as newer versions), journal entries and run
  records while two loaders run in a tight loop; afterwards everything written is in DuckDB
  exactly once, the newest version of each, and nothing was set aside.
- kills: a process that writes and loads is SIGKILLed at a random moment, again and again;
  everything it reported durably written is loaded in the end, nothing is duplicated, and
  every later load works (no wedged workspace).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import multiprocessing as mp
import os
import random
import signal
import time
import traceback
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from pipelines.store.corrections import Correction, journal
from pipelines.store.database import StoreBusyError, query
from pipelines.store.loader import load_best_effort, load_staged
from pipelines.store.staging import stage_bundle
from pipelines.store.workspace import Workspace
from tests.integration.test_store import make_document

CTX = mp.get_context("spawn")


def sha_for(i: int) -> str:
    return hashlib.sha256(str(i).encode()).hexdigest()  # documents differ in their id prefix


def _correction(i: int) -> Correction:
    return Correction(
        document_id=f"doc-{i}",
        result_id=f"r-{i}",
        target_type="word",
        target_id=f"p0-w{i}",
        action="edit",
        old_value="a",
        new_value=f"b{i}",
        reviewer="stress",
    )


def _run_record(run_id: str, seq: int, final: bool) -> dict[str, Any]:
    return {
        "run_id": run_id,
        "started_at": "2026-12-01T10:00:00+00:00",
        "state": "finished" if final else "running",
        "n_ok": seq,
        "stage_ms": {},
    }


def _write_bundles(root: str, first: int, n: int, conn: Connection) -> None:
    workspace = Workspace(Path(root))
    for i in range(first, first + n):
        stage_bundle(workspace, make_document(sha_for(i), f"v1 {i}"), "run-s", "")
        if i % 3 == 0:  # a retry re-stages the same result with newer content
            stage_bundle(workspace, make_document(sha_for(i), f"v2 {i}"), "run-s", "")
        conn.send(("bundle", i))
    conn.send(("done", None))


def _write_journal(root: str, first: int, n: int, conn: Connection) -> None:
    workspace = Workspace(Path(root))
    for i in range(first, first + n):
        conn.send(("correction", journal(workspace, _correction(i)).correction_id))
    conn.send(("done", None))


def _write_runs(root: str, run_id: str, n: int, conn: Connection) -> None:
    workspace = Workspace(Path(root))
    for seq in range(1, n + 1):
        record = _run_record(run_id, seq, final=seq == n)
        workspace.staging.write("runs", run_id, record, stamp=f"{seq:08d}")
        conn.send(("run", seq))
    conn.send(("done", None))


def _load_loop(root: str, best_effort: bool, stop: Any, conn: Connection) -> None:
    workspace = Workspace(Path(root))
    loads = 0
    conn.send(("ready", None))
    try:
        while not stop.is_set():
            if best_effort:
                load_best_effort(workspace, wait_s=0.5)
            else:
                # StoreBusyError: the other loader's database work; retried next turn.
                with contextlib.suppress(StoreBusyError):
                    load_staged(workspace, wait_s=5)
            loads += 1
    except Exception:
        conn.send(("error", traceback.format_exc()))
    conn.send(("loads", loads))


@dataclass
class StressResult:
    bundles: int = 0
    corrections: int = 0
    run_updates: int = 0
    loads: int = 0
    errors: list[str] = field(default_factory=list)


def stress_once(root: Path, n: int = 40) -> StressResult:
    """Writers and two loaders side by side; raises AssertionError on any loss or error."""
    workspace = Workspace.open(root)
    result = StressResult()
    stop = CTX.Event()
    writers = [
        (_write_bundles, (str(root), 0, n)),
        (_write_bundles, (str(root), n, n)),
        (_write_journal, (str(root), 0, n)),
        (_write_runs, (str(root), "run-stress", n)),
    ]
    loaders = [(_load_loop, (str(root), False, stop)), (_load_loop, (str(root), True, stop))]
    pipes, processes = [], []
    for target, args in [*loaders, *writers]:
        parent, child = CTX.Pipe(duplex=False)
        process = CTX.Process(target=target, args=(*args, child))
        process.start()
        child.close()
        pipes.append(parent)
        processes.append(process)
        if target is _load_loop:  # loaders already looping when the first write lands
            assert parent.recv()[0] == "ready"
    written: set[str] = set()
    for pipe in pipes[len(loaders) :]:
        while (message := pipe.recv())[0] != "done":
            if message[0] == "correction":
                written.add(message[1])
    stop.set()
    for pipe in pipes[: len(loaders)]:
        while (message := pipe.recv())[0] != "loads":
            result.errors.append(message[1])
        result.loads += message[1]
    for process in processes:
        process.join(60)
    load_staged(workspace)
    result.bundles = _scalar(workspace, "SELECT count(*) FROM results")
    result.corrections = _scalar(workspace, "SELECT count(*) FROM corrections")
    result.run_updates = n
    assert result.errors == [], result.errors
    assert result.bundles == 2 * n, result.bundles
    assert _scalar(workspace, "SELECT count(DISTINCT document_id) FROM lines") == 2 * n
    newest = _scalar(workspace, "SELECT count(*) FROM lines WHERE text LIKE 'v2 %'")
    assert newest == len([i for i in range(2 * n) if i % 3 == 0]), newest
    stored = set(query(workspace, "SELECT correction_id FROM corrections").column(0).to_pylist())
    assert stored == written
    run = query(workspace, "SELECT state, n_ok FROM runs").to_pylist()
    assert run == [{"state": "finished", "n_ok": n}], run
    assert workspace.staging.is_empty()
    assert not list(workspace.staging.corrupt_dir.iterdir())
    return result


def _write_and_load(root: str, start: int, conn: Connection) -> None:
    """The victim: stages bundles, corrections and run records, loading every few writes."""
    workspace = Workspace(Path(root))
    i = start
    while True:
        stage_bundle(workspace, make_document(sha_for(i), f"text {i}"), "run-k", "")
        conn.send(("bundle", i))
        conn.send(("correction", journal(workspace, _correction(i)).correction_id))
        workspace.staging.write("runs", f"run-k{start}", _run_record(f"run-k{start}", i, False))
        if i % 4 == 0:
            load_staged(workspace)
        i += 1


@dataclass
class KillResult:
    kills: int = 0
    bundles: int = 0
    corrections: int = 0


def kill_loop(root: Path, kills: int, seed: int = 0) -> KillResult:
    """Kill a writer+loader at random points `kills` times; raises AssertionError on a loss."""
    rng = random.Random(seed)
    workspace = Workspace.open(root)
    bundles: set[int] = set()
    corrections: set[str] = set()
    start = 0
    for _ in range(kills):
        parent, child = CTX.Pipe(duplex=False)
        victim = CTX.Process(target=_write_and_load, args=(str(root), start, child))
        victim.start()
        child.close()
        # Wait until it works (imports take a while), then kill it at a random moment.
        if parent.poll(60):
            time.sleep(rng.uniform(0.0, 0.4))
        assert victim.pid is not None
        os.kill(victim.pid, signal.SIGKILL)
        victim.join()
        while parent.poll():
            try:
                kind, value = parent.recv()
            except (EOFError, OSError):
                break
            if kind == "bundle":
                bundles.add(value)
            elif kind == "correction":
                corrections.add(value)
        start += 10_000
        load_staged(workspace)  # the next start: must never raise
    load_staged(workspace)
    loaded_shas = set(query(workspace, "SELECT sha256 FROM results").column(0).to_pylist())
    assert {sha_for(i) for i in bundles} <= loaded_shas
    assert _scalar(workspace, "SELECT count(*) - count(DISTINCT result_id) FROM results") == 0
    stored = set(query(workspace, "SELECT correction_id FROM corrections").column(0).to_pylist())
    assert corrections <= stored
    assert not list(workspace.staging.corrupt_dir.iterdir())
    assert workspace.staging.is_empty()
    return KillResult(kills, len(bundles), len(corrections))


def _scalar(workspace: Workspace, sql: str) -> int:
    return int(query(workspace, sql).column(0)[0].as_py())


def main() -> None:
    import tempfile

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--stress", type=int, default=3, help="stress rounds")
    parser.add_argument("--kills", type=int, default=50, help="random kills")
    parser.add_argument("--n", type=int, default=40, help="entries per writer per stress round")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for round_ in range(args.stress):
            r = stress_once(Path(tmp) / f"stress{round_}", args.n)
            print(f"stress {round_ + 1}: {r.bundles} results, {r.corrections} corrections, "
                  f"{r.run_updates} run updates, {r.loads} loader turns, 0 errors")  # fmt: skip
        k = kill_loop(Path(tmp) / "kills", args.kills)
        print(f"kills: {k.kills} SIGKILLs, {k.bundles} bundles and {k.corrections} corrections "
              "reported written, all loaded once, 0 set aside")  # fmt: skip


if __name__ == "__main__":
    main()
