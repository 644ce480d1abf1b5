"""User-supplied SQL: read-only, one statement, no file or network access, a statement timeout.

Safety is enforced by DuckDB itself (a read-only connection with external access disabled and the
configuration locked), not by parsing the SQL; we only translate its refusals into plain words.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator

import duckdb
import pyarrow as pa

from pipelines.store.database import read_connection
from pipelines.store.workspace import Workspace

MAX_ROWS = 100_000
TIMEOUT_ENV = "FOLIO_SQL_TIMEOUT_S"
DEFAULT_TIMEOUT_S = 30.0


class SqlRefused(Exception):
    """A query that was not run, or failed, with a message meant for the person who wrote it."""


def statement_timeout_s() -> float:
    return float(os.environ.get(TIMEOUT_ENV) or DEFAULT_TIMEOUT_S)


@contextlib.contextmanager
def _deadline(con: duckdb.DuckDBPyConnection, seconds: float) -> Iterator[threading.Event]:
    """Interrupt the connection's running statement after `seconds` (DuckDB has no statement
    timeout setting); the event tells the caller the interrupt was ours."""
    fired = threading.Event()

    def stop() -> None:
        fired.set()
        con.interrupt()

    timer = threading.Timer(seconds, stop)
    timer.daemon = True
    timer.start()
    try:
        yield fired
    finally:
        timer.cancel()


def run_user_sql(
    workspace: Workspace,
    statement: str,
    max_rows: int = MAX_ROWS,
    timeout_s: float | None = None,
) -> pa.Table:
    if not statement.strip():
        raise SqlRefused("empty query")
    limit_s = timeout_s if timeout_s is not None else statement_timeout_s()
    fired = threading.Event()
    try:
        with read_connection(workspace) as con, _deadline(con, limit_s) as fired:
            relation = con.sql(statement)
            if relation is None:  # a statement without a result (e.g. PRAGMA, SET)
                return pa.table({})
            return _fetch(relation, max_rows)
    except (duckdb.InterruptException, RuntimeError) as error:
        if fired.is_set():
            raise SqlRefused(
                f"stopped after {limit_s:g} s, the statement timeout ({TIMEOUT_ENV}); "
                "narrow the query or add a LIMIT"
            ) from error
        raise
    except duckdb.PermissionException as error:
        raise SqlRefused(
            "refused: queries cannot read or write files, attach databases or use the network "
            f"({_first_line(error)})"
        ) from error
    except duckdb.InvalidInputException as error:
        text = str(error)
        if "read-only" in text or "configuration has been locked" in text:
            raise SqlRefused(
                "refused: the workspace is read-only from SQL (SELECT/WITH/DESCRIBE/SHOW only)"
            ) from error
        raise SqlRefused(_first_line(error)) from error
    except duckdb.Error as error:
        raise SqlRefused(_first_line(error)) from error


def _fetch(relation: duckdb.DuckDBPyRelation, max_rows: int) -> pa.Table:
    reader = relation.to_arrow_reader(batch_size=10_000)
    batches = []
    total = 0
    for batch in reader:
        batches.append(batch)
        total += batch.num_rows
        if total >= max_rows:
            break
    if not batches:
        return reader.schema.empty_table()
    return pa.Table.from_batches(batches).slice(0, max_rows)


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0]
