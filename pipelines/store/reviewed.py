"""A document as its reviewers left it: the extraction with every correction in force applied.

The same rules as the `reviewed_*` views (docs/sql.md), in Python, for exports: the latest
edit/delete/relabel per element wins, undone corrections do not count, entities a reviewer
added are included, and a `relabel` of the document sets its type. Elements a correction
touched say so: `source = "review"`, confidence 1.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from extractors.document import Document, Entity, Line, Page
from pipelines.store.database import query
from pipelines.store.table_structure import apply_table_review
from pipelines.store.workspace import Workspace

REVIEW_SOURCE = "review"
Key = tuple[str, str]  # (target_type, target_id)
Changes = dict[Key, tuple[str | None, Any]]  # the latest (action, new value) per element


def reviewed_document(workspace: Workspace, document: Document) -> Document:
    """`document` with the corrections in force in the workspace applied (a copy)."""
    latest = query(
        workspace,
        "SELECT target_type, target_id, action, new_value FROM latest_element_corrections "
        "WHERE document_id = ?",
        [document.document_id],
    ).to_pylist()
    added = query(
        workspace,
        "SELECT target_id, page_index, new_value FROM effective_corrections "
        "WHERE document_id = ? AND target_type = 'entity' AND action = 'add' ORDER BY created_at",
        [document.document_id],
    ).to_pylist()
    return apply_corrections(document, latest, added)


def apply_corrections(
    document: Document, latest: Iterable[dict[str, Any]], added_entities: Iterable[dict[str, Any]]
) -> Document:
    """Pure function behind `reviewed_document` (rows as the views return them)."""
    changes: Changes = {
        (row["target_type"], row["target_id"]): (row["action"], _value(row["new_value"]))
        for row in latest
    }
    reviewed = document.model_copy(deep=True)
    for page in reviewed.pages:
        _apply_to_page(page, changes)
    deleted = set()
    for entity in reviewed.entities:
        action, value = changes.get(("entity", entity.id), (None, None))
        if action == "delete":
            deleted.add(entity.id)
        elif action in ("edit", "relabel") and isinstance(value, dict):
            entity.label = value.get("label", entity.label)
            entity.text = value.get("text", entity.text)
            _mark(entity)
    reviewed.entities = [e for e in reviewed.entities if e.id not in deleted]
    for row in added_entities:
        if changes.get(("entity", row["target_id"]), (None,))[0] == "delete":
            continue
        value = _value(row["new_value"]) or {}
        reviewed.entities.append(
            Entity(
                id=row["target_id"],
                label=value.get("label", ""),
                text=value.get("text", ""),
                value=value.get("value"),
                page=row.get("page_index"),
                bbox=value.get("bbox"),
                source=REVIEW_SOURCE,
                word_ids=[value["from"]] if "-w" in str(value.get("from") or "") else [],
            )
        )
    kept_fields = []
    for doc_field in reviewed.fields:
        action, value = _change(changes, "field", doc_field.id, doc_field.name)
        if action == "delete":
            continue
        if action == "edit":
            doc_field.value = None if value is None else str(value)
            _mark(doc_field)
        kept_fields.append(doc_field)
    reviewed.fields = kept_fields
    action, value = changes.get(("document", document.document_id), (None, None))
    if action == "relabel" and isinstance(value, dict) and value.get("doc_type"):
        reviewed.doc_type, reviewed.doc_type_confidence = str(value["doc_type"]), 1.0
    return reviewed


def _apply_to_page(page: Page, changes: Changes) -> None:
    for block in page.blocks:
        kept_lines: list[Line] = []
        for line in block.lines:
            action, value = changes.get(("line", line.id), (None, None))
            if action == "delete":
                continue
            words_changed = False
            kept_words = []
            for word in line.words:
                w_action, w_value = changes.get(("word", word.id), (None, None))
                if w_action == "delete":
                    words_changed = True
                    continue
                if w_action == "edit" and w_value is not None:
                    word.text = str(w_value)
                    _mark(word)
                    words_changed = True
                kept_words.append(word)
            line.words = kept_words
            if action == "edit" and value is not None:
                line.text = str(value)
                _mark(line)
            elif words_changed:  # the line reads as its reviewed words
                line.text = " ".join(word.text for word in kept_words)
            kept_lines.append(line)
        block.lines = kept_lines
    for table in page.tables:
        action, value = changes.get(("table", table.id), (None, None))
        apply_table_review(
            table,
            value if action == "edit" else None,
            lambda cell_id, legacy_id: _change(changes, "cell", cell_id, legacy_id),
        )


def _change(changes: Changes, target_type: str, *ids: str) -> tuple[str | None, Any]:
    """The correction in force for the first of an element's ids that has one (current id
    first, then the id round 1 corrections used)."""
    for target_id in ids:
        if (target_type, target_id) in changes:
            return changes[(target_type, target_id)]
    return None, None


def _mark(element: Any) -> None:
    element.source = REVIEW_SOURCE
    element.confidence = 1.0


def _value(raw: Any) -> Any:
    """Correction values come out of DuckDB as JSON text."""
    if isinstance(raw, str):
        try:
            return json.loads(raw)
        except ValueError:
            return raw
    return raw
