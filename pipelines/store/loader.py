"""The loader: staged result bundles, run records and corrections into DuckDB, in bulk.

One loader at a time per workspace (a file lock). A load drains the staging area in bounded
passes; each pass is one write transaction (Arrow tables, not row by row), and a staged file is
removed only after its commit. A crash at any point leaves either the staged file (loaded again
next time, replacing its own rows) or the committed rows, never a duplicate and never a loss.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import duckdb
import pyarrow as pa

from extractors.document import TRUSTED, Document
from pipelines.store.audit_log import HEAD_FILE, Head, append_events
from pipelines.store.corrections import correction_row
from pipelines.store.database import LOCK_WAIT_S, StoreBusyError, write_connection
from pipelines.store.evaluations import insert_evaluation
from pipelines.store.rows import document_rows
from pipelines.store.schema import RESULT_TABLES
from pipelines.store.staging import KINDS, Entry, Kind, StagingArea, latest_per_key
from pipelines.store.workspace import Workspace, atomic_write_json

logger = logging.getLogger(__name__)

MAX_RESULTS_PER_PASS = 500  # bounds the memory of one transaction, not what one load takes


@dataclass
class LoadReport:
    results: int = 0
    runs: int = 0
    corrections: int = 0
    corrupt: int = 0  # set aside into staging/corrupt/
    waiting: int = 0  # unreadable for now, retried on the next load
    locked_out: bool = False  # another loader was at work and we did not wait for it
    passes: int = 0


@dataclass
class _Pass:
    """What one transaction writes, and the staged files it consumes."""

    tables: dict[str, list[dict[str, Any]]] = field(
        default_factory=lambda: {name: [] for name in RESULT_TABLES}
    )
    runs: list[dict[str, Any]] = field(default_factory=list)
    corrections: list[dict[str, Any]] = field(default_factory=list)
    evaluations: list[dict[str, Any]] = field(default_factory=list)
    audit: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    consumed: list[Entry] = field(default_factory=list)
    n_results: int = 0


def load_staged(
    workspace: Workspace,
    kinds: Sequence[Kind] = KINDS,
    wait_s: float = LOCK_WAIT_S,
    blocking: bool = True,
    max_results: int = MAX_RESULTS_PER_PASS,
) -> LoadReport:
    """Drain the staging area (the given kinds) into DuckDB; idempotent and crash-safe.

    `blocking=False` returns at once (`locked_out`) when another loader is at work: it will
    load our entries too. StoreBusyError when the database stayed locked for `wait_s`; nothing
    staged is lost then, the next load takes it.
    """
    report = LoadReport()
    with workspace.loader_lock(blocking=blocking) as acquired:
        if not acquired:
            report.locked_out = True
            return report
        staging = workspace.staging
        staging.sweep_temps()
        attempted: set[str] = set()
        while True:
            work, more = _collect(staging, kinds, max_results, attempted, report)
            if report.passes == 0 or work.consumed:
                _commit(workspace, work, wait_s)  # the first pass also applies migrations
                staging.remove(work.consumed)
                report.results += work.n_results
                report.runs += len(work.runs)
                report.corrections += len(work.corrections)
            report.passes += 1
            if not more:
                return report


def _collect(
    staging: StagingArea,
    kinds: Sequence[Kind],
    max_results: int,
    attempted: set[str],
    report: LoadReport,
) -> tuple[_Pass, bool]:
    work = _Pass()
    loaded_at = datetime.now(UTC)
    more = False
    if "results" in kinds:
        pending = [e for e in staging.entries("results") if e.path.name not in attempted]
        more = len(pending) > max_results
        batch = pending[:max_results]
        attempted.update(e.path.name for e in batch)
        for key, entry in latest_per_key(batch).items():
            document = _read_bundle(staging, entry, report)
            if document is None:
                continue
            bundle, doc = document
            for name, table_rows in document_rows(doc, bundle, loaded_at).items():
                work.tables[name].extend(table_rows)
            work.n_results += 1
            work.consumed.extend(e for e in batch if e.key == key and e.stamp <= entry.stamp)
    if "runs" in kinds:
        entries = staging.entries("runs")
        for key, entry in latest_per_key(entries).items():
            payload = _read_or_retry(staging, entry, report)
            if payload is None:
                continue
            work.runs.append(payload)
            work.consumed.extend(e for e in entries if e.key == key and e.stamp <= entry.stamp)
    if "journal" in kinds:
        for entry in staging.entries("journal"):
            payload = _read_or_retry(staging, entry, report)
            if payload is None:
                continue
            try:
                work.corrections.append(correction_row(payload))
            except ValueError as error:
                staging.set_aside(entry, f"not a correction: {error}")
                report.corrupt += 1
                continue
            work.consumed.append(entry)
    if "evals" in kinds:
        for entry in staging.entries("evals"):
            payload = _read_or_retry(staging, entry, report)
            if payload is not None:
                work.evaluations.append(payload)
                work.consumed.append(entry)
    if "audit" in kinds:
        for entry in staging.entries("audit"):  # oldest first: the chain keeps their order
            payload = _read_or_retry(staging, entry, report)
            if payload is not None:
                work.audit.append((entry.stamp, payload))
                work.consumed.append(entry)
    return work, more


def _read_or_retry(staging: StagingArea, entry: Entry, report: LoadReport) -> dict[str, Any] | None:
    """The payload; None (counted as waiting, or set aside once overdue) when unreadable."""
    payload = staging.read(entry)
    if payload is None and entry.path.exists():
        if staging.is_overdue(entry):
            staging.set_aside(entry, "does not parse as a JSON object")
            report.corrupt += 1
        else:
            report.waiting += 1
    return payload


def _read_bundle(
    staging: StagingArea, entry: Entry, report: LoadReport
) -> tuple[dict[str, Any], Document] | None:
    payload = _read_or_retry(staging, entry, report)
    if payload is None:
        return None
    try:
        document = Document.model_validate(payload["document"], context={TRUSTED: True})
    except (ValueError, KeyError, TypeError) as error:
        # Complete JSON that is not a bundle will not get better by waiting.
        staging.set_aside(entry, f"not a result bundle: {error}")
        report.corrupt += 1
        return None
    return payload, document


def _commit(workspace: Workspace, work: _Pass, wait_s: float) -> None:
    with write_connection(workspace, wait_s) as con:
        if not work.consumed:
            return
        con.execute("BEGIN TRANSACTION")
        try:
            _insert_results(con, work.tables)
            for run in work.runs:
                _upsert_run(con, run)
            _insert_corrections(con, work.corrections)
            for evaluation in work.evaluations:
                insert_evaluation(con, evaluation)
            head = append_events(con, work.audit)
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
    if head is not None:
        _record_head(workspace, head)


def _record_head(workspace: Workspace, head: Head) -> None:
    """The newest audit row, kept outside the database (after its commit, so it never runs
    ahead): verification then notices when the newest rows were deleted."""
    atomic_write_json(workspace.root / HEAD_FILE, {"seq": head.seq, "hash": head.hash})


def _insert_results(
    con: duckdb.DuckDBPyConnection, tables: dict[str, list[dict[str, Any]]]
) -> None:
    result_ids = [row["result_id"] for row in tables["results"]]
    if not result_ids:
        return
    con.register("staged_result_ids", pa.table({"result_id": result_ids}))
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


def load_best_effort(workspace: Workspace, wait_s: float = 2.0) -> LoadReport | None:
    """A periodic load that never stops its caller: None when the database stayed busy."""
    try:
        return load_staged(workspace, wait_s=wait_s, blocking=False)
    except StoreBusyError as error:
        logger.info("periodic load skipped: %s", error)
        return None


def load_with_retries(
    workspace: Workspace, attempts: int = 4, wait_s: float = LOCK_WAIT_S
) -> LoadReport | None:
    """The final load of a batch: wait for the lock several times; None if it never came.

    Nothing is lost when it fails: the entries stay staged and the next start loads them.
    """
    for attempt in range(1, attempts + 1):
        try:
            return load_staged(workspace, wait_s=wait_s)
        except StoreBusyError as error:
            logger.warning("load attempt %d/%d: %s", attempt, attempts, error)
    return None


class BackgroundLoader:
    """Loads staged entries off the caller's thread (the app's save callbacks never block).

    `request()` returns at once; a daemon thread drains the staging area, retrying while the
    database is busy and entries remain.
    """

    def __init__(self, workspace: Workspace, retry_s: float = 2.0) -> None:
        self.workspace = workspace
        self.retry_s = retry_s
        self._wake = threading.Event()
        self._idle = threading.Event()
        self._idle.set()
        self._thread = threading.Thread(target=self._run, name="folio-loader", daemon=True)
        self._thread.start()

    def request(self) -> None:
        self._idle.clear()
        self._wake.set()

    def wait_idle(self, timeout_s: float) -> bool:
        """True once every requested load has been done (tests, shutdown)."""
        return self._idle.wait(timeout_s)

    def _run(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            try:
                report = load_staged(self.workspace, wait_s=self.retry_s)
                if report.waiting:
                    self._retry_later()
                    continue
            except StoreBusyError:
                self._retry_later()
                continue
            except Exception:  # a loader thread that dies would silently stop all loading
                logger.exception("background load failed")
                self._retry_later()
                continue
            if not self._wake.is_set():
                self._idle.set()

    def _retry_later(self) -> None:
        threading.Timer(self.retry_s, self._wake.set).start()
