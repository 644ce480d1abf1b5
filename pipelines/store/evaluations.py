"""Evaluation results in the workspace: one record per `folio evaluate` of a dataset split.

`folio evaluate` stages a record (`evals/`, like run records: written once, never rewritten)
and the loader, the only writer, puts it in `eval_runs` (what was evaluated, how: profile,
config hash, stage versions) and `eval_metrics` (one row per number). `eval_history` sets each
metric beside its value in the previous evaluation of the same dataset, split and profile, so
"better or worse since last time" is one query.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import duckdb

if TYPE_CHECKING:
    from pipelines.store.workspace import Workspace

MIGRATION_8 = """
CREATE TABLE eval_runs (
    eval_run_id VARCHAR PRIMARY KEY, started_at TIMESTAMPTZ, dataset VARCHAR, split VARCHAR,
    profile VARCHAR, config_hash VARCHAR, stage_versions JSON, n_items INTEGER,
    elapsed_s DOUBLE, command VARCHAR
);
CREATE TABLE eval_metrics (
    eval_run_id VARCHAR, task VARCHAR, metric VARCHAR, scope VARCHAR, value DOUBLE, n INTEGER
);
CREATE VIEW eval_history AS
    SELECT r.eval_run_id, r.started_at, r.dataset, r.split, r.profile, r.config_hash,
           r.stage_versions, m.task, m.metric, m.scope, m.value, m.n,
           lag(m.value) OVER w AS previous_value,
           m.value - lag(m.value) OVER w AS delta
    FROM eval_metrics m JOIN eval_runs r USING (eval_run_id)
    WINDOW w AS (PARTITION BY r.dataset, r.split, r.profile, m.task, m.metric, m.scope
                 ORDER BY r.started_at, r.eval_run_id);
"""

EVAL_RUN_COLUMNS = (
    "eval_run_id",
    "started_at",
    "dataset",
    "split",
    "profile",
    "config_hash",
    "stage_versions",
    "n_items",
    "elapsed_s",
    "command",
)


@dataclass(frozen=True)
class Metric:
    """One number of an evaluation: `task` (ocr, fields, forms, tables, layout), `metric` (cer,
    f1, precision, recall, teds, ...), `scope` (micro, a field name, a label) and how many
    items it is over."""

    task: str
    metric: str
    scope: str
    value: float
    n: int = 0


def stage_evaluation(workspace: Workspace, record: dict[str, Any]) -> None:
    """Stage an evaluation record (`EVAL_RUN_COLUMNS` plus `metrics`: a list of Metric dicts)."""
    workspace.staging.write("evals", str(record["eval_run_id"]), record)


def evaluation_record(
    eval_run_id: str, run: dict[str, Any], metrics: list[Metric]
) -> dict[str, Any]:
    return {**run, "eval_run_id": eval_run_id, "metrics": [asdict(m) for m in metrics]}


def insert_evaluation(con: duckdb.DuckDBPyConnection, record: dict[str, Any]) -> None:
    """Replace the evaluation's rows (a record loaded twice, after a crash, is the same)."""
    run_id = record["eval_run_id"]
    values = [record.get(c) for c in EVAL_RUN_COLUMNS]
    values[EVAL_RUN_COLUMNS.index("stage_versions")] = json.dumps(
        record.get("stage_versions") or {}
    )
    con.execute("DELETE FROM eval_metrics WHERE eval_run_id = ?", [run_id])
    con.execute("DELETE FROM eval_runs WHERE eval_run_id = ?", [run_id])
    placeholders = ", ".join("?" for _ in EVAL_RUN_COLUMNS)
    con.execute(
        f"INSERT INTO eval_runs ({', '.join(EVAL_RUN_COLUMNS)}) VALUES ({placeholders})", values
    )
    rows = [
        [run_id, m["task"], m["metric"], m["scope"], float(m["value"]), int(m.get("n") or 0)]
        for m in record.get("metrics") or []
    ]
    if rows:
        con.executemany("INSERT INTO eval_metrics VALUES (?, ?, ?, ?, ?, ?)", rows)
