"""The database half of erasure: delete a document's rows, then copy the database into a
fresh file and swap it in.

DuckDB keeps deleted values in the file: a DELETE marks rows deleted, and neither CHECKPOINT
nor VACUUM rewrites the blocks that hold them (tests/integration/test_erasure.py shows the
value still there). `COPY FROM DATABASE` into a new file writes only live rows, so the copy is
what erases. The copy is written next to folio.duckdb under another name, checked, fsynced and
renamed over it (atomic on one filesystem): readers, which open the file per query and retry
on a lock, see the old file or the new one, never a part of either. A kill leaves the old file
(and a leftover copy, removed by the next erasure) or the new one.
"""

from __future__ import annotations

import contextlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from pipelines.store.workspace import Workspace

COPY_SUFFIX = ".erasing"
COPY_ALIAS = "erasure_copy"
# Kept by erasure: the audit log is pseudonymous and hash-chained (deleting rows would break it).
KEEP_TABLES = frozenset({"audit_log"})
ERASED = "<erased>"


class ErasureError(RuntimeError):
    """The copy did not match the database, or the swap was unsafe; nothing was replaced."""


@dataclass
class Targets:
    """What identifies the documents being erased, in the database and in files."""

    document_ids: set[str] = field(default_factory=set)
    result_ids: set[str] = field(default_factory=set)
    sha256s: set[str] = field(default_factory=set)
    stored_paths: set[str] = field(default_factory=set)
    sizes: set[int] = field(default_factory=set)
    # File names and paths as given to `folio run` (scrubbed from run commands); personal
    # data, so never written to the pending marker.
    source_names: set[str] = field(default_factory=set)

    def merge(self, other: Targets) -> None:
        self.document_ids |= other.document_ids
        self.result_ids |= other.result_ids
        self.sha256s |= other.sha256s
        self.stored_paths |= other.stored_paths
        self.sizes |= other.sizes
        self.source_names |= other.source_names

    def to_json(self) -> dict[str, Any]:
        return {
            "document_ids": sorted(self.document_ids),
            "result_ids": sorted(self.result_ids),
            "sha256s": sorted(self.sha256s),
            "stored_paths": sorted(self.stored_paths),
            "sizes": sorted(self.sizes),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Targets:
        return cls(
            document_ids=set(data.get("document_ids") or []),
            result_ids=set(data.get("result_ids") or []),
            sha256s=set(data.get("sha256s") or []),
            stored_paths=set(data.get("stored_paths") or []),
            sizes={int(size) for size in data.get("sizes") or []},
        )


def copy_path(workspace: Workspace) -> Path:
    return workspace.db_path.with_name(workspace.db_path.name + COPY_SUFFIX)


def remove_leftover_copy(workspace: Workspace) -> bool:
    """Remove a copy (and its WAL) that a killed erasure left; the database itself is whole."""
    removed = False
    tmp = copy_path(workspace)
    for path in (tmp, tmp.with_name(tmp.name + ".wal")):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
            removed = True
    return removed


def base_tables(con: duckdb.DuckDBPyConnection, catalog: str) -> dict[str, set[str]]:
    """Every base table of a catalog's main schema with its columns."""
    rows = con.execute(
        "SELECT table_name, list(column_name) FROM duckdb_columns() "
        "WHERE database_name = ? AND schema_name = 'main' AND NOT internal "
        "AND table_name IN (SELECT table_name FROM duckdb_tables() WHERE database_name = ?) "
        "GROUP BY table_name",
        [catalog, catalog],
    ).fetchall()
    return {str(name): set(columns) for name, columns in rows}


def gather(con: duckdb.DuckDBPyConnection, document_ids: set[str]) -> Targets:
    """The loaded results of the documents: their ids, input hashes, stored copies, names."""
    targets = Targets(document_ids=set(document_ids))
    rows = con.execute(
        "SELECT result_id, sha256, stored_path, size_bytes, source_name, source_path "
        "FROM results WHERE list_contains(?, document_id)",
        [sorted(document_ids)],
    ).fetchall()
    for result_id, sha, stored, size, name, path in rows:
        targets.result_ids.add(result_id)
        targets.sha256s.update([sha] if sha else [])
        targets.stored_paths.update([stored] if stored else [])
        targets.sizes.update([int(size)] if size is not None else [])
        targets.source_names.update(value for value in (name, path) if value)
    return targets


def _where(columns: set[str]) -> str | None:
    """The condition that picks a table's rows about the documents, None when it has none."""
    parts = []
    if "document_id" in columns:
        parts.append("list_contains($documents, document_id)")
    if "result_id" in columns:
        parts.append("list_contains($results, result_id)")
    return " OR ".join(parts) or None


def count_rows(con: duckdb.DuckDBPyConnection, targets: Targets) -> dict[str, int]:
    """Rows each table holds about the documents (what `delete_rows` removes)."""
    return _each_table(con, targets, "SELECT count(*) FROM")


def delete_rows(
    con: duckdb.DuckDBPyConnection, targets: Targets, subject: str = ""
) -> dict[str, int]:
    """Delete, in one transaction, every row about the documents: tables found by their
    document_id/result_id columns (so a table added later is not forgotten), and the file
    names in run commands (runs are keyed by run, not document)."""
    con.execute("BEGIN TRANSACTION")
    try:
        counts = _each_table(con, targets, "DELETE FROM")
        counts["runs.command"] = _scrub_commands(con, targets.source_names, subject)
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    return {name: n for name, n in counts.items() if n}


def _each_table(con: duckdb.DuckDBPyConnection, targets: Targets, verb: str) -> dict[str, int]:
    catalog = current_catalog(con)
    params = {"documents": sorted(targets.document_ids), "results": sorted(targets.result_ids)}
    counts: dict[str, int] = {}
    for name, columns in sorted(base_tables(con, catalog).items()):
        where = _where(columns)
        if name in KEEP_TABLES or where is None:
            continue
        used = {key: value for key, value in params.items() if f"${key}" in where}
        row = con.execute(f'{verb} "{name}" WHERE {where}', used).fetchone()
        counts[name] = int(row[0]) if row else 0
    return counts


def _scrub_commands(con: duckdb.DuckDBPyConnection, names: set[str], subject: str) -> int:
    """Replace the documents' file names (and the subject) in recorded `folio run` commands."""
    needles = sorted((n for n in {*names, subject} if n), key=len, reverse=True)
    if not needles:
        return 0
    pattern = re.compile("|".join(re.escape(n) for n in needles), re.IGNORECASE)
    changed = 0
    for run_id, command in con.execute("SELECT run_id, command FROM runs").fetchall():
        scrubbed = pattern.sub(ERASED, command or "")
        if command and scrubbed != command:
            con.execute("UPDATE runs SET command = ? WHERE run_id = ?", [scrubbed, run_id])
            changed += 1
    return changed


def current_catalog(con: duckdb.DuckDBPyConnection) -> str:
    row = con.execute("SELECT current_database()").fetchone()
    assert row is not None
    return str(row[0])


def copy_database(con: duckdb.DuckDBPyConnection, target: Path) -> None:
    """Copy the open database (schema and live rows) into a new file and check the copy.

    The copy is attached without a key: right while workspaces are never encrypted by DuckDB
    (pipelines.security.encryption refuses); an encrypted workspace would need its key here."""
    with contextlib.suppress(FileNotFoundError):
        target.unlink()
    source = current_catalog(con)
    quoted = str(target).replace("'", "''")
    con.execute(f"ATTACH '{quoted}' AS {COPY_ALIAS}")
    try:
        con.execute(f'COPY FROM DATABASE "{source}" TO {COPY_ALIAS}')
        _check_copy(con, source, COPY_ALIAS)
    finally:
        con.execute(f"DETACH {COPY_ALIAS}")  # checkpoints the copy: no WAL left beside it


def _check_copy(con: duckdb.DuckDBPyConnection, source: str, copy: str) -> None:
    tables = base_tables(con, source)
    if set(base_tables(con, copy)) != set(tables):
        raise ErasureError("the copy's tables differ from the database's")
    for name in tables:
        a, b = (
            con.execute(f'SELECT count(*) FROM "{db}".main."{name}"').fetchone()
            for db in (source, copy)
        )
        if a != b:
            raise ErasureError(f"the copy of {name} has {b} rows, the database {a}")
    for query in (
        "SELECT count(*) FROM duckdb_views() WHERE database_name = ? AND NOT internal",
        "SELECT count(*) FROM duckdb_constraints() WHERE database_name = ?",
    ):
        if con.execute(query, [source]).fetchone() != con.execute(query, [copy]).fetchone():
            raise ErasureError("the copy's views or constraints differ from the database's")
    versions = [
        con.execute(f'SELECT max(version) FROM "{db}".main.schema_version').fetchone()
        for db in (source, copy)
    ]
    if versions[0] != versions[1]:
        raise ErasureError(f"the copy has schema version {versions[1]}, not {versions[0]}")


def swap_in_copy(workspace: Workspace) -> None:
    """fsync the checked copy and rename it over folio.duckdb; call with no connection open.

    A WAL beside the old file would be replayed into the new one on its next open, so the swap
    refuses while one exists (a clean close checkpoints and removes it)."""
    db, tmp = workspace.db_path, copy_path(workspace)
    for wal in (db.with_name(db.name + ".wal"), tmp.with_name(tmp.name + ".wal")):
        if wal.exists() and wal.stat().st_size:
            raise ErasureError(f"{wal.name} holds unwritten changes; run the erasure again")
        with contextlib.suppress(FileNotFoundError):
            wal.unlink()
    fd = os.open(tmp, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, db)
    folder = os.open(db.parent, os.O_RDONLY)
    try:
        os.fsync(folder)  # the rename itself survives a power cut
    finally:
        os.close(folder)
