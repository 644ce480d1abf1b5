"""The DuckDB side of a workspace: short write transactions for the loader, retried read-only
connections for everyone else.

DuckDB lets one process write, and while it has the file open read-write no other process can
even read. So nobody holds a connection for long: the loader opens, writes one bulk transaction
(Arrow tables, not row by row), and closes; readers open read-only per query and retry briefly
when the loader holds the file.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from extractors.document import TRUSTED, Document
from pipelines.corrections import correction_row
from pipelines.rows import document_rows
from pipelines.schema import RESULT_TABLES, migrate
from pipelines.workspace import Workspace

logger = logging.getLogger(__name__)

LOCK_WAIT_S = 30.0
SAFE_CONFIG = {
    # User SQL can read the workspace and nothing else: no files, no network, no extensions.
    "enable_external_access": False,
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
    "lock_configuration": True,
}


class StoreBusyError(RuntimeError):
    """The database stayed locked by another process for longer than we wait."""


def _is_lock_error(error: Exception) -> bool:
    text = str(error).lower()
    return "lock" in text or "could not set lock" in text or "conflicting" in text


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


@dataclass
class LoadReport:
    results: int = 0
    runs: int = 0
    corrections: int = 0
    corrupt: int = 0


def load_staged(workspace: Workspace, max_results: int = 500) -> LoadReport:
    """Move staged result bundles and run records into DuckDB; idempotent and crash-safe.

    Each result id is deleted before it is inserted in the same transaction, and a bundle file
    is removed only after the commit: a crash at any point leaves either the bundle (loaded again
    next time, replacing itself) or the committed rows, never a duplicate.
    """
    report = LoadReport()
    with workspace.loader_lock():
        bundles = sorted(workspace.results_dir.glob("*.json"))[:max_results]
        run_files = sorted(workspace.runs_dir.glob("*.json"))
        journal_files = sorted(workspace.journal_dir.glob("*.json"))
        if not bundles and not run_files and not journal_files:
            with write_connection(workspace):
                return report
        tables: dict[str, list[dict[str, Any]]] = {name: [] for name in RESULT_TABLES}
        loaded: list[Path] = []
        loaded_at = datetime.now(UTC)
        for path in bundles:
            try:
                bundle = json.loads(path.read_bytes())
                document = Document.model_validate(bundle["document"], context={TRUSTED: True})
            except (ValueError, KeyError) as error:
                logger.error("unreadable bundle %s moved aside: %s", path.name, error)
                path.rename(path.with_suffix(".corrupt"))
                report.corrupt += 1
                continue
            rows = document_rows(document, bundle, loaded_at)
            for name, table_rows in rows.items():
                tables[name].extend(table_rows)
            loaded.append(path)
        runs = [json.loads(path.read_bytes()) for path in run_files]
        corrections = []
        for path in journal_files:
            try:
                corrections.append(correction_row(json.loads(path.read_bytes())))
            except ValueError as error:
                logger.error("unreadable correction %s moved aside: %s", path.name, error)
                path.rename(path.with_suffix(".corrupt"))
                report.corrupt += 1
        journal_files = [p for p in journal_files if p.exists()]
        with write_connection(workspace) as con:
            con.execute("BEGIN TRANSACTION")
            try:
                _insert_results(con, tables)
                for run in runs:
                    _upsert_run(con, run)
                _insert_corrections(con, corrections)
                con.execute("COMMIT")
            except Exception:
                con.execute("ROLLBACK")
                raise
        for path in [*loaded, *run_files, *journal_files]:
            path.unlink(missing_ok=True)
        report.results, report.runs, report.corrections = len(loaded), len(runs), len(corrections)
    return report


def _insert_results(
    con: duckdb.DuckDBPyConnection, tables: dict[str, list[dict[str, Any]]]
) -> None:
    result_ids = [row["result_id"] for row in tables["results"]]
    if not result_ids:
        return
    ids = pa.table({"result_id": result_ids})
    con.register("staged_result_ids", ids)
    for name in RESULT_TABLES:
        con.execute(
            f"DELETE FROM {name} WHERE result_id IN (SELECT result_id FROM staged_result_ids)"
        )
    for name, rows in tables.items():
        if not rows:
            continue
        # Registered under a distinct name: a Python variable named like a table would shadow it.
        con.register("staged_rows", pa.Table.from_pylist(rows))
        columns = ", ".join(f'"{column}"' for column in rows[0])
        con.execute(f"INSERT INTO {name} ({columns}) SELECT {columns} FROM staged_rows")
        con.unregister("staged_rows")
    con.unregister("staged_result_ids")


def _insert_corrections(con: duckdb.DuckDBPyConnection, rows: list[dict[str, Any]]) -> None:
    """Append-only; a record loaded twice (crash before its file was removed) is ignored."""
    if not rows:
        return
    con.register("staged_corrections", pa.Table.from_pylist(rows))
    columns = ", ".join(rows[0])
    con.execute(
        f"INSERT INTO corrections ({columns}) SELECT {columns} FROM staged_corrections "
        "WHERE correction_id NOT IN (SELECT correction_id FROM corrections)"
    )
    con.unregister("staged_corrections")


RUN_COLUMNS = (
    "run_id",
    "started_at",
    "finished_at",
    "profile",
    "config_hash",
    "workers",
    "command",
    "n_files",
    "n_skipped",
    "n_ok",
    "n_partial",
    "n_failed",
    "n_pages",
    "elapsed_s",
    "pages_per_s",
    "stage_ms",
    "state",
)


def _upsert_run(con: duckdb.DuckDBPyConnection, run: dict[str, Any]) -> None:
    values = [run.get(column) for column in RUN_COLUMNS]
    values[RUN_COLUMNS.index("stage_ms")] = json.dumps(run.get("stage_ms") or {})
    con.execute("DELETE FROM runs WHERE run_id = ?", [run["run_id"]])
    placeholders = ", ".join("?" for _ in RUN_COLUMNS)
    con.execute(f"INSERT INTO runs ({', '.join(RUN_COLUMNS)}) VALUES ({placeholders})", values)


def known_result_ids(workspace: Workspace, statuses: tuple[str, ...] | None = None) -> set[str]:
    """Result ids already loaded or staged (optionally only with the given statuses)."""
    sql = "SELECT result_id FROM results"
    params: list[Any] = []
    if statuses:
        sql += " WHERE status IN (" + ", ".join("?" for _ in statuses) + ")"
        params = list(statuses)
    loaded = {row for row in query(workspace, sql, params).column("result_id").to_pylist()}
    staged = set()
    for path in workspace.results_dir.glob("*.json"):
        if statuses is None:
            staged.add(path.stem)
            continue
        with contextlib.suppress(ValueError, KeyError):
            if json.loads(path.read_bytes())["document"]["status"] in statuses:
                staged.add(path.stem)
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
