"""DuckDB schema of a workspace: numbered migrations and the analyst views.

Raw tables keep every result ever loaded (one per document and pipeline configuration); the
views show the current result of each document (the most recently started one). Analysts query
the views, which are stable and documented in docs/sql.md.
"""

from __future__ import annotations

import duckdb

from pipelines.store.audit_log import MIGRATION_10
from pipelines.store.corrections import MIGRATION_2
from pipelines.store.entity_views import MIGRATION_7
from pipelines.store.evaluations import MIGRATION_8
from pipelines.store.quality_views import MIGRATION_9

BOX = "x0 DOUBLE, y0 DOUBLE, x1 DOUBLE, y1 DOUBLE"

MIGRATION_1 = f"""
CREATE TABLE runs (
    run_id VARCHAR PRIMARY KEY, started_at TIMESTAMPTZ, finished_at TIMESTAMPTZ,
    profile VARCHAR, config_hash VARCHAR, workers INTEGER, command VARCHAR,
    n_files INTEGER, n_skipped INTEGER, n_ok INTEGER, n_partial INTEGER, n_failed INTEGER,
    n_pages INTEGER, elapsed_s DOUBLE, pages_per_s DOUBLE, stage_ms JSON, state VARCHAR
);
CREATE TABLE results (
    result_id VARCHAR PRIMARY KEY, document_id VARCHAR, config_hash VARCHAR, run_id VARCHAR,
    profile VARCHAR, source_name VARCHAR, source_path VARCHAR, stored_path VARCHAR,
    sha256 VARCHAR, media_type VARCHAR, size_bytes BIGINT, status VARCHAR, doc_type VARCHAR,
    n_pages INTEGER, n_errors INTEGER, errors JSON, stages JSON, timings_ms JSON,
    started_at TIMESTAMPTZ, elapsed_ms DOUBLE, loaded_at TIMESTAMPTZ, document_json VARCHAR
);
CREATE TABLE page_rows (
    result_id VARCHAR, document_id VARCHAR, page_index INTEGER, page_id VARCHAR,
    width DOUBLE, height DOUBLE, unit VARCHAR, rotation INTEGER, skew DOUBLE,
    text_source VARCHAR, n_blocks INTEGER, n_lines INTEGER, n_words INTEGER,
    mean_confidence DOUBLE, min_confidence DOUBLE
);
CREATE TABLE block_rows (
    result_id VARCHAR, document_id VARCHAR, page_index INTEGER, block_id VARCHAR,
    kind VARCHAR, reading_order INTEGER, {BOX}, confidence DOUBLE, source VARCHAR, text VARCHAR
);
CREATE TABLE line_rows (
    result_id VARCHAR, document_id VARCHAR, page_index INTEGER, block_id VARCHAR,
    line_id VARCHAR, line_no INTEGER, text VARCHAR, {BOX}, confidence DOUBLE, source VARCHAR
);
CREATE TABLE word_rows (
    result_id VARCHAR, document_id VARCHAR, page_index INTEGER, line_id VARCHAR,
    word_id VARCHAR, word_no INTEGER, text VARCHAR, {BOX}, confidence DOUBLE, source VARCHAR
);
CREATE TABLE table_rows (
    result_id VARCHAR, document_id VARCHAR, page_index INTEGER, table_id VARCHAR,
    n_rows INTEGER, n_cols INTEGER, {BOX}, confidence DOUBLE, source VARCHAR
);
CREATE TABLE cell_rows (
    result_id VARCHAR, document_id VARCHAR, page_index INTEGER, table_id VARCHAR,
    "row" INTEGER, col INTEGER, row_span INTEGER, col_span INTEGER, text VARCHAR,
    is_header BOOLEAN, {BOX}, confidence DOUBLE
);
CREATE TABLE entity_rows (
    result_id VARCHAR, document_id VARCHAR, entity_id VARCHAR, label VARCHAR, text VARCHAR,
    value VARCHAR, page_index INTEGER, {BOX}, confidence DOUBLE, source VARCHAR
);
CREATE TABLE field_rows (
    result_id VARCHAR, document_id VARCHAR, name VARCHAR, value VARCHAR, page_index INTEGER,
    {BOX}, confidence DOUBLE, source VARCHAR
);
CREATE TABLE relation_rows (
    result_id VARCHAR, document_id VARCHAR, relation_id VARCHAR, label VARCHAR, head VARCHAR,
    tail VARCHAR, confidence DOUBLE, source VARCHAR
);

CREATE VIEW current_results AS
    SELECT * EXCLUDE (rank_) FROM (
        SELECT *, row_number() OVER (
            PARTITION BY document_id ORDER BY started_at DESC, loaded_at DESC) AS rank_
        FROM results)
    WHERE rank_ = 1;
CREATE VIEW documents AS
    SELECT document_id, result_id, source_name, source_path, sha256, media_type, size_bytes,
           status, doc_type, n_pages, n_errors, errors, profile, config_hash, run_id,
           started_at AS processed_at, elapsed_ms
    FROM current_results;
"""

# Element views: the raw rows of each document's current result.
ELEMENT_VIEWS = {
    "pages": "page_rows",
    "blocks": "block_rows",
    "lines": "line_rows",
    "words": "word_rows",
    "tables": "table_rows",
    "cells": "cell_rows",
    "entities": "entity_rows",
    "fields": "field_rows",
    "relations": "relation_rows",
}

MIGRATION_1 += "\n".join(
    f"CREATE VIEW {view} AS SELECT t.* EXCLUDE (result_id) FROM {table} t "
    f"SEMI JOIN current_results c ON t.result_id = c.result_id;"
    for view, table in ELEMENT_VIEWS.items()
)

# Element ids (document schema 2), and review work that survives reprocessing: a correction
# made on an earlier result of a document still applies when the current result has the same
# element with the same original value (same id, same text); otherwise it stays in the history.
MIGRATION_3 = """
ALTER TABLE table_rows ADD COLUMN block_id VARCHAR;
ALTER TABLE cell_rows ADD COLUMN cell_id VARCHAR;
ALTER TABLE cell_rows ADD COLUMN word_ids VARCHAR[];
ALTER TABLE entity_rows ADD COLUMN word_ids VARCHAR[];
ALTER TABLE field_rows ADD COLUMN field_id VARCHAR;
CREATE OR REPLACE VIEW correction_history AS
    SELECT c.*,
           c.result_id IN (SELECT result_id FROM current_results) AS on_current_result,
           c.correction_id IN (SELECT undoes FROM corrections WHERE action = 'undo'
                               AND undoes IS NOT NULL) AS undone,
           CASE
             WHEN c.result_id IN (SELECT result_id FROM current_results) THEN true
             WHEN c.action = 'add' THEN true
             WHEN c.target_type = 'word' THEN EXISTS (
                 SELECT 1 FROM words w WHERE w.document_id = c.document_id
                 AND w.word_id = c.target_id AND w.text = c.old_value ->> '$')
             WHEN c.target_type = 'line' THEN EXISTS (
                 SELECT 1 FROM lines l WHERE l.document_id = c.document_id
                 AND l.line_id = c.target_id AND l.text = c.old_value ->> '$')
             WHEN c.target_type = 'cell' THEN EXISTS (
                 SELECT 1 FROM cells t WHERE t.document_id = c.document_id
                 AND c.target_id IN (t.cell_id, t.table_id || ':' || t."row" || ':' || t.col)
                 AND t.text = c.old_value ->> '$')
             WHEN c.target_type = 'field' THEN EXISTS (
                 SELECT 1 FROM fields f WHERE f.document_id = c.document_id
                 AND c.target_id IN (f.field_id, f.name) AND f.value = c.old_value ->> '$')
             WHEN c.target_type = 'entity' THEN EXISTS (
                 SELECT 1 FROM entities e WHERE e.document_id = c.document_id
                 AND e.entity_id = c.target_id)
             ELSE false
           END AS applies
    FROM corrections c;
CREATE OR REPLACE VIEW effective_corrections AS
    SELECT * EXCLUDE (on_current_result, undone, applies) FROM correction_history
    WHERE action <> 'undo' AND NOT undone AND applies;
CREATE OR REPLACE VIEW reviewed_cells AS
    SELECT t.* REPLACE (coalesce(c.new_value ->> '$', t.text) AS text),
           c.correction_id IS NOT NULL AS corrected, c.reviewer AS corrected_by
    FROM cells t LEFT JOIN latest_element_corrections c
      ON c.document_id = t.document_id AND c.target_type = 'cell'
     AND c.target_id IN (t.cell_id, t.table_id || ':' || t."row" || ':' || t.col);
-- Entities a reviewer added from a word name that word.
CREATE OR REPLACE VIEW reviewed_entities AS
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
           1.0 AS confidence, 'review' AS source, true AS corrected, a.reviewer AS corrected_by,
           CASE WHEN a.new_value ->> '$.from' LIKE '%-w%' THEN [a.new_value ->> '$.from']
                ELSE []::VARCHAR[] END AS word_ids
    FROM effective_corrections a
    WHERE a.target_type = 'entity' AND a.action = 'add'
      AND a.target_id NOT IN (SELECT target_id FROM latest_element_corrections
                              WHERE target_type = 'entity' AND action = 'delete');
CREATE OR REPLACE VIEW reviewed_fields AS
    SELECT f.* REPLACE (coalesce(c.new_value ->> '$', f.value) AS value),
           c.correction_id IS NOT NULL AS corrected, c.reviewer AS corrected_by
    FROM fields f LEFT JOIN latest_element_corrections c
      ON c.document_id = f.document_id AND c.target_type = 'field'
     AND c.target_id IN (f.field_id, f.name)
    WHERE c.action IS DISTINCT FROM 'delete';
"""

# Tables that continue across pages (document schema 3), and a wide form of every table for SQL:
# one row per body row of each logical table, its cells as a list by column and as a map from
# header text (rows of header cells joined with " / "; `col<n>` where a column has no header).
MIGRATION_4 = """
ALTER TABLE results ADD COLUMN doc_type_confidence DOUBLE;
ALTER TABLE table_rows ADD COLUMN logical_table_id VARCHAR;
ALTER TABLE table_rows ADD COLUMN continues VARCHAR;
ALTER TABLE table_rows ADD COLUMN repeated_header_rows INTEGER;
ALTER TABLE cell_rows ADD COLUMN logical_row INTEGER;
UPDATE table_rows SET logical_table_id = table_id, repeated_header_rows = 0;
UPDATE cell_rows SET logical_row = "row";
-- A reviewer may also say how many leading rows of a table are its header (a table correction).
CREATE OR REPLACE VIEW reviewed_cells AS
    SELECT t.* REPLACE (
               coalesce(c.new_value ->> '$', t.text) AS text,
               CASE WHEN h.new_value ->> '$.header_rows' IS NULL THEN t.is_header
                    ELSE t."row" < CAST(h.new_value ->> '$.header_rows' AS INTEGER) END
                   AS is_header),
           c.correction_id IS NOT NULL AS corrected, c.reviewer AS corrected_by
    FROM cells t
    LEFT JOIN latest_element_corrections c
      ON c.document_id = t.document_id AND c.target_type = 'cell'
     AND c.target_id IN (t.cell_id, t.table_id || ':' || t."row" || ':' || t.col)
    LEFT JOIN latest_element_corrections h
      ON h.document_id = t.document_id AND h.target_type = 'table' AND h.target_id = t.table_id
     AND h.action = 'edit';
CREATE OR REPLACE VIEW documents AS
    SELECT document_id, result_id, source_name, source_path, sha256, media_type, size_bytes,
           status, doc_type, doc_type_confidence, n_pages, n_errors, errors, profile,
           config_hash, run_id, started_at AS processed_at, elapsed_ms
    FROM current_results;
CREATE OR REPLACE VIEW table_records AS
WITH c AS (
    SELECT rc.*, t.logical_table_id
    FROM reviewed_cells rc
    JOIN tables t ON t.document_id = rc.document_id AND t.table_id = rc.table_id
    WHERE rc.logical_row IS NOT NULL
),
header_cols AS (
    SELECT document_id, logical_table_id, "row", text,
           unnest(range(col, col + greatest(col_span, 1))) AS col
    FROM c WHERE is_header AND trim(text) <> ''
),
header_names AS (
    SELECT document_id, logical_table_id, col, string_agg(text, ' / ' ORDER BY "row") AS name
    FROM header_cols GROUP BY ALL
),
unique_names AS (
    SELECT * REPLACE (CASE WHEN count(*) OVER (PARTITION BY document_id, logical_table_id, name) > 1
                           THEN name || ' (col' || col || ')' ELSE name END AS name)
    FROM header_names
)
SELECT c.document_id, c.logical_table_id AS table_id, c.logical_row AS "row",
       min(c.page_index) AS page_index,
       list(c.text ORDER BY c.col) AS cells,
       map_from_entries(list({'k': coalesce(h.name, 'col' || c.col), 'v': c.text}
                             ORDER BY c.col)) AS record
FROM c LEFT JOIN unique_names h
  ON h.document_id = c.document_id AND h.logical_table_id = c.logical_table_id AND h.col = c.col
WHERE NOT c.is_header
GROUP BY c.document_id, c.logical_table_id, c.logical_row;
"""

# Understanding (document schema 4): a field's words, evidence, line item and failed checks, a
# relation's page and supporting sentence, and why a document should be reviewed first.
MIGRATION_5 = """
ALTER TABLE results ADD COLUMN review_reasons JSON;
ALTER TABLE field_rows ADD COLUMN word_ids VARCHAR[];
ALTER TABLE field_rows ADD COLUMN evidence VARCHAR;
ALTER TABLE field_rows ADD COLUMN item INTEGER;
ALTER TABLE field_rows ADD COLUMN flags VARCHAR[];
ALTER TABLE relation_rows ADD COLUMN page_index INTEGER;
ALTER TABLE relation_rows ADD COLUMN evidence VARCHAR;
CREATE OR REPLACE VIEW documents AS
    SELECT document_id, result_id, source_name, source_path, sha256, media_type, size_bytes,
           status, doc_type, doc_type_confidence, n_pages, n_errors, errors, profile,
           config_hash, run_id, started_at AS processed_at, elapsed_ms,
           coalesce(json_array_length(review_reasons), 0) > 0 AS needs_review, review_reasons
    FROM current_results;
"""

# Table structure in review: the latest `table` correction carries the table's whole reviewed
# state, `{"header_rows": n, "spans": [[row, col, row_span, col_span], ...]}` (every cell larger
# than one position; 1x1 cells everywhere else; without `spans` the cells stay as extracted), and
# its old value the shape it was made on (`n_rows`, `n_cols`): it carries over to a reprocessed
# result whose table has the same id and shape. `reviewed_cells` lays the cells out as the state
# says (the same rules as pipelines/store/table_structure.py): each extracted cell goes to the
# cell holding its top-left position, which takes the id of the extracted cell starting there (else
# `<table>-c<row>-<col>`), the reviewer's text for that id or else its cells' texts (as reviewed)
# joined with a space in reading order, and the union of the parts of their boxes it covers.
MIGRATION_6 = """
CREATE OR REPLACE VIEW correction_history AS
    SELECT c.*,
           c.result_id IN (SELECT result_id FROM current_results) AS on_current_result,
           c.correction_id IN (SELECT undoes FROM corrections WHERE action = 'undo'
                               AND undoes IS NOT NULL) AS undone,
           CASE
             WHEN c.result_id IN (SELECT result_id FROM current_results) THEN true
             WHEN c.action = 'add' THEN true
             WHEN c.target_type = 'word' THEN EXISTS (
                 SELECT 1 FROM words w WHERE w.document_id = c.document_id
                 AND w.word_id = c.target_id AND w.text = c.old_value ->> '$')
             WHEN c.target_type = 'line' THEN EXISTS (
                 SELECT 1 FROM lines l WHERE l.document_id = c.document_id
                 AND l.line_id = c.target_id AND l.text = c.old_value ->> '$')
             WHEN c.target_type = 'cell' THEN EXISTS (
                 SELECT 1 FROM cells t WHERE t.document_id = c.document_id
                 AND c.target_id IN (t.cell_id, t.table_id || ':' || t."row" || ':' || t.col)
                 AND t.text = c.old_value ->> '$')
             WHEN c.target_type = 'table' THEN EXISTS (
                 SELECT 1 FROM tables t WHERE t.document_id = c.document_id
                 AND t.table_id = c.target_id
                 AND (c.old_value ->> '$.n_rows' IS NULL
                      OR (t.n_rows = TRY_CAST(c.old_value ->> '$.n_rows' AS INTEGER)
                          AND t.n_cols = TRY_CAST(c.old_value ->> '$.n_cols' AS INTEGER))))
             WHEN c.target_type = 'field' THEN EXISTS (
                 SELECT 1 FROM fields f WHERE f.document_id = c.document_id
                 AND c.target_id IN (f.field_id, f.name) AND f.value = c.old_value ->> '$')
             WHEN c.target_type = 'entity' THEN EXISTS (
                 SELECT 1 FROM entities e WHERE e.document_id = c.document_id
                 AND e.entity_id = c.target_id)
             ELSE false
           END AS applies
    FROM corrections c;
CREATE OR REPLACE VIEW reviewed_cells AS
WITH fixes AS (
    SELECT document_id, target_type, target_id, action, new_value, reviewer, correction_id
    FROM latest_element_corrections WHERE target_type IN ('cell', 'table')
),
fixed AS (  -- each extracted cell with its text correction (by its id, else its round-1 id)
    SELECT t.*, coalesce(a.correction_id, b.correction_id) IS NOT NULL AS fixed_,
           coalesce(a.reviewer, b.reviewer) AS fixed_by_,
           CASE WHEN a.correction_id IS NOT NULL THEN a.action ELSE b.action END AS action_,
           CASE WHEN a.correction_id IS NOT NULL THEN a.new_value ELSE b.new_value END AS value_
    FROM cells t
    LEFT JOIN fixes a ON a.document_id = t.document_id AND a.target_type = 'cell'
     AND a.target_id = t.cell_id
    LEFT JOIN fixes b ON b.document_id = t.document_id AND b.target_type = 'cell'
     AND b.target_id = t.table_id || ':' || t."row" || ':' || t.col
),
edited AS (
    SELECT f.* EXCLUDE (fixed_, fixed_by_, action_, value_) REPLACE (
               CASE WHEN f.action_ = 'delete' THEN ''
                    WHEN f.action_ = 'edit' THEN coalesce(f.value_ ->> '$', f.text)
                    ELSE f.text END AS text),
           f.fixed_ AS corrected, f.fixed_by_ AS corrected_by
    FROM fixed f
),
state AS (
    SELECT tb.document_id, tb.table_id, tb.page_index, tb.n_rows, tb.n_cols, h.reviewer,
           CASE WHEN tb.continues IS NULL THEN 0 ELSE tb.repeated_header_rows END AS skip_rows,
           TRY_CAST(h.new_value ->> '$.header_rows' AS INTEGER) AS header_rows,
           TRY_CAST(h.new_value -> '$.spans' AS INTEGER[][]) AS spans
    FROM tables tb JOIN fixes h
      ON h.document_id = tb.document_id AND h.target_type = 'table'
     AND h.target_id = tb.table_id AND h.action = 'edit'
),
span_rows AS (
    SELECT s.document_id, s.table_id, u.span[1] AS rrow, u.span[2] AS rcol,
           u.span[3] AS rrows, u.span[4] AS rcols,
           coalesce(len(u.span) = 4 AND u.span[1] >= 0 AND u.span[2] >= 0 AND u.span[3] >= 1
                    AND u.span[4] >= 1 AND u.span[1] + u.span[3] <= s.n_rows
                    AND u.span[2] + u.span[4] <= s.n_cols, false) AS fits
    FROM state s, unnest(s.spans) AS u(span)
),
span_positions AS (
    SELECT p.document_id, p.table_id, a.pr, b.pc
    FROM span_rows p, range(p.rrow, p.rrow + p.rrows) a(pr), range(p.rcol, p.rcol + p.rcols) b(pc)
    WHERE p.fits
),
structured AS (  -- tables whose spans fit the grid without overlapping
    SELECT s.* FROM state s
    WHERE s.spans IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM span_rows p WHERE p.document_id = s.document_id
                      AND p.table_id = s.table_id AND NOT p.fits)
      AND NOT EXISTS (SELECT 1 FROM span_positions p WHERE p.document_id = s.document_id
                      AND p.table_id = s.table_id GROUP BY p.pr, p.pc HAVING count(*) > 1)
),
rects AS (
    SELECT p.document_id, p.table_id, p.rrow, p.rcol, p.rrows, p.rcols
    FROM span_rows p SEMI JOIN structured s USING (document_id, table_id)
    UNION ALL
    SELECT s.document_id, s.table_id, a.pr, b.pc, 1, 1
    FROM structured s, range(s.n_rows) a(pr), range(s.n_cols) b(pc)
    ANTI JOIN span_positions p
      ON p.document_id = s.document_id AND p.table_id = s.table_id AND p.pr = a.pr
     AND p.pc = b.pc
),
owners AS (  -- the layout cell that holds each grid position
    SELECT k.*, a.pr, b.pc
    FROM rects k, range(k.rrow, k.rrow + k.rrows) a(pr), range(k.rcol, k.rcol + k.rcols) b(pc)
),
members AS (  -- each extracted cell in the layout cell that holds its top-left position
    SELECT k.* EXCLUDE (pr, pc), e.* EXCLUDE (document_id, table_id)
    FROM owners k JOIN edited e
      ON e.document_id = k.document_id AND e.table_id = k.table_id AND e."row" = k.pr
     AND e.col = k.pc
),
laid AS (
    SELECT k.document_id, k.table_id, k.rrow, k.rcol, k.rrows, k.rcols,
           count(m."row") = 1 AND coalesce(bool_or(m."row" = k.rrow AND m.col = k.rcol
                                                   AND m.row_span = k.rrows
                                                   AND m.col_span = k.rcols), false) AS kept,
           max(nullif(m.cell_id, '')) FILTER (WHERE m."row" = k.rrow AND m.col = k.rcol)
               AS start_id,
           string_agg(m.text, ' ' ORDER BY m."row", m.col) FILTER (WHERE trim(m.text) <> '')
               AS joined,
           flatten(list(m.word_ids ORDER BY m."row", m.col)
                   FILTER (WHERE m.word_ids IS NOT NULL)) AS word_ids,
           max(m.corrected_by) AS member_by
    FROM rects k LEFT JOIN members m
      ON m.document_id = k.document_id AND m.table_id = k.table_id AND m.rrow = k.rrow
     AND m.rcol = k.rcol
    GROUP BY ALL
),
pieces AS (  -- every extracted box divided evenly over the positions its cell spans
    SELECT e.document_id, e.table_id, a.pr, b.pc,
           e.x0 + (e.x1 - e.x0) / greatest(e.col_span, 1) * (b.pc - e.col) AS x0,
           e.y0 + (e.y1 - e.y0) / greatest(e.row_span, 1) * (a.pr - e."row") AS y0,
           e.x0 + (e.x1 - e.x0) / greatest(e.col_span, 1) * (b.pc - e.col + 1) AS x1,
           e.y0 + (e.y1 - e.y0) / greatest(e.row_span, 1) * (a.pr - e."row" + 1) AS y1,
           e.is_header
    FROM cells e SEMI JOIN structured s USING (document_id, table_id),
         range(e."row", e."row" + greatest(e.row_span, 1)) a(pr),
         range(e.col, e.col + greatest(e.col_span, 1)) b(pc)
),
boxes AS (
    SELECT k.document_id, k.table_id, k.rrow, k.rcol, min(p.x0) AS x0, min(p.y0) AS y0,
           max(p.x1) AS x1, max(p.y1) AS y1,
           bool_or(p.is_header) FILTER (WHERE p.pr = k.rrow AND p.pc = k.rcol) AS corner_header
    FROM owners k JOIN pieces p
      ON p.document_id = k.document_id AND p.table_id = k.table_id AND p.pr = k.pr
     AND p.pc = k.pc
    GROUP BY ALL
),
offsets AS (  -- a part's logical rows run on from its own rows by a constant
    SELECT e.document_id, e.table_id, max(e.logical_row - e."row") AS shift
    FROM cells e SEMI JOIN structured s USING (document_id, table_id)
    GROUP BY ALL
),
made AS (  -- the layout cells a reviewer made (merged, split or newly filled)
    SELECT l.document_id, s.page_index, l.table_id, l.rrow AS "row", l.rcol AS col,
           l.rrows AS row_span, l.rcols AS col_span,
           coalesce(CASE WHEN coalesce(a.action, b.action) = 'delete' THEN ''
                         WHEN a.action = 'edit' THEN a.new_value ->> '$'
                         WHEN a.action IS NULL AND b.action = 'edit' THEN b.new_value ->> '$'
                    END, l.joined, '') AS text,
           coalesce(x.corner_header, false) AS is_header,
           x.x0, x.y0, x.x1, x.y1, 1.0 AS confidence,
           coalesce(l.start_id, l.table_id || '-c' || l.rrow || '-' || l.rcol) AS cell_id,
           coalesce(l.word_ids, []::VARCHAR[]) AS word_ids,
           CASE WHEN l.rrow < s.skip_rows THEN NULL ELSE l.rrow + o.shift END AS logical_row,
           true AS corrected,
           coalesce(a.reviewer, b.reviewer, l.member_by, s.reviewer) AS corrected_by
    FROM laid l
    JOIN structured s ON s.document_id = l.document_id AND s.table_id = l.table_id
    LEFT JOIN offsets o ON o.document_id = l.document_id AND o.table_id = l.table_id
    LEFT JOIN boxes x ON x.document_id = l.document_id AND x.table_id = l.table_id
     AND x.rrow = l.rrow AND x.rcol = l.rcol
    LEFT JOIN fixes a ON a.document_id = l.document_id AND a.target_type = 'cell'
     AND a.target_id = coalesce(l.start_id, l.table_id || '-c' || l.rrow || '-' || l.rcol)
    LEFT JOIN fixes b ON b.document_id = l.document_id AND b.target_type = 'cell'
     AND b.target_id = l.table_id || ':' || l.rrow || ':' || l.rcol
    WHERE NOT l.kept
),
laid_out AS (
    -- cells of tables without a structure state, and cells a state keeps as extracted
    SELECT e.* FROM edited e
    ANTI JOIN structured s ON s.document_id = e.document_id AND s.table_id = e.table_id
    UNION ALL BY NAME
    SELECT e.* FROM edited e
    SEMI JOIN laid l ON l.document_id = e.document_id AND l.table_id = e.table_id
     AND l.rrow = e."row" AND l.rcol = e.col AND l.kept
    UNION ALL BY NAME
    SELECT * FROM made
)
SELECT u.* REPLACE (CASE WHEN s.header_rows IS NULL THEN u.is_header
                         ELSE u."row" < s.header_rows END AS is_header)
FROM laid_out u LEFT JOIN state s ON s.document_id = u.document_id AND s.table_id = u.table_id;
"""

MIGRATIONS: list[str] = [
    MIGRATION_1,
    MIGRATION_2,
    MIGRATION_3,
    MIGRATION_4,
    MIGRATION_5,
    MIGRATION_6,
    MIGRATION_7,
    MIGRATION_8,
    MIGRATION_9,
    MIGRATION_10,
]
LATEST_VERSION = len(MIGRATIONS)

RESULT_TABLES = ("results", *ELEMENT_VIEWS.values())


def current_version(con: duckdb.DuckDBPyConnection) -> int:
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_version'"
    ).fetchone()
    if not exists or not exists[0]:
        return 0
    row = con.execute("SELECT max(version) FROM schema_version").fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def migrate(con: duckdb.DuckDBPyConnection) -> int:
    """Apply pending migrations, each in its own transaction; returns the schema version."""
    con.execute(
        "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, "
        "applied_at TIMESTAMPTZ DEFAULT current_timestamp)"
    )
    version = current_version(con)
    for number, sql in enumerate(MIGRATIONS[version:], start=version + 1):
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(sql)
            con.execute("INSERT INTO schema_version (version) VALUES (?)", [number])
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
    return LATEST_VERSION
