"""Turning reviewer actions into corrections (plain Python, unit-tested).

Every edit becomes one `Correction`; the app journals it and asks the loader to ingest. Grid
edits arrive as Streamlit's data_editor delta (`edited_rows`, `added_rows`, `deleted_rows`):
only that delta is turned into corrections, never the whole table.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from extractors.document import Document, Page
from pipelines.store.corrections import Correction, journal
from pipelines.store.database import StoreBusyError
from pipelines.store.loader import load_staged
from pipelines.store.workspace import Workspace

TEXT_COLUMNS = {"word": "text", "line": "text", "cell": "text", "field": "value"}


@dataclass(frozen=True)
class Context:
    """Who edits which result."""

    document_id: str
    result_id: str
    reviewer: str


def stage_version(document: Document | None, source: str | None) -> str | None:
    """`ocr.ppocr@1` for an element made by a stage the pipeline recorded; the source otherwise."""
    if not source:
        return None
    stages = document.pipeline.stages if document and document.pipeline else {}
    return f"{source}@{stages[source]}" if source in stages else source


def element_rows(page: Page, kind: str, texts: dict[str, str], deleted: set[str]) -> pd.DataFrame:
    """The editable grid of a page's words or lines (reviewed text, original kept alongside)."""
    items = page.words() if kind == "word" else page.lines()
    rows = [
        {
            "id": item.id,
            "text": texts.get(item.id, item.text),
            "original": item.text,
            "confidence": round(item.confidence, 3),
            "source": item.source,
        }
        for item in items
        if item.id not in deleted
    ]
    return pd.DataFrame(rows, columns=["id", "text", "original", "confidence", "source"])


def corrections_from_delta(
    rows: pd.DataFrame,
    delta: dict[str, Any] | None,
    target_type: str,
    context: Context,
    page_index: int | None,
    document: Document | None = None,
    column: str | None = None,
) -> list[Correction]:
    """Edit and delete corrections for the rows the reviewer changed in a data_editor.

    `rows` is the frame that was shown (with `id` and `source`); a value equal to what is
    shown already is not a change. Added rows are ignored for element grids (new words come
    from boxes, not from typing rows).
    """
    if not delta:
        return []
    column = column or TEXT_COLUMNS.get(target_type, "text")

    def correction(row: pd.Series, action: str, new_value: str | None = None) -> Correction:
        return Correction(
            document_id=context.document_id,
            result_id=context.result_id,
            target_type=target_type,  # type: ignore[arg-type]
            target_id=str(row["id"]),
            page_index=page_index,
            action=action,  # type: ignore[arg-type]
            old_value=row[column],
            new_value=new_value,
            reviewer=context.reviewer,
            stage_version=stage_version(document, row.get("source")),
        )

    corrections: list[Correction] = []
    for position, changes in (delta.get("edited_rows") or {}).items():
        index = int(position)
        if index >= len(rows) or column not in changes:
            continue
        row = rows.iloc[index]
        new_value = "" if changes[column] is None else str(changes[column])
        if new_value != row[column]:
            corrections.append(correction(row, "edit", new_value))
    for position in delta.get("deleted_rows") or []:
        if int(position) < len(rows):
            corrections.append(correction(rows.iloc[int(position)], "delete"))
    return corrections


def entity_corrections(
    rows: pd.DataFrame,
    delta: dict[str, Any] | None,
    context: Context,
    document: Document | None = None,
) -> list[Correction]:
    """Relabel (label or text changed) and delete corrections from the entities grid."""
    if not delta:
        return []

    def correction(row: pd.Series, action: str, new_value: dict[str, str] | None) -> Correction:
        return Correction(
            document_id=context.document_id,
            result_id=context.result_id,
            target_type="entity",
            target_id=str(row["entity_id"]),
            page_index=_int_or_none(row.get("page_index")),
            action=action,  # type: ignore[arg-type]
            old_value={"label": row["label"], "text": row["text"], "value": row.get("value")},
            new_value=new_value,
            reviewer=context.reviewer,
            stage_version=stage_version(document, row.get("source")),
        )

    corrections: list[Correction] = []
    for position, changes in (delta.get("edited_rows") or {}).items():
        index = int(position)
        if index >= len(rows):
            continue
        row = rows.iloc[index]
        label = str(changes.get("label", row["label"]))
        text = str(changes.get("text", row["text"]))
        new = {"label": label, "text": text}
        if "value" in changes and changes["value"] != row.get("value"):
            new["value"] = _entity_value(changes["value"])
        if label != row["label"] or text != row["text"] or "value" in new:
            corrections.append(correction(row, "relabel", new))
    for position in delta.get("deleted_rows") or []:
        if int(position) < len(rows):
            corrections.append(correction(rows.iloc[int(position)], "delete", None))
    return corrections


def checkbox_corrections(
    rows: pd.DataFrame,
    delta: dict[str, Any] | None,
    context: Context,
    document: Document | None = None,
) -> list[Correction]:
    """Ticks and unticks from the check boxes grid (its `checked` column) as value corrections
    of the CHECKBOX entities."""
    if not delta:
        return []
    edited = {
        position: {"value": changes["checked"]}
        for position, changes in (delta.get("edited_rows") or {}).items()
        if "checked" in changes
    }
    return entity_corrections(rows, {"edited_rows": edited}, context, document)


def _entity_value(value: Any) -> str:
    """A grid value as the entity's value: a ticked box is "true", an empty one "false"."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _int_or_none(value: Any) -> int | None:
    return None if value is None or pd.isna(value) else int(value)


def add_entity(
    context: Context,
    label: str,
    text: str,
    page_index: int,
    bbox: list[float] | None,
    from_id: str | None = None,
) -> Correction:
    """A new entity made from a selected word or line (its box and text)."""
    return Correction(
        document_id=context.document_id,
        result_id=context.result_id,
        target_type="entity",
        target_id=f"e-review-{uuid.uuid4().hex[:8]}",
        page_index=page_index,
        action="add",
        new_value={"label": label, "text": text, "value": text, "bbox": bbox, "from": from_id},
        reviewer=context.reviewer,
        stage_version="review",
    )


def edit_element(
    context: Context,
    target_type: str,
    target_id: str,
    page_index: int,
    old: str,
    new: str,
    source: str | None,
    document: Document | None,
) -> Correction:
    return Correction(
        document_id=context.document_id,
        result_id=context.result_id,
        target_type=target_type,  # type: ignore[arg-type]
        target_id=target_id,
        page_index=page_index,
        action="edit",
        old_value=old,
        new_value=new,
        reviewer=context.reviewer,
        stage_version=stage_version(document, source),
    )


def doc_type_correction(
    context: Context, old: str | None, new: str, document: Document | None
) -> Correction:
    """The reviewer's document type (a `relabel` of the document)."""
    return Correction(
        document_id=context.document_id,
        result_id=context.result_id,
        target_type="document",
        target_id=context.document_id,
        action="relabel",
        old_value={"doc_type": old},
        new_value={"doc_type": new},
        reviewer=context.reviewer,
        stage_version=stage_version(document, "classify.doctype"),
    )


def accept(context: Context, page_index: int | None) -> Correction:
    """Accept one page, or the whole document when `page_index` is None."""
    if page_index is None:
        return Correction(
            document_id=context.document_id,
            result_id=context.result_id,
            target_type="document",
            target_id=context.document_id,
            action="accept",
            reviewer=context.reviewer,
        )
    return Correction(
        document_id=context.document_id,
        result_id=context.result_id,
        target_type="page",
        target_id=f"p{page_index}",
        page_index=page_index,
        action="accept",
        reviewer=context.reviewer,
    )


def undo(context: Context, last: dict[str, Any]) -> Correction:
    """A correction cancelling `last` (a row of effective_corrections)."""
    return Correction(
        document_id=context.document_id,
        result_id=context.result_id,
        target_type=last["target_type"],
        target_id=last["target_id"],
        page_index=last.get("page_index"),
        action="undo",
        reviewer=context.reviewer,
        undoes=last["correction_id"],
    )


# How long a save may wait for the database before handing the load to the background loader.
SAVE_LOAD_WAIT_S = 1.0


def save(
    workspace: Workspace,
    corrections: list[Correction],
    load_later: Callable[[], None] | None = None,
) -> int:
    """Journal the corrections durably, then try a quick load of the journal alone so the views
    show them at once. When a batch holds the loader or the database, the load goes to
    `load_later` (the app's background loader) instead of blocking the reviewer."""
    for correction in corrections:
        journal(workspace, correction)
    if not corrections:
        return 0
    try:
        report = load_staged(workspace, kinds=("journal",), wait_s=SAVE_LOAD_WAIT_S, blocking=False)
        deferred = report.locked_out or report.waiting > 0
    except StoreBusyError:
        deferred = True
    if deferred and load_later is not None:
        load_later()
    return len(corrections)
