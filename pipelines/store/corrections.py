"""Review corrections: append-only records, journaled to files, loaded into DuckDB.

A correction never overwrites an extraction. Each edit is one immutable record (who, when, what
element, old and new value, which stage version made the original). The app writes it to the
workspace journal atomically (so a batch holding the database never blocks or loses it), then
asks the loader to ingest. `undo` is itself a correction that cancels an earlier one; the
`reviewed_*` views apply the latest effective correction per element.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from pipelines.store.workspace import Workspace

TargetType = Literal[
    "word", "line", "block", "cell", "table", "entity", "field", "page", "document"
]
Action = Literal["edit", "delete", "add", "relabel", "accept", "undo", "retry"]


class Correction(BaseModel):
    model_config = ConfigDict(extra="forbid")

    correction_id: str = Field(default_factory=lambda: uuid.uuid4().hex)
    document_id: str
    result_id: str
    target_type: TargetType
    target_id: str  # element id (p0-w12, p0-l3, e-...), page id (p0) or document id
    page_index: int | None = None
    action: Action
    old_value: Any = None
    new_value: Any = None  # text for edits; {"label": ..} for relabel; the element for add
    reviewer: str
    created_at: str = Field(default_factory=lambda: datetime.now(UTC).isoformat())
    stage_version: str | None = None  # e.g. "ocr.ppocr@1": which stage made the original
    undoes: str | None = None  # for action == "undo": the correction_id cancelled


class ReviewerRequired(ValueError):
    """Edits need a reviewer name (real authentication comes with the security work)."""


def journal(workspace: Workspace, correction: Correction) -> Correction:
    """Durably record a correction (atomic file in the journal); loading happens separately."""
    if not correction.reviewer.strip():
        raise ReviewerRequired("enter your name before editing")
    workspace.staging.write("journal", correction.correction_id, correction.model_dump(mode="json"))
    return correction


def correction_row(entry: dict[str, Any]) -> dict[str, Any]:
    row = Correction.model_validate(entry).model_dump(mode="json")
    row["old_value"] = json.dumps(row["old_value"])
    row["new_value"] = json.dumps(row["new_value"])
    row["created_at"] = datetime.fromisoformat(row["created_at"])
    return row


MIGRATION_2 = """
CREATE TABLE corrections (
    correction_id VARCHAR PRIMARY KEY, document_id VARCHAR, result_id VARCHAR,
    target_type VARCHAR, target_id VARCHAR, page_index INTEGER, action VARCHAR,
    old_value JSON, new_value JSON, reviewer VARCHAR, created_at TIMESTAMPTZ,
    stage_version VARCHAR, undoes VARCHAR, loaded_at TIMESTAMPTZ DEFAULT current_timestamp
);
-- Corrections still in force: not undone, and made on the document's current result.
CREATE VIEW effective_corrections AS
    SELECT c.* FROM corrections c
    SEMI JOIN current_results r ON c.result_id = r.result_id
    WHERE c.action <> 'undo'
      AND c.correction_id NOT IN (SELECT undoes FROM corrections WHERE action = 'undo'
                                  AND undoes IS NOT NULL);
-- The latest text edit or delete per element.
CREATE VIEW latest_element_corrections AS
    SELECT * EXCLUDE (rank_) FROM (
        SELECT *, row_number() OVER (PARTITION BY document_id, target_type, target_id
                                     ORDER BY created_at DESC) AS rank_
        FROM effective_corrections WHERE action IN ('edit', 'delete', 'relabel'))
    WHERE rank_ = 1;
CREATE VIEW reviewed_words AS
    SELECT w.* REPLACE (coalesce(c.new_value ->> '$', w.text) AS text),
           c.correction_id IS NOT NULL AS corrected, c.reviewer AS corrected_by
    FROM words w LEFT JOIN latest_element_corrections c
      ON c.document_id = w.document_id AND c.target_type = 'word' AND c.target_id = w.word_id
    WHERE c.action IS DISTINCT FROM 'delete';
CREATE VIEW reviewed_lines AS
    SELECT l.* REPLACE (coalesce(c.new_value ->> '$', l.text) AS text),
           c.correction_id IS NOT NULL AS corrected, c.reviewer AS corrected_by
    FROM lines l LEFT JOIN latest_element_corrections c
      ON c.document_id = l.document_id AND c.target_type = 'line' AND c.target_id = l.line_id
    WHERE c.action IS DISTINCT FROM 'delete';
CREATE VIEW reviewed_cells AS
    SELECT t.* REPLACE (coalesce(c.new_value ->> '$', t.text) AS text),
           c.correction_id IS NOT NULL AS corrected, c.reviewer AS corrected_by
    FROM cells t LEFT JOIN latest_element_corrections c
      ON c.document_id = t.document_id AND c.target_type = 'cell'
     AND c.target_id = t.table_id || ':' || t."row" || ':' || t.col;
CREATE VIEW reviewed_entities AS
    SELECT e.* REPLACE (coalesce(c.new_value ->> '$.label', e.label) AS label,
                        coalesce(c.new_value ->> '$.text', e.text) AS text),
           c.correction_id IS NOT NULL AS corrected, c.reviewer AS corrected_by
    FROM entities e LEFT JOIN latest_element_corrections c
      ON c.document_id = e.document_id AND c.target_type = 'entity' AND c.target_id = e.entity_id
    WHERE c.action IS DISTINCT FROM 'delete'
    UNION ALL BY NAME
    SELECT a.document_id, a.target_id AS entity_id, a.new_value ->> '$.label' AS label,
           a.new_value ->> '$.text' AS text, a.new_value ->> '$.value' AS value,
           a.page_index, CAST(a.new_value -> '$.bbox[0]' AS DOUBLE) AS x0,
           CAST(a.new_value -> '$.bbox[1]' AS DOUBLE) AS y0,
           CAST(a.new_value -> '$.bbox[2]' AS DOUBLE) AS x1,
           CAST(a.new_value -> '$.bbox[3]' AS DOUBLE) AS y1,
           1.0 AS confidence, 'review' AS source, true AS corrected, a.reviewer AS corrected_by
    FROM effective_corrections a
    WHERE a.target_type = 'entity' AND a.action = 'add'
      AND a.target_id NOT IN (SELECT target_id FROM latest_element_corrections
                              WHERE target_type = 'entity' AND action = 'delete');
CREATE VIEW reviewed_fields AS
    SELECT f.* REPLACE (coalesce(c.new_value ->> '$', f.value) AS value),
           c.correction_id IS NOT NULL AS corrected, c.reviewer AS corrected_by
    FROM fields f LEFT JOIN latest_element_corrections c
      ON c.document_id = f.document_id AND c.target_type = 'field' AND c.target_id = f.name
    WHERE c.action IS DISTINCT FROM 'delete';
-- Review state per document: accepted pages, last reviewer, number of corrections.
CREATE VIEW reviews AS
    SELECT d.document_id,
           count(c.correction_id) FILTER (WHERE c.action NOT IN ('accept', 'retry'))
               AS n_corrections,
           count(DISTINCT c.page_index)
               FILTER (WHERE c.action = 'accept' AND c.target_type = 'page') AS pages_accepted,
           coalesce(bool_or(c.action = 'accept' AND c.target_type = 'document'), false)
               OR count(DISTINCT c.page_index) FILTER (
                   WHERE c.action = 'accept' AND c.target_type = 'page') >= max(d.n_pages)
                  AND max(d.n_pages) > 0
               AS reviewed,
           arg_max(c.reviewer, c.created_at) AS last_reviewer,
           max(c.created_at) AS last_reviewed_at
    FROM documents d LEFT JOIN effective_corrections c USING (document_id)
    GROUP BY d.document_id;
"""
