"""Retention: erase documents N days after they entered the workspace, per document type.

Policies live in the workspace (`security/retention.json`, written atomically), as days by
document type (`classify.doctype`'s types: receipt, invoice, ...) with `*` for every type
without a policy of its own; a document whose profile did not classify it has only `*`. A
document's age counts from its first load (the earliest `loaded_at` of its results: when the
workspace first held its data, however often it was reprocessed since). `run_retention`
erases through the same path as `folio erase`, with reason "retention".
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pipelines.security import audit
from pipelines.security.erasure import ErasureReport, erase_documents
from pipelines.security.principal import Principal
from pipelines.security.pseudonyms import security_dir
from pipelines.store.database import query
from pipelines.store.workspace import Workspace, atomic_write_json

POLICY_FILE = "retention.json"
ALL_TYPES = "*"


class PolicyError(ValueError):
    """A policy that cannot be right: an unknown document type or negative days."""


@dataclass(frozen=True)
class DueDocument:
    document_id: str
    doc_type: str | None
    since: datetime  # first loaded
    policy: str  # the type whose policy applies, or "*"
    days: int

    @property
    def due_at(self) -> datetime:
        return self.since + timedelta(days=self.days)


def policy_path(workspace: Workspace) -> Path:
    return security_dir(workspace.root) / POLICY_FILE


def document_types() -> tuple[str, ...]:
    from extractors.stages.doctype import TYPES  # the classifier's labels are the types

    return TYPES


def read_policies(workspace: Workspace) -> dict[str, int]:
    """Days by document type (`*`: every other type); empty when none is set."""
    try:
        data = json.loads(policy_path(workspace).read_text())
    except FileNotFoundError:
        return {}
    return {str(kind): int(days) for kind, days in (data.get("policies") or {}).items()}


def set_policy(
    workspace: Workspace, doc_type: str, days: int | None, principal: Principal
) -> dict[str, int]:
    """Set (or, with `days=None`, remove) the policy of a type; returns all policies."""
    principal.require("admin")
    if doc_type != ALL_TYPES and doc_type not in document_types():
        known = ", ".join((ALL_TYPES, *document_types()))
        raise PolicyError(f"unknown document type {doc_type!r}: choose one of {known}")
    if days is not None and days < 0:
        raise PolicyError(f"days must be 0 or more, not {days}")
    policies = read_policies(workspace)
    if days is None:
        policies.pop(doc_type, None)
    else:
        policies[doc_type] = days
    atomic_write_json(
        policy_path(workspace),
        {"policies": dict(sorted(policies.items())), "updated_at": datetime.now(UTC).isoformat()},
    )
    audit.record(workspace, principal, "retention.set", target=doc_type, details={"days": days})
    return policies


def policy_for(policies: dict[str, int], doc_type: str | None) -> tuple[str, int] | None:
    """The policy that applies to a type: its own, else `*`, else none."""
    if doc_type is not None and doc_type in policies:
        return doc_type, policies[doc_type]
    if ALL_TYPES in policies:
        return ALL_TYPES, policies[ALL_TYPES]
    return None


def due_documents(
    workspace: Workspace, now: datetime | None = None, policies: dict[str, int] | None = None
) -> list[DueDocument]:
    """Loaded documents whose policy's days have passed by `now`, oldest first."""
    policies = read_policies(workspace) if policies is None else policies
    if not policies:
        return []
    moment = now or datetime.now(UTC)
    rows = query(
        workspace,
        "SELECT d.document_id, d.doc_type, min(r.loaded_at) AS since "
        "FROM documents d JOIN results r USING (document_id) GROUP BY ALL ORDER BY since",
    ).to_pylist()
    due = []
    for row in rows:
        applies = policy_for(policies, row["doc_type"])
        if applies is None or row["since"] is None:
            continue
        item = DueDocument(row["document_id"], row["doc_type"], row["since"], *applies)
        if item.due_at <= moment:
            due.append(item)
    return due


def run_retention(
    workspace: Workspace,
    principal: Principal,
    now: datetime | None = None,
    dry_run: bool = False,
) -> tuple[list[DueDocument], ErasureReport | None]:
    """Erase every due document (None when none is due), as `folio erase` does."""
    principal.require("admin")
    due = due_documents(workspace, now)
    if not due:
        return due, None
    ids = [item.document_id for item in due]
    return due, erase_documents(workspace, ids, principal, reason="retention", dry_run=dry_run)
