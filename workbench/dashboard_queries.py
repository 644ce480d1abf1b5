"""The Dashboards page's SQL: named, parameterised queries (plain functions, no Streamlit).

Every query takes the same filters as DuckDB named parameters: `$runs` and `$profiles` (lists,
NULL for all) choose the documents (runs and evaluations: by their own run id and profile);
`$start`/`$end` (TIMESTAMPTZ, NULL for open ends, end exclusive) bound each chart's own time:
a run's start, a document's processing, a review's time, an evaluation's start. The page shows
each query with its parameters written in as literals (`render_sql`), so an analyst can paste
it into `folio sql` or the SQL page and get the same rows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pandas as pd

from pipelines.store.database import read_connection
from pipelines.store.workspace import Workspace
from workbench.data import LOW_CONFIDENCE

CONFIDENCE_BINS = 20


def _documents(alias: str) -> str:
    return (
        f"($runs IS NULL OR list_contains($runs, {alias}.run_id)) "
        f"AND ($profiles IS NULL OR list_contains($profiles, {alias}.profile))"
    )


def _period(column: str) -> str:
    return f"($start IS NULL OR {column} >= $start) AND ($end IS NULL OR {column} < $end)"


QUERIES: dict[str, str] = {
    "throughput": f"""
SELECT r.run_id, r.profile, r.started_at, r.n_pages, r.elapsed_s, r.pages_per_s
FROM runs r
WHERE {_documents("r")} AND {_period("r.started_at")}
ORDER BY r.started_at, r.run_id""",
    "stage_latency": f"""
SELECT r.run_id, r.profile, r.started_at, s.stage,
       CAST(r.stage_ms ->> s.stage AS DOUBLE) AS total_ms,
       total_ms / nullif(r.n_pages, 0) AS ms_per_page
FROM runs r, unnest(json_keys(r.stage_ms)) AS s(stage)
WHERE {_documents("r")} AND {_period("r.started_at")}
ORDER BY r.started_at, r.run_id, s.stage""",
    "confidence": f"""
WITH items AS (
    SELECT 'words' AS kind, document_id, confidence FROM words
    UNION ALL SELECT 'fields', document_id, confidence FROM fields
    UNION ALL SELECT 'entities', document_id, confidence FROM entities
    UNION ALL SELECT 'cells', document_id, confidence FROM cells
)
SELECT i.kind, least(floor(i.confidence * $bins), $bins - 1) / $bins AS bin_start,
       count(*) AS n
FROM items i JOIN documents d USING (document_id)
WHERE i.confidence IS NOT NULL AND {_documents("d")} AND {_period("d.processed_at")}
GROUP BY ALL ORDER BY i.kind, bin_start""",
    "needs_review": f"""
SELECT d.run_id, count(*) AS n_documents,
       count(*) FILTER (WHERE d.needs_review) AS n_needs_review,
       n_needs_review / n_documents AS share_needs_review,
       CAST(coalesce(sum(w.words_), 0) AS BIGINT) AS n_words,
       CAST(coalesce(sum(w.low_), 0) AS BIGINT) AS n_low_words,
       n_low_words / nullif(n_words, 0) AS share_low_words
FROM documents d
LEFT JOIN (SELECT document_id, count(*) AS words_,
                  count(*) FILTER (WHERE confidence < coalesce(
                      map_extract(MAP(CAST($low_stages AS VARCHAR[]),
                                      CAST($low_thresholds AS DOUBLE[])), source)[1],
                      $low)) AS low_
           FROM words GROUP BY document_id) w USING (document_id)
WHERE {_documents("d")} AND {_period("d.processed_at")}
GROUP BY d.run_id ORDER BY d.run_id""",
    "review_state": f"""
SELECT CASE WHEN r.reviewed THEN 'reviewed'
            WHEN r.pages_accepted > 0 OR r.n_corrections > 0 THEN 'in review'
            ELSE 'not reviewed' END AS state,
       count(*) AS n_documents, CAST(coalesce(sum(d.n_pages), 0) AS BIGINT) AS n_pages
FROM documents d JOIN reviews r USING (document_id)
WHERE {_documents("d")} AND {_period("d.processed_at")}
GROUP BY ALL ORDER BY state""",
    "review_progress": f"""
SELECT o.day, count(*) AS reviewed,
       CAST(sum(count(*)) OVER (ORDER BY o.day) AS BIGINT) AS cumulative
FROM review_outcomes o
WHERE o.target_type = 'document' AND {_documents("o")} AND {_period("o.reviewed_at")}
GROUP BY o.day ORDER BY o.day""",
    "reviewer_throughput": f"""
SELECT o.reviewer, o.day,
       count(*) FILTER (WHERE o.target_type = 'document') AS documents,
       count(*) FILTER (WHERE o.target_type <> 'document' AND o.outcome <> 'added') AS elements,
       count(*) FILTER (WHERE o.target_type <> 'document' AND o.outcome <> 'accepted')
           AS corrections
FROM review_outcomes o
WHERE {_documents("o")} AND {_period("o.reviewed_at")}
GROUP BY ALL ORDER BY o.day, o.reviewer""",
    "correction_rates": f"""
SELECT coalesce(o.field, o.target_type) AS field, o.target_type, o.doc_type,
       count(*) FILTER (WHERE o.outcome <> 'added') AS n_reviewed,
       count(*) FILTER (WHERE o.outcome = 'accepted') AS n_accepted,
       count(*) FILTER (WHERE o.outcome IN ('corrected', 'deleted')) AS n_corrected,
       count(*) FILTER (WHERE o.outcome = 'added') AS n_added,
       n_corrected / nullif(n_reviewed, 0) AS correction_rate
FROM review_outcomes o
WHERE o.target_type <> 'document' AND {_documents("o")} AND {_period("o.reviewed_at")}
GROUP BY ALL ORDER BY field, o.doc_type NULLS LAST""",
    "evaluations": f"""
SELECT h.started_at, h.dataset, h.split, h.profile, h.task, h.metric, h.scope, h.value,
       h.previous_value, h.delta, h.n
FROM eval_history h
WHERE ($profiles IS NULL OR list_contains($profiles, h.profile)) AND {_period("h.started_at")}
ORDER BY h.started_at, h.dataset, h.task, h.metric, h.scope""",
    "failures": f"""
SELECT coalesce(u.e ->> 'stage', '?') AS stage,
       trim(split_part(coalesce(u.e ->> 'message', ''), ':', 1)) AS reason,
       count(DISTINCT d.document_id) AS n_documents, count(*) AS n_errors
FROM documents d, unnest(CAST(d.errors AS JSON[])) AS u(e)
WHERE {_documents("d")} AND {_period("d.processed_at")}
GROUP BY ALL ORDER BY n_documents DESC, stage, reason""",
}

# What the filters offer: every run and profile the workspace knows, and its time span.
OPTIONS_SQL = """
SELECT 'run' AS kind, run_id AS value, started_at AS at FROM runs
UNION ALL SELECT 'profile', profile, NULL FROM runs
UNION ALL SELECT 'profile', profile, NULL FROM documents
UNION ALL SELECT 'profile', profile, NULL FROM eval_runs
UNION ALL SELECT 'time', NULL, min(processed_at) FROM documents
UNION ALL SELECT 'time', NULL, max(processed_at) FROM documents
UNION ALL SELECT 'time', NULL, min(started_at) FROM eval_runs
UNION ALL SELECT 'time', NULL, max(started_at) FROM eval_runs
UNION ALL SELECT 'time', NULL, min(created_at) FROM corrections
UNION ALL SELECT 'time', NULL, max(created_at) FROM corrections
"""

_PARAMETER = re.compile(r"\$([a-z_]+)\b")


@dataclass(frozen=True)
class Filters:
    """Runs and profiles (empty: all) and a period of whole UTC days (None: open)."""

    runs: tuple[str, ...] = ()
    profiles: tuple[str, ...] = ()
    first_day: date | None = None
    last_day: date | None = None
    # Raw word-confidence thresholds per stage from the workspace's calibration (the review
    # target read through it); stages not listed use LOW_CONFIDENCE as is.
    low_by_stage: tuple[tuple[str, float], ...] = ()

    def parameters(self) -> dict[str, Any]:
        return {
            "runs": list(self.runs) or None,
            "profiles": list(self.profiles) or None,
            "start": _day_start(self.first_day),
            "end": _day_start(self.last_day + timedelta(days=1) if self.last_day else None),
            "low": LOW_CONFIDENCE,
            "low_stages": [stage for stage, _ in self.low_by_stage],
            "low_thresholds": [threshold for _, threshold in self.low_by_stage],
            "bins": CONFIDENCE_BINS,
        }


def _day_start(day: date | None) -> datetime | None:
    return datetime.combine(day, time(), tzinfo=UTC) if day else None


def parameters_for(name: str, filters: Filters) -> dict[str, Any]:
    """The parameters query `name` uses (DuckDB refuses unused named parameters)."""
    used = set(_PARAMETER.findall(QUERIES[name]))
    return {key: value for key, value in filters.parameters().items() if key in used}


def run_query(workspace: Workspace, name: str, filters: Filters) -> pd.DataFrame:
    """One dashboard query over a read-only connection."""
    with read_connection(workspace) as con:
        return con.sql(QUERIES[name], params=parameters_for(name, filters)).df()


def filter_options(workspace: Workspace) -> dict[str, list[Any]]:
    """Runs (oldest first), profiles, and the first and last day anything happened (a run,
    a document processed, an evaluation, a review)."""
    with read_connection(workspace) as con:
        rows = con.sql(OPTIONS_SQL).fetchall()
    runs = [value for _, value, _ in sorted((r for r in rows if r[0] == "run"), key=_when)]
    profiles = sorted({value for kind, value, _ in rows if kind == "profile" and value})
    days = sorted(at.astimezone(UTC).date() for _, _, at in rows if at is not None)
    return {"runs": runs, "profiles": profiles, "days": days[:1] + days[-1:]}


def _when(row: tuple[str, str, datetime | None]) -> tuple[bool, datetime | None, str]:
    return (row[2] is None, row[2], row[1])


def render_sql(name: str, filters: Filters) -> str:
    """Query `name` with its parameters written in as SQL literals (runnable as it is)."""
    values = parameters_for(name, filters)
    return _PARAMETER.sub(lambda m: _literal(values[m.group(1)]), QUERIES[name]).strip()


def _literal(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, datetime):
        return f"TIMESTAMPTZ '{value.isoformat()}'"
    if isinstance(value, list):
        return "[" + ", ".join(_literal(item) for item in value) + "]"
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return repr(value)
