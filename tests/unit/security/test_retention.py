"""Retention policies: stored in the workspace, per document type with `*` for the rest, due
dates from a document's first load, erased through the erasure path with reason "retention"."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pipelines.security.principal import PermissionDenied, Principal, cli_principal
from pipelines.security.retention import (
    DueDocument,
    PolicyError,
    due_documents,
    policy_for,
    policy_path,
    read_policies,
    run_retention,
    set_policy,
)
from pipelines.store import loader
from pipelines.store.database import query
from pipelines.store.loader import load_staged
from pipelines.store.staging import stage_bundle
from pipelines.store.workspace import Workspace
from tests.integration.test_store import make_document

ADMIN = cli_principal()
TYPES = {"1": "invoice", "2": "receipt", "3": None}  # sha digit -> document type


@pytest.fixture()
def ws(tmp_path: Path) -> Workspace:
    ws = Workspace.open(tmp_path / "ws")
    for digit, doc_type in TYPES.items():
        document = make_document(digit * 64, f"text of {digit}")
        document.doc_type = doc_type
        stage_bundle(ws, document, "run-1", "")
    load_staged(ws)
    return ws


def ids(due: list[DueDocument]) -> list[str]:
    return sorted(item.document_id for item in due)


def doc(digit: str) -> str:
    return "doc-" + digit * 16


def test_policies_are_stored_and_cleared(ws: Workspace) -> None:
    assert read_policies(ws) == {}
    set_policy(ws, "invoice", 30, ADMIN)
    assert set_policy(ws, "*", 365, ADMIN) == {"invoice": 30, "*": 365}
    assert json.loads(policy_path(ws).read_text())["policies"] == {"*": 365, "invoice": 30}
    assert set_policy(ws, "invoice", None, ADMIN) == {"*": 365}
    assert not list(policy_path(ws).parent.glob("*.part"))  # written whole, then renamed
    events = [json.loads(e.path.read_text()) for e in ws.staging.entries("audit")]
    assert [(e["action"], e["target"], e["details"]) for e in events] == [
        ("retention.set", "invoice", {"days": 30}),
        ("retention.set", "*", {"days": 365}),
        ("retention.set", "invoice", {"days": None}),
    ]


@pytest.mark.parametrize(
    ("doc_type", "days", "message"),
    [("invoices", 3, "unknown document type"), ("invoice", -1, "0 or more")],
)
def test_a_policy_that_cannot_be_right_is_refused(
    ws: Workspace, doc_type: str, days: int, message: str
) -> None:
    with pytest.raises(PolicyError, match=message):
        set_policy(ws, doc_type, days, ADMIN)


def test_only_an_admin_sets_or_runs_retention(ws: Workspace) -> None:
    reviewer = Principal(name="ana", role="reviewer", kind="user")
    with pytest.raises(PermissionDenied):
        set_policy(ws, "*", 1, reviewer)
    with pytest.raises(PermissionDenied):
        run_retention(ws, reviewer)


def test_a_type_policy_wins_over_the_default() -> None:
    policies = {"invoice": 30, "*": 365}
    assert policy_for(policies, "invoice") == ("invoice", 30)
    assert policy_for(policies, "receipt") == ("*", 365)
    assert policy_for(policies, None) == ("*", 365)
    assert policy_for({"invoice": 30}, None) is None


def test_due_dates_count_from_the_first_load(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    loaded = query(ws, "SELECT min(loaded_at) t FROM results").column("t")[0].as_py()
    policies = {"invoice": 30, "*": 365}
    assert due_documents(ws, loaded + timedelta(days=29), policies) == []
    due = due_documents(ws, loaded + timedelta(days=31), policies)
    assert [(d.document_id, d.policy, d.days) for d in due] == [(doc("1"), "invoice", 30)]
    assert due[0].due_at == due[0].since + timedelta(days=30)
    assert ids(due_documents(ws, loaded + timedelta(days=366), policies)) == [
        doc("1"),
        doc("2"),
        doc("3"),
    ]
    # Only invoices have a policy: the rest, typed or not, are kept.
    assert ids(due_documents(ws, loaded + timedelta(days=9999), {"invoice": 30})) == [doc("1")]
    assert due_documents(ws, loaded + timedelta(days=9999), {}) == []

    # Reprocessing (a new result, loaded 20 days later) does not restart the clock.
    class Later(datetime):
        @classmethod
        def now(cls, tz: object = None) -> Later:
            return cls.fromisoformat((loaded + timedelta(days=20)).isoformat())

    monkeypatch.setattr(loader, "datetime", Later)
    again = make_document("1" * 64, "text of 1", config_hash="d" * 64)
    again.doc_type = "invoice"
    assert again.pipeline is not None
    again.pipeline.started_at = (loaded + timedelta(days=20)).isoformat()
    stage_bundle(ws, again, "run-2", "")
    load_staged(ws)
    latest = query(ws, "SELECT max(loaded_at) t FROM results").column("t")[0].as_py()
    assert latest - loaded >= timedelta(days=20)
    assert ids(due_documents(ws, loaded + timedelta(days=31), policies)) == [doc("1")]


def test_run_erases_only_what_is_due(ws: Workspace) -> None:
    set_policy(ws, "receipt", 0, ADMIN)
    set_policy(ws, "*", 10_000, ADMIN)
    now = datetime.now(UTC) + timedelta(seconds=1)
    due, report = run_retention(ws, ADMIN, now=now, dry_run=True)
    assert ids(due) == [doc("2")] and report is not None and report.dry_run
    assert len(query(ws, "SELECT * FROM documents")) == 3

    due, report = run_retention(ws, ADMIN, now=now)
    assert report is not None and report.document_ids == [doc("2")]
    assert report.reason == "retention"
    left = query(ws, "SELECT document_id FROM documents").column("document_id").to_pylist()
    assert sorted(left) == [doc("1"), doc("3")]
    events = [json.loads(e.path.read_text()) for e in ws.staging.entries("audit")]
    erased = [(e["target"], e["details"]) for e in events if e["action"] == "erase"]
    assert erased == [(doc("2"), {"subject": "", "reason": "retention"})]
    assert run_retention(ws, ADMIN, now=now) == ([], None)
