"""Read side of the app: plain functions over the workspace (no Streamlit, unit-tested).

Every function opens a read-only connection per query through `pipelines.store.query`, so the
app never holds the database while a batch loads results in another process.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from extractors.document import Document
from pipelines.evaluation.review_calibration import raw_thresholds, read_calibration
from pipelines.store.database import load_document, query
from pipelines.store.workspace import Workspace
from workbench.overlay import Shading

# The one review setting: flag what is less likely right than this. With a workspace
# calibration (`folio calibrate`) it is turned into a raw confidence threshold per stage;
# without one the raw confidence stands for the probability.
REVIEW_TARGET = float(os.environ.get("FOLIO_REVIEW_TARGET", "0.9"))
LOW_CONFIDENCE = REVIEW_TARGET
STATUS_RANK = {"failed": 0, "partial": 1, "ok": 2}

QUEUE_SQL = """
SELECT d.document_id, d.source_name, d.status, d.doc_type, d.n_pages, d.n_errors, d.errors,
       d.processed_at, d.result_id, d.profile,
       l.mean_confidence, l.min_confidence, coalesce(l.n_low, 0) AS n_low,
       coalesce(r.reviewed, false) AS reviewed, coalesce(r.pages_accepted, 0) AS pages_accepted,
       coalesce(r.n_corrections, 0) AS n_corrections, r.last_reviewer, r.last_reviewed_at
FROM documents d
LEFT JOIN (SELECT document_id, avg(confidence) AS mean_confidence,
                  min(confidence) AS min_confidence,
                  count(*) FILTER (WHERE confidence < {low}) AS n_low
           FROM lines GROUP BY document_id) l USING (document_id)
LEFT JOIN reviews r USING (document_id)
"""


def review_queue(workspace: Workspace) -> pd.DataFrame:
    """One row per document with quality and review state, in risk order."""
    low, params = threshold_sql(thresholds(workspace, "line"))
    frame = query(workspace, QUEUE_SQL.format(low=low), params).to_pandas()
    return sort_by_risk(frame)


def thresholds(workspace: Workspace, target_type: str) -> dict[str, float]:
    """Raw confidence thresholds per stage (source) for one element type, from the
    workspace's calibration; stages it does not know use `REVIEW_TARGET` as is."""
    return raw_thresholds(read_calibration(workspace), target_type, REVIEW_TARGET)


def shading(workspace: Workspace) -> dict[str, Shading]:
    """Overlay colours for lines and words, at the review target and 0.1 below it, read
    through the workspace's calibration like J/K and the doubtful counts."""
    calibrations = read_calibration(workspace)
    poor_target = max(0.0, REVIEW_TARGET - 0.1)
    return {
        kind: Shading(
            doubtful=REVIEW_TARGET,
            poor=poor_target,
            doubtful_by_source=raw_thresholds(calibrations, kind, REVIEW_TARGET),
            poor_by_source=raw_thresholds(calibrations, kind, poor_target),
        )
        for kind in ("line", "word")
    }


def threshold_sql(by_source: dict[str, float]) -> tuple[str, list[Any]]:
    """A SQL expression for an element's threshold (by its `source`), and its parameters."""
    if not by_source:
        return "?", [REVIEW_TARGET]
    cases = " ".join("WHEN ? THEN ?" for _ in by_source)
    params: list[Any] = [v for item in by_source.items() for v in item]
    return f"(CASE source {cases} ELSE ? END)", [*params, REVIEW_TARGET]


def sort_by_risk(frame: pd.DataFrame) -> pd.DataFrame:
    """Failed first, then partial; unreviewed before reviewed; then lowest min confidence."""
    if frame.empty:
        return frame.reset_index(drop=True)
    keyed = frame.assign(
        _rank=frame["status"].map(STATUS_RANK).fillna(3),
        _conf=frame["min_confidence"].fillna(-1.0),
    )
    keyed = keyed.sort_values(["_rank", "reviewed", "_conf", "source_name"], kind="stable")
    return keyed.drop(columns=["_rank", "_conf"]).reset_index(drop=True)


def filter_queue(
    frame: pd.DataFrame,
    statuses: list[str] | None = None,
    reviewed: str = "all",
    search: str = "",
) -> pd.DataFrame:
    """Filter by status, review state ("all", "to review", "reviewed") and a name search."""
    mask = pd.Series(True, index=frame.index)
    if statuses:
        mask &= frame["status"].isin(statuses)
    if reviewed == "reviewed":
        mask &= frame["reviewed"].astype(bool)
    elif reviewed == "to review":
        mask &= ~frame["reviewed"].astype(bool)
    if search.strip():
        mask &= frame["source_name"].str.contains(search.strip(), case=False, regex=False)
    return frame[mask].reset_index(drop=True)


def neighbour(ids: list[str], current: str | None, step: int) -> str | None:
    """The id `step` places from `current` in `ids` (clamped); the first when current is gone."""
    if not ids:
        return None
    if current not in ids:
        return ids[0]
    index = min(max(ids.index(current) + step, 0), len(ids) - 1)
    return ids[index]


@dataclass
class DocumentInfo:
    """The stored files and state of one document's current result."""

    document_id: str
    result_id: str
    source_name: str
    status: str
    profile: str
    stored_path: str | None
    source_path: str | None
    errors: list[dict[str, Any]] = field(default_factory=list)

    def image_path(self) -> Path | None:
        for candidate in (self.stored_path, self.source_path):
            if candidate and Path(candidate).is_file():
                return Path(candidate)
        return None


def document_info(workspace: Workspace, document_id: str) -> DocumentInfo | None:
    table = query(
        workspace,
        "SELECT document_id, result_id, source_name, status, profile, stored_path, source_path, "
        "errors FROM current_results WHERE document_id = ?",
        [document_id],
    )
    rows = table.to_pylist()
    if not rows:
        return None
    row = rows[0]
    row["errors"] = json.loads(row["errors"] or "[]")
    return DocumentInfo(**row)


def current_document(workspace: Workspace, document_id: str) -> Document | None:
    return load_document(workspace, document_id)


def element_corrections(workspace: Workspace, document_id: str) -> dict[tuple[str, str], dict]:
    """Latest effective edit/delete/relabel per (target_type, target_id) of a document."""
    table = query(
        workspace,
        "SELECT target_type, target_id, action, new_value, reviewer FROM "
        "latest_element_corrections WHERE document_id = ?",
        [document_id],
    )
    result: dict[tuple[str, str], dict] = {}
    for row in table.to_pylist():
        row["new_value"] = json.loads(row["new_value"]) if row["new_value"] else None
        result[(row["target_type"], row["target_id"])] = row
    return result


def reviewed_entities(workspace: Workspace, document_id: str) -> pd.DataFrame:
    return query(
        workspace,
        "SELECT entity_id, label, text, value, page_index, x0, y0, x1, y1, confidence, source, "
        "corrected FROM reviewed_entities WHERE document_id = ? ORDER BY page_index, entity_id",
        [document_id],
    ).to_pandas()


def relations(workspace: Workspace, document_id: str) -> pd.DataFrame:
    """Relations of a document with their ends' texts (key -> value links, person -> org, ...)."""
    return query(
        workspace,
        "SELECT r.relation_id, r.label, r.head, h.text AS head_text, r.tail, t.text AS tail_text, "
        "r.evidence, r.confidence, r.source, r.page_index "
        "FROM relations r "
        "LEFT JOIN reviewed_entities h ON h.document_id = r.document_id AND h.entity_id = r.head "
        "LEFT JOIN reviewed_entities t ON t.document_id = r.document_id AND t.entity_id = r.tail "
        "WHERE r.document_id = ? ORDER BY r.page_index, r.relation_id",
        [document_id],
    ).to_pandas()


def reviewed_fields(workspace: Workspace, document_id: str) -> pd.DataFrame:
    return query(
        workspace,
        "SELECT field_id, name, value, item, evidence, flags, page_index, x0, y0, x1, y1, "
        "confidence, source, corrected FROM reviewed_fields WHERE document_id = ? "
        "ORDER BY item NULLS FIRST, name, field_id",
        [document_id],
    ).to_pandas()


def review_state(workspace: Workspace, document_id: str) -> dict[str, Any]:
    """Accepted pages and last reviewer of a document."""
    pages = (
        query(
            workspace,
            "SELECT DISTINCT page_index FROM effective_corrections WHERE document_id = ? "
            "AND action = 'accept' AND target_type = 'page'",
            [document_id],
        )
        .column(0)
        .to_pylist()
    )
    row = query(workspace, "SELECT * FROM reviews WHERE document_id = ?", [document_id]).to_pylist()
    state = row[0] if row else {"reviewed": False, "last_reviewer": None, "n_corrections": 0}
    state["accepted_pages"] = sorted(p for p in pages if p is not None)
    return state


def last_correction(workspace: Workspace, document_id: str, reviewer: str) -> dict | None:
    """The reviewer's latest correction still in force on this document (what undo cancels)."""
    rows = query(
        workspace,
        "SELECT * FROM effective_corrections WHERE document_id = ? AND reviewer = ? "
        "AND action <> 'retry' ORDER BY created_at DESC LIMIT 1",
        [document_id, reviewer],
    ).to_pylist()
    return rows[0] if rows else None


RUNS_SQL = """
SELECT run_id, state, started_at, finished_at, profile, workers, n_files, n_skipped, n_ok,
       n_partial, n_failed, n_pages, elapsed_s, pages_per_s, stage_ms, command
FROM runs ORDER BY started_at DESC
"""


def runs(workspace: Workspace) -> pd.DataFrame:
    return query(workspace, RUNS_SQL).to_pandas()


def stage_breakdown(stage_ms: str | dict | None, n_pages: int | None) -> pd.DataFrame:
    """Per-stage total and per-page milliseconds from a run's stage_ms JSON, slowest first."""
    values = json.loads(stage_ms) if isinstance(stage_ms, str) else (stage_ms or {})
    rows = [
        {
            "stage": name,
            "total_ms": float(ms),
            "ms_per_page": float(ms) / n_pages if n_pages else None,
        }
        for name, ms in values.items()
    ]
    frame = pd.DataFrame(rows, columns=["stage", "total_ms", "ms_per_page"])
    return frame.sort_values("total_ms", ascending=False).reset_index(drop=True)


def failures(workspace: Workspace) -> pd.DataFrame:
    """Documents whose current result is not ok, with readable reasons."""
    frame = query(
        workspace,
        "SELECT source_name, status, run_id, errors, document_id FROM documents "
        "WHERE status <> 'ok' ORDER BY status, source_name",
    ).to_pandas()
    frame["reason"] = [error_summary(text) for text in frame["errors"]]
    return frame.drop(columns=["errors"])


def error_summary(errors: str | list | None) -> str:
    items = json.loads(errors) if isinstance(errors, str) else (errors or [])
    parts = []
    for item in items:
        where = f" (page {item['page'] + 1})" if item.get("page") is not None else ""
        parts.append(f"{item.get('stage', '?')}{where}: {item.get('message', '')}")
    return "; ".join(parts)
