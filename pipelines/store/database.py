"""The DuckDB side of a workspace: short write transactions for the loader, retried read-only
connections for everyone else.

DuckDB lets one process write, and while it has the file open read-write no other process can
even read. So nobody holds a connection for long: the loader opens, writes one bulk transaction
(Arrow tables, not row by row), and closes; readers open read-only per query and retry briefly
when the loader holds the file.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from extractors.document import Document
from pipelines.store.schema import migrate
from pipelines.store.workspace import Workspace

logger = logging.getLogger(__name__)

LOCK_WAIT_S = 30.0
SAFE_CONFIG = {
    # User SQL can read the workspace and nothing else: no files, no network, no extensions.
    "enable_external_access": False,
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
    "lock_configuration": True,
}


# The app's background loader and a page's first read both create the schema of a new workspace.
_MIGRATING = threading.Lock()


class StoreBusyError(RuntimeError):
    """The database stayed locked by another process for longer than we wait."""


def _is_lock_error(error: Exception) -> bool:
    """Another connection holds the file: another process's lock, or, in this process (the
    app's background loader beside a page's query), a connection opened read-write while this
    one asks read-only or the reverse; both last one short transaction."""
    text = str(error).lower()
    return (
        "lock" in text
        or "conflicting" in text
        or "different configuration than existing connections" in text
    )


def _connect(path: Path, read_only: bool, wait_s: float) -> duckdb.DuckDBPyConnection:
    deadline = time.monotonic() + wait_s
    delay = 0.02
    while True:
        try:
            if read_only:
                return duckdb.connect(str(path), read_only=True, config=dict(SAFE_CONFIG))
            return duckdb.connect(str(path))
        except duckdb.Error as error:
            if not _is_lock_error(error) or time.monotonic() > deadline:
                if _is_lock_error(error):
                    raise StoreBusyError(
                        f"the workspace database {path} stayed locked for {wait_s:.0f} s"
                    ) from error
                raise
            time.sleep(delay)
            delay = min(delay * 2, 0.5)


@contextlib.contextmanager
def write_connection(
    workspace: Workspace, wait_s: float = LOCK_WAIT_S
) -> Iterator[duckdb.DuckDBPyConnection]:
    con = _connect(workspace.db_path, read_only=False, wait_s=wait_s)
    try:
        with _MIGRATING:  # two connections of this process must not migrate at once
            migrate(con)
        yield con
    finally:
        con.close()


@contextlib.contextmanager
def read_connection(
    workspace: Workspace, wait_s: float = LOCK_WAIT_S
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection with file and network access disabled."""
    if not workspace.db_path.exists():
        with write_connection(workspace, wait_s):
            pass  # create the schema so readers of a fresh workspace see empty views
    con = _connect(workspace.db_path, read_only=True, wait_s=wait_s)
    try:
        yield con
    finally:
        con.close()


def query(workspace: Workspace, sql: str, params: list[Any] | None = None) -> pa.Table:
    """Run one read-only query and return its result as an Arrow table."""
    with read_connection(workspace) as con:
        return con.sql(sql, params=params or None).to_arrow_table()


def known_result_ids(workspace: Workspace, statuses: tuple[str, ...] | None = None) -> set[str]:
    """Result ids already loaded or staged (optionally only with the given statuses)."""
    sql = "SELECT result_id FROM results"
    params: list[Any] = []
    if statuses:
        sql += " WHERE status IN (" + ", ".join("?" for _ in statuses) + ")"
        params = list(statuses)
    loaded = {row for row in query(workspace, sql, params).column("result_id").to_pylist()}
    staging = workspace.staging
    if statuses is None:
        return loaded | staging.keys("results")
    staged = set()
    for entry in staging.entries("results"):
        payload = staging.read(entry)  # None: loaded and removed meanwhile, or not ready
        with contextlib.suppress(KeyError, TypeError):
            if payload is not None and payload["document"]["status"] in statuses:
                staged.add(entry.key)
    return loaded | staged


def load_document(workspace: Workspace, document_id: str) -> Document | None:
    """The current result of one document, as the export contract."""
    table = query(
        workspace,
        "SELECT r.document_json FROM current_results r WHERE r.document_id = ?",
        [document_id],
    )
    if table.num_rows == 0:
        return None
    return Document.from_json(table.column("document_json")[0].as_py())


def load_result(workspace: Workspace, result_id: str) -> Document | None:
    """One result (a document under one configuration), loaded or not yet: None until the
    loader has moved its bundle into the database."""
    table = query(workspace, "SELECT document_json FROM results WHERE result_id = ?", [result_id])
    if table.num_rows == 0:
        return None
    return Document.from_json(table.column("document_json")[0].as_py())


def result_status(workspace: Workspace, result_id: str) -> str | None:
    """The status of a loaded result (ok, partial, failed), None when it is not loaded."""
    table = query(workspace, "SELECT status FROM results WHERE result_id = ?", [result_id])
    return None if table.num_rows == 0 else str(table.column("status")[0].as_py())
