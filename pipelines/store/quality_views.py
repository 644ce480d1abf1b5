"""Migration 9: review statistics straight from the corrections journal (views only).

Reviewed documents are ground truth. `review_outcomes` has one row per element a reviewer
judged (accepted as it was, corrected, deleted) or added, and per reviewed document;
`review_rates` counts them by stage, field, document type, reviewer and day. docs/sql.md
("Review statistics") defines "reviewed" and "accepted as-is" exactly.

Elements are those of each document's current result; corrections and accepts come from
`effective_corrections` (undone ones and accepts made on an earlier result do not count).
A stage's version comes from the versions the pipeline recorded for the result, so elements
accepted without a correction carry one too.
"""

from __future__ import annotations

MIGRATION_9 = """
CREATE VIEW review_outcomes AS
WITH elements AS (
    SELECT document_id, page_index, 'word' AS target_type, word_id AS target_id,
           NULL::VARCHAR AS alt_id, source, NULL::VARCHAR AS field, confidence FROM words
    UNION ALL
    SELECT document_id, page_index, 'line', line_id, NULL, source, NULL, confidence FROM lines
    UNION ALL
    SELECT c.document_id, c.page_index, 'cell', c.cell_id,
           c.table_id || ':' || c."row" || ':' || c.col, t.source, NULL, c.confidence
    FROM cells c JOIN tables t ON t.document_id = c.document_id AND t.table_id = c.table_id
    UNION ALL
    SELECT document_id, page_index, 'table', table_id, NULL, source, NULL, confidence FROM tables
    UNION ALL
    SELECT document_id, page_index, 'entity', entity_id, NULL, source, label, confidence
    FROM entities
    UNION ALL
    SELECT document_id, page_index, 'field', field_id, name, source, name, confidence FROM fields
),
accepts AS (
    SELECT document_id, target_type, page_index, reviewer, created_at
    FROM effective_corrections
    WHERE action = 'accept' AND target_type IN ('page', 'document')
),
page_accepts AS (  -- the first accept that covers each page (its own, or the document's)
    SELECT p.document_id, p.page_index, arg_min(a.reviewer, a.created_at) AS reviewer,
           min(a.created_at) AS accepted_at
    FROM pages p JOIN accepts a ON a.document_id = p.document_id
     AND (a.target_type = 'document' OR a.page_index = p.page_index)
    GROUP BY ALL
),
doc_accepts AS (  -- a document accept also covers elements without a page
    SELECT document_id, arg_min(reviewer, created_at) AS reviewer, min(created_at) AS accepted_at
    FROM accepts WHERE target_type = 'document' GROUP BY ALL
),
fixes AS (
    SELECT document_id, target_type, target_id, action, reviewer, created_at
    FROM latest_element_corrections
),
judged AS (
    SELECT e.*,
           CASE WHEN a.target_id IS NOT NULL THEN a.action ELSE b.action END AS fix_action,
           CASE WHEN a.target_id IS NOT NULL THEN a.reviewer ELSE b.reviewer END AS fix_by,
           CASE WHEN a.target_id IS NOT NULL THEN a.created_at ELSE b.created_at END AS fix_at,
           coalesce(p.reviewer, d.reviewer) AS accept_by,
           coalesce(p.accepted_at, d.accepted_at) AS accept_at
    FROM elements e
    LEFT JOIN fixes a ON a.document_id = e.document_id AND a.target_type = e.target_type
     AND a.target_id = e.target_id
    LEFT JOIN fixes b ON b.document_id = e.document_id AND b.target_type = e.target_type
     AND b.target_id = e.alt_id
    LEFT JOIN page_accepts p ON p.document_id = e.document_id AND p.page_index = e.page_index
    LEFT JOIN doc_accepts d ON d.document_id = e.document_id
),
outcomes AS (
    SELECT document_id, page_index, target_type, target_id, source AS stage, field, confidence,
           CASE fix_action WHEN 'delete' THEN 'deleted' WHEN 'edit' THEN 'corrected'
                WHEN 'relabel' THEN 'corrected' ELSE 'accepted' END AS outcome,
           coalesce(fix_by, accept_by) AS reviewer,
           coalesce(fix_at, accept_at) AS reviewed_at
    FROM judged WHERE fix_action IS NOT NULL OR accept_at IS NOT NULL
    UNION ALL  -- what a stage missed: entities a reviewer added (and did not delete again)
    SELECT a.document_id, a.page_index, 'entity', a.target_id, NULL, a.new_value ->> '$.label',
           NULL, 'added', a.reviewer, a.created_at
    FROM effective_corrections a
    WHERE a.target_type = 'entity' AND a.action = 'add'
      AND a.target_id NOT IN (SELECT target_id FROM latest_element_corrections
                              WHERE target_type = 'entity' AND action = 'delete')
),
doc_outcomes AS (  -- a reviewed document: accepted as a whole, or every page accepted
    SELECT r.document_id, NULL::INTEGER AS page_index, 'document' AS target_type,
           r.document_id AS target_id, NULL::VARCHAR AS stage, NULL::VARCHAR AS field,
           NULL::DOUBLE AS confidence,
           CASE WHEN r.n_corrections > 0 THEN 'corrected' ELSE 'accepted' END AS outcome,
           coalesce(d.reviewer, arg_max(p.reviewer, p.accepted_at)) AS reviewer,
           coalesce(d.accepted_at, max(p.accepted_at)) AS reviewed_at
    FROM reviews r
    LEFT JOIN doc_accepts d ON d.document_id = r.document_id
    LEFT JOIN page_accepts p ON p.document_id = r.document_id
    WHERE r.reviewed
    GROUP BY r.document_id, r.n_corrections, d.reviewer, d.accepted_at
)
SELECT o.document_id, o.page_index, o.target_type, o.target_id, o.stage,
       CASE WHEN o.stage IS NOT NULL THEN o.stage || coalesce('@' || (r.stages ->> o.stage), '')
       END AS stage_version,
       o.field, d.doc_type, o.confidence, o.outcome, o.reviewer, o.reviewed_at,
       CAST(timezone('UTC', o.reviewed_at) AS DATE) AS day, d.run_id, d.profile
FROM (SELECT * FROM outcomes UNION ALL BY NAME SELECT * FROM doc_outcomes) o
JOIN documents d ON d.document_id = o.document_id
JOIN current_results r ON r.result_id = d.result_id;

CREATE VIEW review_rates AS
    SELECT target_type, stage, stage_version, field, doc_type, reviewer, day,
           count(*) FILTER (WHERE outcome <> 'added') AS n_reviewed,
           count(*) FILTER (WHERE outcome = 'accepted') AS n_accepted,
           count(*) FILTER (WHERE outcome = 'corrected') AS n_corrected,
           count(*) FILTER (WHERE outcome = 'deleted') AS n_deleted,
           count(*) FILTER (WHERE outcome = 'added') AS n_added,
           n_accepted / nullif(n_reviewed, 0) AS accepted_share,
           (n_corrected + n_deleted) / nullif(n_reviewed, 0) AS correction_rate
    FROM review_outcomes
    GROUP BY ALL;
"""
