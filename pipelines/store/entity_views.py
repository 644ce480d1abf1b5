"""Migration 7: a reviewer may also correct an entity's value (a check box ticked or not, a
normalised date), not only its label and text."""

from __future__ import annotations

MIGRATION_7 = """
CREATE OR REPLACE VIEW reviewed_entities AS
    SELECT e.* REPLACE (coalesce(c.new_value ->> '$.label', e.label) AS label,
                        coalesce(c.new_value ->> '$.text', e.text) AS text,
                        coalesce(c.new_value ->> '$.value', e.value) AS value),
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
"""
