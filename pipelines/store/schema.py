"""DuckDB schema of a workspace: numbered migrations and the analyst views.

Raw tables keep every result ever loaded (one per document and pipeline configuration); the
views show the current result of each document (the most recently started one). Analysts query
the views, which are stable and documented in docs/sql.md.
"""

from __future__ import annotations

import duckdb

from pipelines.store.corrections import MIGRATION_2

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

MIGRATIONS: list[str] = [MIGRATION_1, MIGRATION_2, MIGRATION_3, MIGRATION_4, MIGRATION_5]
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
