"""Flatten a `Document` into the rows of the workspace tables (one dict per row)."""

from __future__ import annotations

import json
from datetime import datetime
from statistics import fmean
from typing import Any

from extractors.document import Document
from extractors.stages.tables.merge import logical_tables

Rows = dict[str, list[dict[str, Any]]]


def _box(bbox: list[float] | None) -> dict[str, float | None]:
    if bbox is None:
        return {"x0": None, "y0": None, "x1": None, "y1": None}
    return dict(zip(("x0", "y0", "x1", "y1"), bbox, strict=True))


def result_id_for(document_id: str, config_hash: str) -> str:
    """One result per document and pipeline configuration."""
    return f"{document_id}-{config_hash[:12]}"


def document_rows(document: Document, bundle: dict[str, Any], loaded_at: datetime) -> Rows:
    pipeline = document.pipeline
    config_hash = pipeline.config_hash if pipeline else ""
    rid = result_id_for(document.document_id, config_hash)
    key = {"result_id": rid, "document_id": document.document_id}
    rows: Rows = {
        name: []
        for name in (
            "results",
            "page_rows",
            "block_rows",
            "line_rows",
            "word_rows",
            "table_rows",
            "cell_rows",
            "entity_rows",
            "field_rows",
            "relation_rows",
        )
    }
    rows["results"].append(
        {
            **key,
            "config_hash": config_hash,
            "run_id": bundle.get("run_id"),
            "profile": pipeline.profile if pipeline else None,
            "source_name": document.source_name,
            "source_path": document.source_path,
            "stored_path": bundle.get("stored_path"),
            "sha256": document.sha256,
            "media_type": document.media_type,
            "size_bytes": document.size_bytes,
            "status": document.status,
            "doc_type": document.doc_type,
            "doc_type_confidence": document.doc_type_confidence,
            "review_reasons": json.dumps(document.review_reasons),
            "n_pages": len(document.pages),
            "n_errors": len(document.errors),
            "errors": json.dumps([e.model_dump() for e in document.errors]),
            "stages": json.dumps(pipeline.stages if pipeline else {}),
            "timings_ms": json.dumps(pipeline.timings_ms if pipeline else {}),
            "started_at": datetime.fromisoformat(pipeline.started_at)
            if pipeline and pipeline.started_at
            else loaded_at,
            "elapsed_ms": pipeline.elapsed_ms if pipeline else None,
            "loaded_at": loaded_at,
            "document_json": document.to_json(),
        }
    )
    # Tables that continue across pages: each part names its logical table, each cell its row
    # there (None for a header row the part repeats).
    logical_id: dict[str, str] = {}
    logical_row: dict[str, int] = {}
    for item in logical_tables(document):
        for _, part in item.parts:
            logical_id[part.id] = item.id
        for n, cells in enumerate(item.rows):
            logical_row.update((c.id, n) for c in cells)
    for page in document.pages:
        at = {**key, "page_index": page.index}
        confidences = [line.confidence for line in page.lines()]
        rows["page_rows"].append(
            {
                **at,
                "page_id": page.id,
                "width": page.width,
                "height": page.height,
                "unit": page.unit,
                "rotation": page.rotation,
                "skew": page.skew,
                "text_source": page.text_source,
                "n_blocks": len(page.blocks),
                "n_lines": len(confidences),
                "n_words": sum(1 for _ in page.words()),
                "mean_confidence": fmean(confidences) if confidences else None,
                "min_confidence": min(confidences) if confidences else None,
            }
        )
        line_no = word_no = 0
        for block in page.blocks:
            rows["block_rows"].append(
                {
                    **at,
                    "block_id": block.id,
                    "kind": block.kind,
                    "reading_order": block.order,
                    **_box(block.bbox),
                    "confidence": block.confidence,
                    "source": block.source,
                    "text": block.text,
                }
            )
            for line in block.lines:
                rows["line_rows"].append(
                    {
                        **at,
                        "block_id": block.id,
                        "line_id": line.id,
                        "line_no": line_no,
                        "text": line.text,
                        **_box(line.bbox),
                        "confidence": line.confidence,
                        "source": line.source,
                    }
                )
                line_no += 1
                for word in line.words:
                    rows["word_rows"].append(
                        {
                            **at,
                            "line_id": line.id,
                            "word_id": word.id,
                            "word_no": word_no,
                            "text": word.text,
                            **_box(word.bbox),
                            "confidence": word.confidence,
                            "source": word.source,
                        }
                    )
                    word_no += 1
        for table in page.tables:
            rows["table_rows"].append(
                {
                    **at,
                    "table_id": table.id,
                    "block_id": table.block_id,
                    "logical_table_id": logical_id[table.id],
                    "continues": table.continues,
                    "repeated_header_rows": table.repeated_header_rows,
                    "n_rows": table.n_rows,
                    "n_cols": table.n_cols,
                    **_box(table.bbox),
                    "confidence": table.confidence,
                    "source": table.source,
                }
            )
            for cell in table.cells:
                rows["cell_rows"].append(
                    {
                        **at,
                        "table_id": table.id,
                        "cell_id": cell.id,
                        "word_ids": cell.word_ids,
                        "row": cell.row,
                        "col": cell.col,
                        "logical_row": logical_row.get(cell.id),
                        "row_span": cell.row_span,
                        "col_span": cell.col_span,
                        "text": cell.text,
                        "is_header": cell.is_header,
                        **_box(cell.bbox),
                        "confidence": cell.confidence,
                    }
                )
    for entity in document.entities:
        rows["entity_rows"].append(
            {
                **key,
                "entity_id": entity.id,
                "word_ids": entity.word_ids,
                "label": entity.label,
                "text": entity.text,
                "value": entity.value,
                "page_index": entity.page,
                **_box(entity.bbox),
                "confidence": entity.confidence,
                "source": entity.source,
            }
        )
    for doc_field in document.fields:
        rows["field_rows"].append(
            {
                **key,
                "field_id": doc_field.id,
                "name": doc_field.name,
                "value": doc_field.value,
                "page_index": doc_field.page,
                **_box(doc_field.bbox),
                "confidence": doc_field.confidence,
                "source": doc_field.source,
                "word_ids": doc_field.word_ids,
                "evidence": doc_field.evidence,
                "item": doc_field.item,
                "flags": doc_field.flags,
            }
        )
    for relation in document.relations:
        rows["relation_rows"].append(
            {
                **key,
                "relation_id": relation.id,
                "label": relation.label,
                "head": relation.head,
                "tail": relation.tail,
                "confidence": relation.confidence,
                "source": relation.source,
                "page_index": relation.page,
                "evidence": relation.evidence,
            }
        )
    return rows
