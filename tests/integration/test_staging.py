"""The staging area and the loader under every race the issue lists, made deterministic: put
the files a race would leave (empty, partial and complete temp files, unreadable entries,
superseded versions), or inject the other party's step at the exact moment, then load."""

from __future__ import annotations

import multiprocessing as mp
import os
import time
from pathlib import Path

import pytest

from pipelines.store.corrections import Correction, journal
from pipelines.store.database import known_result_ids, query
from pipelines.store.loader import (
    BackgroundLoader,
    load_best_effort,
    load_staged,
    load_with_retries,
)
from pipelines.store.staging import KINDS, UNREADABLE_GRACE_S, StagingArea, stage_bundle
from pipelines.store.workspace import Workspace
from tests.integration.test_store import make_document
from workbench.review import save


@pytest.fixture()
def workspace(tmp_path: Path) -> Workspace:
    return Workspace.open(tmp_path / "ws")


def run_record(run_id: str, state: str, n_ok: int) -> dict[str, object]:
    return {"run_id": run_id, "started_at": "2026-12-01T10:00:00+00:00", "state": state,
            "n_ok": n_ok, "stage_ms": {}}  # fmt: skip


def correction(document_id: str = "doc-1", result_id: str = "r-1") -> Correction:
    return Correction(
        document_id=document_id,
        result_id=result_id,
        target_type="word",
        target_id="p0-w0",
        action="edit",
        old_value="helo",
        new_value="hello",
        reviewer="ana",
    )


def count(workspace: Workspace, sql: str) -> int:
    return int(query(workspace, sql).column(0)[0].as_py())


def leave_temp_debris(staging: StagingArea) -> list[Path]:
    """What writers killed mid-write leave: empty, partial and complete temp files, in tmp/
    and, as round 1 named them, dot files inside every entry folder."""
    complete = b'{"run_id": "run-x", "state": "running"}'
    debris = []
    for folder in [staging.tmp_dir, *(staging.folder(kind) for kind in KINDS)]:
        for i, content in enumerate([b"", b'{"kind": "folio.res', complete]):
            for name in (f".tmp-{i}abc.json", f"results-{i}xyz.part"):
                path = folder / name
                path.write_bytes(content)
                debris.append(path)
    return debris


def test_temp_files_in_every_folder_are_never_read(workspace: Workspace) -> None:
    staging = workspace.staging
    debris = leave_temp_debris(staging)
    rid = stage_bundle(workspace, make_document("a" * 64), "run-1", "")
    staging.write("runs", "run-1", run_record("run-1", "finished", 1))
    journal(workspace, correction(result_id=rid))
    report = load_staged(workspace)
    assert (report.results, report.runs, report.corrections) == (1, 1, 1)
    assert (report.corrupt, report.waiting) == (0, 0)
    assert all(path.exists() for path in debris)  # young: maybe a live writer's, left alone
    assert not list(staging.corrupt_dir.iterdir())
    assert count(workspace, "SELECT count(*) FROM runs") == 1


def test_stale_temp_files_are_swept(workspace: Workspace) -> None:
    debris = leave_temp_debris(workspace.staging)
    old = time.time() - 3600
    for path in debris:
        os.utime(path, (old, old))
    load_staged(workspace)
    assert not any(path.exists() for path in debris)


def test_a_worker_finishing_after_a_load_saw_its_temp_file_is_loaded(
    workspace: Workspace,
) -> None:
    """Round 1: the loader read the half-written temp bundle, renamed it to .corrupt, the
    worker's os.replace failed and a finished document was recorded as failed."""
    staging = workspace.staging
    temp = staging.tmp_dir / "results-inflight.part"
    temp.write_bytes(b'{"kind": "folio.result/1", "docu')  # a bundle being written
    assert load_staged(workspace).corrupt == 0
    document = make_document("b" * 64)
    rid = stage_bundle(workspace, document, "run-1", "")  # the worker finishes
    report = load_staged(workspace)
    assert (report.results, report.corrupt) == (1, 0)
    assert count(workspace, f"SELECT count(*) FROM results WHERE result_id = '{rid}'") == 1


@pytest.mark.parametrize("kind", KINDS)
def test_unreadable_entries_are_retried_then_set_aside(workspace: Workspace, kind: str) -> None:
    staging = workspace.staging
    broken = staging.folder(kind) / "broken.00000000000000000001-aa.json"  # type: ignore[arg-type]
    broken.write_bytes(b'{"half": ')
    report = load_staged(workspace)
    assert (report.waiting, report.corrupt) == (1, 0)
    assert broken.exists()  # not moved aside while it may still be in flight
    late = time.time() - UNREADABLE_GRACE_S - 5
    os.utime(broken, (late, late))
    report = load_staged(workspace)
    assert (report.waiting, report.corrupt) == (0, 1)
    assert not broken.exists()
    assert [p.name for p in staging.corrupt_dir.iterdir()] == [f"{kind}-{broken.name}"]
    assert load_staged(workspace).corrupt == 0  # set aside once, not again


def test_a_kill_while_writing_a_run_record_does_not_wedge_the_workspace(
    workspace: Workspace,
) -> None:
    staging = workspace.staging
    staging.write("runs", "run-1", run_record("run-1", "running", 0), stamp="00000001")
    (staging.tmp_dir / "runs-killed.part").write_bytes(b'{"run_id": "run-1", "sta')
    (staging.folder("runs") / ".tmp-killed.json").write_bytes(b"")  # round 1's temp name
    for _ in range(3):  # every later load (next run, status, app start) keeps working
        load_staged(workspace)
    states = query(workspace, "SELECT run_id, state FROM runs").to_pylist()
    assert states == [{"run_id": "run-1", "state": "running"}]


def test_a_run_update_during_a_load_is_not_lost(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Round 1: the batch rewrote run-*.json while a loader read it and then unlinked it, so a
    finished run stayed `running` forever."""
    staging = workspace.staging
    staging.write("runs", "run-1", run_record("run-1", "running", 0), stamp="00000001")
    original_remove = StagingArea.remove

    def batch_finishes_meanwhile(entries):  # type: ignore[no-untyped-def]
        staging.write("runs", "run-1", run_record("run-1", "finished", 5), stamp="00000002")
        original_remove(entries)

    monkeypatch.setattr(StagingArea, "remove", staticmethod(batch_finishes_meanwhile))
    load_staged(workspace)
    monkeypatch.setattr(StagingArea, "remove", staticmethod(original_remove))
    assert [e.stamp for e in staging.entries("runs")] == ["00000002"]
    load_staged(workspace)
    row = query(workspace, "SELECT state, n_ok FROM runs").to_pylist()
    assert row == [{"state": "finished", "n_ok": 5}]


def test_a_crash_while_removing_leaves_only_newer_versions(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    staging = workspace.staging
    staging.write("runs", "run-1", run_record("run-1", "running", 0), stamp="00000001")
    staging.write("runs", "run-1", run_record("run-1", "finished", 3), stamp="00000002")
    removed: list[str] = []
    real_unlink = Path.unlink

    def crash_after_one(self: Path, missing_ok: bool = False) -> None:
        if removed:
            raise KeyboardInterrupt  # the loader is killed between two removals
        removed.append(self.name)
        real_unlink(self, missing_ok=missing_ok)

    monkeypatch.setattr(Path, "unlink", crash_after_one)
    with pytest.raises(KeyboardInterrupt):
        load_staged(workspace)
    monkeypatch.setattr(Path, "unlink", real_unlink)
    assert [e.stamp for e in staging.entries("runs")] == ["00000002"]
    load_staged(workspace)
    assert query(workspace, "SELECT state FROM runs").to_pylist() == [{"state": "finished"}]


def test_a_correction_journaled_during_a_load_is_kept(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = journal(workspace, correction())
    original_remove = StagingArea.remove
    late: list[Correction] = []

    def reviewer_saves_meanwhile(entries):  # type: ignore[no-untyped-def]
        late.append(journal(workspace, correction()))
        original_remove(entries)

    monkeypatch.setattr(StagingArea, "remove", staticmethod(reviewer_saves_meanwhile))
    load_staged(workspace)
    monkeypatch.setattr(StagingArea, "remove", staticmethod(original_remove))
    load_staged(workspace)
    stored = set(query(workspace, "SELECT correction_id FROM corrections").column(0).to_pylist())
    assert stored == {first.correction_id, late[0].correction_id}


def test_known_result_ids_survive_a_bundle_vanishing(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    rid = stage_bundle(workspace, make_document("c" * 64), "run-1", "")
    entries = workspace.staging.entries("results")
    entries[0].path.unlink()  # a loader took it between the listing and the read
    monkeypatch.setattr(StagingArea, "entries", lambda self, kind: entries)
    assert known_result_ids(workspace, statuses=("failed",)) == set()
    assert known_result_ids(workspace) == {rid}


def test_one_load_drains_more_than_one_pass(workspace: Workspace) -> None:
    for i in range(7):
        stage_bundle(workspace, make_document(f"{i + 1:x}" * 64), "run-1", "")
    report = load_staged(workspace, max_results=3)
    assert (report.results, report.passes) == (7, 3)
    assert workspace.staging.is_empty()


def test_superseded_bundle_versions_load_as_the_newest(workspace: Workspace) -> None:
    sha = "d" * 64
    stage_bundle(workspace, make_document(sha, "first text"), "run-1", "")
    stage_bundle(workspace, make_document(sha, "second text"), "run-2", "")
    assert load_staged(workspace).results == 1
    assert query(workspace, "SELECT text FROM lines").column(0).to_pylist() == ["second text"]
    assert workspace.staging.is_empty()


def _hold_write_lock(db: str, ready: mp.synchronize.Event, seconds: float) -> None:
    import duckdb

    con = duckdb.connect(db)
    ready.set()
    time.sleep(seconds)
    con.close()


def hold_database(workspace: Workspace, seconds: float) -> mp.process.BaseProcess:
    """Another process (a long query, another batch's loader) holding the database."""
    ctx = mp.get_context("spawn")
    ready = ctx.Event()
    holder = ctx.Process(target=_hold_write_lock, args=(str(workspace.db_path), ready, seconds))
    holder.start()
    assert ready.wait(30)
    return holder


def test_periodic_loads_are_best_effort_and_the_final_one_retries(workspace: Workspace) -> None:
    load_staged(workspace)  # create the database
    stage_bundle(workspace, make_document("e" * 64), "run-1", "")
    holder = hold_database(workspace, 2.5)
    assert load_best_effort(workspace, wait_s=0.2) is None  # no exception: the batch goes on
    assert len(workspace.staging.entries("results")) == 1  # nothing lost
    report = load_with_retries(workspace, attempts=20, wait_s=0.5)
    holder.join()
    assert report is not None and report.results == 1


def test_review_save_never_waits_for_a_busy_loader(workspace: Workspace) -> None:
    deferred: list[bool] = []
    with workspace.loader_lock():  # a batch's loader is at work: save hands over, never waits
        save(workspace, [correction()], load_later=lambda: deferred.append(True))
        assert deferred == [True]
        assert len(workspace.staging.entries("journal")) == 1
    loader = BackgroundLoader(workspace, retry_s=0.1)
    loader.request()
    assert loader.wait_idle(30)
    assert count(workspace, "SELECT count(*) FROM corrections") == 1


def test_review_save_loads_at_once_when_the_database_is_free(workspace: Workspace) -> None:
    deferred: list[bool] = []
    save(workspace, [correction()], load_later=lambda: deferred.append(True))
    assert deferred == []
    assert count(workspace, "SELECT count(*) FROM corrections") == 1


def test_background_loader_retries_while_the_database_is_busy(workspace: Workspace) -> None:
    load_staged(workspace)
    journal(workspace, correction())
    holder = hold_database(workspace, 1.5)
    loader = BackgroundLoader(workspace, retry_s=0.2)
    loader.request()
    assert loader.wait_idle(60)
    holder.join()
    assert count(workspace, "SELECT count(*) FROM corrections") == 1
