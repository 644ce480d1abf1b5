"""The audit log: staged events chained by the loader; verify finds changed and deleted rows."""

from __future__ import annotations

import duckdb
import pytest

from pipelines.security import audit
from pipelines.security.audit_verify import recent_events, verify_audit_log
from pipelines.security.principal import Principal
from pipelines.store.loader import load_staged
from pipelines.store.workspace import Workspace

ALICE = Principal("alice", "reviewer", "user")


@pytest.fixture()
def workspace(tmp_path):
    ws = Workspace.open(tmp_path / "ws")
    for n in range(5):
        audit.record(ws, ALICE, "view", target=f"doc-{n}", details={"page": n})
    load_staged(ws)
    return ws


def _tamper(ws: Workspace, sql: str) -> None:
    con = duckdb.connect(str(ws.db_path))
    con.execute(sql)
    con.close()


def test_intact_log_verifies_and_keeps_order(workspace):
    checked, problems = verify_audit_log(workspace)
    assert (checked, problems) == (5, [])
    events = recent_events(workspace).to_pylist()
    assert [e["target"] for e in events] == [f"doc-{n}" for n in reversed(range(5))]


def test_actor_is_a_pseudonym_not_the_name(workspace):
    events = recent_events(workspace).to_pylist()
    assert {e["actor"] for e in events} == {audit.actor_pseudonym(workspace, ALICE)}
    assert all("alice" not in e["actor"] for e in events)
    assert b"alice" not in workspace.db_path.read_bytes()


def test_changed_row_is_found(workspace):
    _tamper(workspace, "UPDATE audit_log SET target = 'doc-x' WHERE seq = 3")
    _, problems = verify_audit_log(workspace)
    assert [(p.seq, p.problem.split(":")[0]) for p in problems] == [(3, "row changed")]


def test_row_rewritten_with_a_fresh_hash_breaks_the_next_link(workspace):
    con = duckdb.connect(str(workspace.db_path))
    con.execute("UPDATE audit_log SET target = 'doc-x' WHERE seq = 3")
    con.execute(
        "UPDATE audit_log SET hash = sha256(concat_ws(chr(31), CAST(seq AS VARCHAR), "
        "happened_at, actor, role, via, action, target, outcome, details, prev_hash)) "
        "WHERE seq = 3"
    )
    con.close()
    _, problems = verify_audit_log(workspace)
    assert [p.seq for p in problems] == [4]
    assert problems[0].problem.startswith("chain broken")


def test_deleted_row_is_found(workspace):
    _tamper(workspace, "DELETE FROM audit_log WHERE seq = 2")
    _, problems = verify_audit_log(workspace)
    assert [p.seq for p in problems] == [3]
    assert "missing" in problems[0].problem


def test_deleted_newest_rows_are_found_through_the_head(workspace):
    _tamper(workspace, "DELETE FROM audit_log WHERE seq >= 4")
    _, problems = verify_audit_log(workspace)
    assert [p.problem for p in problems] == ["rows missing at the end: the recorded head is gone"]


def test_events_load_once_and_the_chain_continues(workspace):
    audit.record(workspace, ALICE, "export", target="doc-9")
    entry_files = workspace.staging.entries("audit")
    copies = [e.path.read_bytes() for e in entry_files]
    load_staged(workspace)
    # a crash after the commit and before the staged file was removed: it is staged again
    for entry, data in zip(entry_files, copies, strict=True):
        entry.path.write_bytes(data)
    load_staged(workspace)
    checked, problems = verify_audit_log(workspace)
    assert (checked, problems) == (6, [])
