"""`folio audit verify` and `folio audit show`: read the chained log back and check it."""

from __future__ import annotations

import json

import pyarrow as pa

from pipelines.store.audit_log import HEAD_FILE, Head, Problem, verify
from pipelines.store.database import read_connection
from pipelines.store.loader import load_with_retries
from pipelines.store.workspace import Workspace


def recorded_head(workspace: Workspace) -> Head | None:
    path = workspace.root / HEAD_FILE
    try:
        payload = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    return Head(int(payload["seq"]), str(payload["hash"]))


def verify_audit_log(workspace: Workspace) -> tuple[int, list[Problem]]:
    """(rows checked, problems) after loading what is staged, so the check covers everything."""
    load_with_retries(workspace)
    with read_connection(workspace) as con:
        row = con.execute("SELECT count(*) FROM audit_log").fetchone()
        return int(row[0]) if row else 0, verify(con, recorded_head(workspace))


def recent_events(workspace: Workspace, limit: int = 50) -> pa.Table:
    """The newest loaded events (callers load first when they need what is still staged)."""
    with read_connection(workspace) as con:
        return con.sql(
            "SELECT seq, happened_at, actor, role, via, action, target, outcome, details "
            f"FROM audit ORDER BY seq DESC LIMIT {int(limit)}"
        ).to_arrow_table()
