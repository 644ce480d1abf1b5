"""Erasure (GDPR Art. 17): a document, or every document about a subject, out of the workspace.

One path for `folio erase` and retention. Staging is drained first (nothing about the document
sits unloaded), then, holding the workspace's loader lock so no loader writes meanwhile:

1. a pending marker (`security/erasure-pending.json`: ids and hashes, no names) is written;
2. the document's rows go from every table that references it, in one transaction, and the
   database is copied into a fresh file that replaces folio.duckdb (pipelines.security.
   erasure_store: the copy is what removes the bytes);
3. its files go: stored input, staging entries, service pages and uploads, exports
   (pipelines.security.erasure_files);
4. one audit event per document, by pseudonym; the marker is removed.

A kill at any point leaves a usable database (the old file or the new one) and the marker; the
next erasure (or `folio erase --resume`) finishes the interrupted one first.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import duckdb

from pipelines.security import audit
from pipelines.security.erasure_files import files_to_remove, remove_files
from pipelines.security.erasure_store import (
    Targets,
    base_tables,
    copy_database,
    copy_path,
    count_rows,
    current_catalog,
    delete_rows,
    gather,
    remove_leftover_copy,
    swap_in_copy,
)
from pipelines.security.principal import Principal
from pipelines.security.pseudonyms import pseudonym, security_dir
from pipelines.store.database import read_connection, write_connection
from pipelines.store.loader import load_staged
from pipelines.store.staging import Kind, StagingArea
from pipelines.store.workspace import Workspace, atomic_write_json

logger = logging.getLogger(__name__)

Reason = Literal["request", "retention"]
PENDING_FILE = "erasure-pending.json"

# Where a subject's value can appear in the database (text the pipeline read or a reviewer
# typed, and file names); corrections are searched in Python (their values are JSON).
SEARCHED: tuple[tuple[str, str], ...] = (
    ("word_rows", "text"),
    ("line_rows", "text"),
    ("block_rows", "text"),
    ("cell_rows", "text"),
    ("entity_rows", "text"),
    ("entity_rows", "value"),
    ("field_rows", "value"),
    ("field_rows", "evidence"),
    ("relation_rows", "evidence"),
    ("results", "source_name"),
    ("results", "source_path"),
    ("results", "document_json"),
)


@dataclass
class ErasureReport:
    document_ids: list[str]  # erased (or, in a dry run, would be)
    not_found: list[str] = field(default_factory=list)
    resumed: list[str] = field(default_factory=list)  # finished for an interrupted erasure
    rows: dict[str, int] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)  # relative to the workspace root
    reason: str = "request"
    dry_run: bool = False
    seconds: float = 0.0
    database_bytes: tuple[int, int] = (0, 0)  # before, after


def normalise(value: str) -> str:
    """Case-insensitive, whitespace-normalised form used for matching and pseudonyms."""
    return " ".join(value.split()).lower()


def subject_pseudonym(workspace: Workspace, value: str) -> str:
    return pseudonym(workspace.root, normalise(value), kind="s") if value.strip() else ""


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _mentions(value: Any, needle: str) -> bool:
    return any(needle in normalise(text) for text in _strings(value))


def _search_database(con: duckdb.DuckDBPyConnection, needle: str) -> set[str]:
    tables = base_tables(con, current_catalog(con))
    selects = [
        f'SELECT document_id FROM "{table}" '
        f"WHERE contains(lower(regexp_replace(\"{column}\", '\\s+', ' ', 'g')), $needle)"
        for table, column in SEARCHED
        if column in tables.get(table, set())
    ]
    rows = con.execute(" UNION ".join(selects), {"needle": needle}).fetchall()
    found = {str(row[0]) for row in rows}
    for document_id, *values in con.execute(
        "SELECT document_id, old_value, new_value FROM corrections"
    ).fetchall():
        if document_id not in found and _mentions([json.loads(v) for v in values if v], needle):
            found.add(str(document_id))
    return found


def _search_staging(staging: StagingArea, needle: str) -> set[str]:
    """Bundles and corrections not loaded yet (a dry run does not load them)."""
    found: set[str] = set()
    where: tuple[tuple[Kind, tuple[str, ...]], ...] = (
        ("results", ("document", "document_id")),
        ("journal", ("document_id",)),
    )
    for kind, path in where:
        for entry in staging.entries(kind):
            payload = staging.read(entry)
            if payload is None or not _mentions(payload, needle):
                continue
            value: Any = payload
            for key in path:
                value = value.get(key) if isinstance(value, dict) else None
            if isinstance(value, str):
                found.add(value)
    return found


def find_subject(workspace: Workspace, value: str) -> list[str]:
    """Documents whose text, entities, fields, cells, corrections or file names contain the
    value (case-insensitive, whitespace-normalised), loaded or still staged."""
    needle = normalise(value)
    if not needle:
        raise ValueError("the subject to search for is empty")
    with read_connection(workspace) as con:
        found = _search_database(con, needle)
    return sorted(found | _search_staging(workspace.staging, needle))


def _staged_targets(staging: StagingArea, document_ids: set[str]) -> Targets:
    """What unloaded bundles say about the documents (a dry run, or bundles not readable yet)."""
    targets = Targets()
    for entry in staging.entries("results"):
        document = (staging.read(entry) or {}).get("document") or {}
        if document.get("document_id") not in document_ids:
            continue
        targets.result_ids.add(entry.key)
        targets.sha256s.update([document["sha256"]] if document.get("sha256") else [])
        targets.sizes.update([document["size_bytes"]] if document.get("size_bytes") else [])
        names = (document.get("source_name"), document.get("source_path"))
        targets.source_names.update(name for name in names if name)
    return targets


def _pending_path(workspace: Workspace) -> Path:
    return security_dir(workspace.root) / PENDING_FILE


def read_pending(workspace: Workspace) -> dict[str, Any] | None:
    """The marker of an erasure that was interrupted, None when there is none."""
    try:
        data = json.loads(_pending_path(workspace).read_text())
    except (FileNotFoundError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _size(workspace: Workspace) -> int:
    return workspace.db_path.stat().st_size if workspace.db_path.exists() else 0


def _relative(workspace: Workspace, paths: Iterable[Path]) -> list[str]:
    return sorted(str(path.relative_to(workspace.root)) for path in paths)


def erase_documents(
    workspace: Workspace,
    document_ids: Iterable[str],
    principal: Principal,
    reason: Reason = "request",
    subject: str = "",
    dry_run: bool = False,
) -> ErasureReport:
    """Erase the documents (and finish an interrupted erasure); `subject` is the value they
    were found by, logged only as a pseudonym. A dry run reports and changes nothing."""
    principal.require("admin")
    started = time.monotonic()
    wanted = set(document_ids)
    if dry_run:
        report = _plan(workspace, wanted, subject)
    else:
        load_staged(workspace)  # takes the loader lock itself: drain before holding it
        with workspace.loader_lock():
            report = _erase(workspace, wanted, principal, reason, subject)
    report.reason, report.dry_run = reason, dry_run
    report.seconds = time.monotonic() - started
    return report


def _plan(workspace: Workspace, wanted: set[str], subject: str) -> ErasureReport:
    with read_connection(workspace) as con:
        targets = gather(con, wanted)
        rows = {name: n for name, n in count_rows(con, targets).items() if n}
        in_use = _in_use(con, targets)
    targets.merge(_staged_targets(workspace.staging, wanted))
    paths = files_to_remove(workspace, targets, normalise(subject), in_use)
    found = _found(wanted, targets, paths)
    size = _size(workspace)
    return ErasureReport(
        sorted(found),
        sorted(wanted - found),
        rows=rows,
        files=_relative(workspace, paths),
        database_bytes=(size, size),
    )


def _found(wanted: set[str], targets: Targets, paths: Iterable[Path]) -> set[str]:
    """The wanted documents something was found about: results (loaded or staged), files."""
    found = {rid.rsplit("-", 1)[0] for rid in targets.result_ids}  # `<document_id>-<hash>`
    names = " ".join(path.name for path in paths)
    found |= {doc for doc in wanted if doc.removeprefix("doc-") in names}
    return found & wanted


def _in_use(con: duckdb.DuckDBPyConnection, targets: Targets) -> set[str]:
    """Stored paths of the results that stay."""
    rows = con.execute(
        "SELECT DISTINCT stored_path FROM results WHERE NOT list_contains(?, document_id) "
        "AND stored_path IS NOT NULL",
        [sorted(targets.document_ids)],
    ).fetchall()
    return {str(row[0]) for row in rows}


def _erase(
    workspace: Workspace, wanted: set[str], principal: Principal, reason: Reason, subject: str
) -> ErasureReport:
    remove_leftover_copy(workspace)
    pending = read_pending(workspace) or {}
    audits: dict[str, dict[str, str]] = dict(pending.get("documents") or {})
    entry = {"subject": subject_pseudonym(workspace, subject), "reason": reason}
    needle = normalise(subject)
    before = _size(workspace)
    with write_connection(workspace) as con:
        targets = gather(con, wanted | set(audits))
        targets.merge(_staged_targets(workspace.staging, wanted))
        targets.merge(Targets.from_json(pending.get("targets") or {}))
        for doc in sorted(_found(wanted, targets, [])):
            audits.setdefault(doc, entry)
        marker = {"started_at": datetime.now(UTC).isoformat(), "targets": targets.to_json()}
        atomic_write_json(_pending_path(workspace), {**marker, "documents": audits})
        rows = delete_rows(con, targets, needle)
        # Always, even when no row was found: an earlier DELETE (a reload replaces a result's
        # rows, a hand-made DELETE) leaves the old bytes in the file until it is rewritten.
        copy_database(con, copy_path(workspace))
        in_use = _in_use(con, targets)
    swap_in_copy(workspace)
    removed = remove_files(files_to_remove(workspace, targets, needle, in_use))
    for doc in sorted(_found(wanted, targets, removed) - set(audits)):
        audits[doc] = entry
    for doc, details in sorted(audits.items()):
        audit.record(workspace, principal, "erase", target=doc, details=details)
    _pending_path(workspace).unlink(missing_ok=True)
    found = _found(wanted, targets, removed) | (set(audits) & wanted)
    return ErasureReport(
        sorted(found),
        sorted(wanted - found),
        resumed=sorted(set(audits) - wanted),
        rows=rows,
        files=_relative(workspace, removed),
        database_bytes=(before, _size(workspace)),
    )


def resume_pending(workspace: Workspace, principal: Principal) -> ErasureReport | None:
    """Finish an erasure that was interrupted (None when none was)."""
    if read_pending(workspace) is None:
        return None
    return erase_documents(workspace, [], principal)
