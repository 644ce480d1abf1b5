"""The audit log: who did what, when, append-only and hash-chained.

Any process records an event by staging it (`record`): one immutable file in the workspace's
staging area, so the app, the service and the CLI never wait for the database. The loader, the
only database writer, appends staged events to the `audit_log` table in stamp order and chains
them there (pipelines.store.audit_rows): each row holds the hash of the previous one, so one SQL
query (`verify_sql`) finds a row that was changed or deleted.

Actors are pseudonyms (pipelines.security.pseudonyms), never names; `details` must not carry
personal data either (SQL is logged as a hash of its text, subjects of erasure as pseudonyms).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pipelines.security.principal import Principal
from pipelines.security.pseudonyms import pseudonym

if TYPE_CHECKING:
    from pipelines.store.workspace import Workspace

AUDIT_SCHEMA = "folio.audit/1"


def statement_reference(statement: str) -> str:
    """How a SQL query appears in the log: a hash of its text (it may hold personal data)."""
    return hashlib.sha256(statement.encode()).hexdigest()[:16]


def actor_pseudonym(workspace: Workspace, principal: Principal) -> str:
    return pseudonym(workspace.root, f"{principal.kind}:{principal.name}", kind="p")


def record(
    workspace: Workspace,
    principal: Principal,
    action: str,
    target: str = "",
    details: dict[str, Any] | None = None,
    outcome: str = "ok",
) -> None:
    """Stage one audit event. `action` is a short verb (`login`, `view`, `edit`, `export`,
    `sql`, `upload`, `erase`, `key.create`, ...); `target` an id (document, key, user
    pseudonym); `outcome` `ok`, `denied` or `failed`."""
    payload = {
        "kind": AUDIT_SCHEMA,
        "happened_at": datetime.now(UTC).isoformat(timespec="microseconds"),
        "actor": actor_pseudonym(workspace, principal),
        "role": principal.role,
        "via": principal.kind,
        "action": action,
        "target": target,
        "outcome": outcome,
        "details": details or {},
    }
    workspace.staging.write("audit", "event", payload)
