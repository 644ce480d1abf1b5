"""The `audit_log` table: audit events appended by the loader and chained by hash.

Each row's `hash` is SHA-256 over its own fields and the previous row's hash, computed here in
Python and re-computable in SQL (every chained field is text, joined by the unit separator
U+001F that no field may contain), so `VERIFY_SQL` checks the whole chain in one query: a
changed row no longer matches its hash, a deleted row leaves a gap in `seq` and a broken link.
Truncating the newest rows leaves a consistent chain, so the loader also writes the head
(`security/audit-head.json`) outside the database, and verification compares it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

MIGRATION_10 = """
CREATE TABLE audit_log (
    seq BIGINT PRIMARY KEY,
    event_id VARCHAR NOT NULL UNIQUE,
    happened_at VARCHAR NOT NULL,
    actor VARCHAR NOT NULL,
    role VARCHAR NOT NULL,
    via VARCHAR NOT NULL,
    action VARCHAR NOT NULL,
    target VARCHAR NOT NULL,
    outcome VARCHAR NOT NULL,
    details VARCHAR NOT NULL,
    prev_hash VARCHAR NOT NULL,
    hash VARCHAR NOT NULL
);
CREATE VIEW audit AS
SELECT seq, CAST(happened_at AS TIMESTAMPTZ) AS happened_at, actor, role, via, action,
       target, outcome, CAST(details AS JSON) AS details
FROM audit_log;
"""

GENESIS = "0" * 64
SEPARATOR = "\x1f"
CHAINED = ("happened_at", "actor", "role", "via", "action", "target", "outcome", "details")
HEAD_FILE = Path("security") / "audit-head.json"

# One query over the whole log: rows whose hash does not match their content, whose link to
# the previous row is broken, or that follow a gap (deleted rows).
VERIFY_SQL = f"""
WITH chain AS (
    SELECT *,
        lag(hash) OVER (ORDER BY seq) AS previous_hash,
        lag(seq) OVER (ORDER BY seq) AS previous_seq
    FROM audit_log
)
SELECT seq, action,
    CASE
        WHEN hash <> sha256(concat_ws(chr(31), CAST(seq AS VARCHAR),
                                      {", ".join(CHAINED)}, prev_hash))
            THEN 'row changed: its hash does not match its content'
        WHEN seq <> coalesce(previous_seq, 0) + 1
            THEN 'rows missing before this one (seq ' || coalesce(previous_seq, 0) + 1
                 || '..' || seq - 1 || ')'
        WHEN prev_hash <> coalesce(previous_hash, '{GENESIS}')
            THEN 'chain broken: prev_hash is not the previous row''s hash'
    END AS problem
FROM chain
WHERE problem IS NOT NULL
ORDER BY seq
"""


def _clean(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return text.replace(SEPARATOR, " ")


def chain_hash(seq: int, fields: dict[str, str], prev_hash: str) -> str:
    joined = SEPARATOR.join([str(seq), *(fields[name] for name in CHAINED), prev_hash])
    return hashlib.sha256(joined.encode()).hexdigest()


@dataclass(frozen=True)
class Head:
    seq: int
    hash: str


def append_events(
    con: duckdb.DuckDBPyConnection, events: list[tuple[str, dict[str, Any]]]
) -> Head | None:
    """Append (event_id, payload) pairs in order, skipping ids already logged (a crash after
    the commit and before the staged files were removed); returns the new head."""
    if not events:
        return None
    ids = [event_id for event_id, _ in events]
    con.register("staged_event_ids", pa.table({"event_id": ids}))
    known = {
        row[0]
        for row in con.execute(
            "SELECT event_id FROM audit_log SEMI JOIN staged_event_ids USING (event_id)"
        ).fetchall()
    }
    con.unregister("staged_event_ids")
    last = con.execute("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1").fetchall()
    seq, prev_hash = (int(last[0][0]), str(last[0][1])) if last else (0, GENESIS)
    rows = []
    for event_id, payload in events:
        if event_id in known:
            continue
        known.add(event_id)
        seq += 1
        fields = {name: _clean(payload.get(name, "")) for name in CHAINED}
        digest = chain_hash(seq, fields, prev_hash)
        rows.append(
            {"seq": seq, "event_id": event_id, **fields, "prev_hash": prev_hash, "hash": digest}
        )
        prev_hash = digest
    if not rows:
        return None
    con.register("staged_audit", pa.Table.from_pylist(rows))
    columns = ", ".join(rows[0])
    con.execute(f"INSERT INTO audit_log ({columns}) SELECT {columns} FROM staged_audit")
    con.unregister("staged_audit")
    return Head(seq, prev_hash)


@dataclass(frozen=True)
class Problem:
    seq: int
    action: str
    problem: str


def verify(con: duckdb.DuckDBPyConnection, head: Head | None) -> list[Problem]:
    """Every broken row of the chain, plus a missing or altered head (newest rows deleted)."""
    problems = [Problem(int(s), str(a), str(p)) for s, a, p in con.execute(VERIFY_SQL).fetchall()]
    if head is not None:
        rows = con.execute("SELECT hash FROM audit_log WHERE seq = ?", [head.seq]).fetchall()
        row = rows[0] if rows else None
        if row is None:
            problems.append(
                Problem(head.seq, "", "rows missing at the end: the recorded head is gone")
            )
        elif row[0] != head.hash:
            problems.append(Problem(head.seq, "", "the recorded head's hash does not match"))
    return problems
