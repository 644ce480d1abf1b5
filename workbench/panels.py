"""Review page actions as Streamlit callbacks (state changes happen before the rerun draws).

Each callback reads session state, journals corrections through `workbench.review.save`, then
drops the query caches so the new values show at once.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from extractors.document import Document
from workbench import auth, resources
from workbench.data import last_correction, neighbour
from workbench.overlay import find_element
from workbench.page_view import clicked_id
from workbench.review import (
    Context,
    accept,
    add_entity,
    doc_type_correction,
    edit_element,
    save,
    undo,
)

FIX_KEY = "fix_text"
FOCUS_SELECTOR = f".st-key-{FIX_KEY} input"


def select(element_id: str | None, document: Document | None, focus: bool = True) -> None:
    """Select an element: highlight its box and put its reviewed text in the fix box."""
    st.session_state["selected"] = element_id
    st.session_state["focus_fix"] = focus
    element = find_element(document, element_id) if document and element_id else None
    if element is not None:
        texts = st.session_state.get("reviewed_texts", {})
        st.session_state[FIX_KEY] = texts.get(element.id, element.text)
        st.session_state["page_index"] = element.page_index


def on_box_click(key: str, document: Document | None) -> None:
    element_id = clicked_id(key)
    if element_id:
        select(element_id, document)


def step_low(ids: list[str], step: int, document: Document | None) -> None:
    """J / K: the next or previous low-confidence word on the page."""
    current: str | None = st.session_state.get("selected")
    target: str | None
    if current not in ids and ids:
        target = ids[0] if step > 0 else ids[-1]
    else:
        target = neighbour(ids, current, step)
    if target:
        select(target, document)


def notify(message: str, icon: str = ":material/check:") -> None:
    st.session_state["toast"] = (message, icon)


def _commit(corrections: list[Any], message: str) -> None:
    save(resources.workspace(), corrections, load_later=resources.background_loader().request)
    for document_id in sorted({c.document_id for c in corrections}):
        auth.record("edit", document_id, corrections=len(corrections))
    resources.refresh()
    notify(message)


def on_fix(context: Context, document: Document, next_ids: list[str]) -> None:
    """Enter in the fix box: save the new text, then move to the next low-confidence word."""
    element_id = st.session_state.get("selected")
    element = find_element(document, element_id) if element_id else None
    if element is None or not context.reviewer:
        return
    texts = st.session_state.get("reviewed_texts", {})
    old = texts.get(element.id, element.text)
    new = str(st.session_state.get(FIX_KEY, ""))
    if new == old:
        return
    _commit(
        [
            edit_element(
                context,
                element.target_type,
                element.id,
                element.page_index,
                old,
                new,
                element.source,
                document,
            )
        ],
        f"Saved “{new}”",
    )
    if element.id in next_ids:
        following = neighbour(next_ids, element.id, 1)
        if following and following != element.id:
            texts = {**texts, element.id: new}
            st.session_state["reviewed_texts"] = texts
            select(following, document)


def on_delete(context: Context, document: Document) -> None:
    element = find_element(document, st.session_state.get("selected") or "")
    if element is None:
        return
    from pipelines.store.corrections import Correction
    from workbench.review import stage_version

    _commit(
        [
            Correction(
                document_id=context.document_id,
                result_id=context.result_id,
                target_type=element.target_type,  # type: ignore[arg-type]
                target_id=element.id,
                page_index=element.page_index,
                action="delete",
                old_value=element.text,
                reviewer=context.reviewer,
                stage_version=stage_version(document, element.source),
            )
        ],
        "Deleted",
    )
    st.session_state["selected"] = None


def on_add_entity(context: Context, document: Document) -> None:
    element = find_element(document, st.session_state.get("selected") or "")
    label = str(st.session_state.get("new_label") or "").strip()
    if element is None or not label:
        return
    texts = st.session_state.get("reviewed_texts", {})
    text = texts.get(element.id, element.text)
    _commit(
        [add_entity(context, label, text, element.page_index, element.bbox, element.id)],
        f"Added entity {label}: {text}",
    )


def on_accept(context: Context, page_index: int | None, n_pages: int, queue_ids: list[str]) -> None:
    what = "document" if page_index is None else f"page {page_index + 1}"
    _commit([accept(context, page_index)], f"Accepted {what}")
    st.session_state["selected"] = None
    if page_index is not None and page_index + 1 < n_pages:
        st.session_state["page_index"] = page_index + 1
    elif page_index is None or page_index + 1 >= n_pages:
        go_document(queue_ids, context.document_id, 1)


def on_doc_type(context: Context, document: Document, shown: str | None, key: str) -> None:
    chosen = st.session_state.get(key)
    if not context.reviewer or not chosen or chosen == shown:
        return
    _commit([doc_type_correction(context, shown, chosen, document)], f"Document type: {chosen}")


def on_undo(context: Context) -> None:
    last = last_correction(resources.workspace(), context.document_id, context.reviewer)
    if last is None:
        notify("Nothing of yours to undo here", ":material/info:")
        return
    _commit([undo(context, last)], f"Undid {last['action']} of {last['target_id']}")
    st.session_state["selected"] = last["target_id"] if last["target_type"] != "page" else None


def go_document(queue_ids: list[str], current: str, step: int) -> None:
    target = neighbour(queue_ids, current, step)
    if target and target != current:
        st.session_state["doc_id"] = target
        st.session_state["page_index"] = 0
        st.session_state["selected"] = None


def go_page(page_index: int, n_pages: int) -> None:
    st.session_state["page_index"] = min(max(page_index, 0), max(n_pages - 1, 0))
    st.session_state["selected"] = None


def on_retry(context: Context, path: str, name: str, profile: str) -> None:
    from pathlib import Path

    from pipelines.store.corrections import Correction

    if not auth.can("upload"):
        notify("Your role may not process documents.", ":material/block:")
        return
    ws = resources.workspace()
    if context.reviewer:
        save(
            ws,
            load_later=resources.background_loader().request,
            corrections=[
                Correction(
                    document_id=context.document_id,
                    result_id=context.result_id,
                    target_type="document",
                    target_id=context.document_id,
                    action="retry",
                    reviewer=context.reviewer,
                )
            ],
        )
    auth.record("retry", context.document_id, profile=profile)
    job = resources.job_registry().start(
        ws, [Path(path)], label=f"retry {name}", retry_failed=True, profile=profile
    )
    st.session_state[f"retry_job_{context.document_id}"] = job.job_id
    notify(f"Retrying {name}…", ":material/refresh:")


def save_grid(corrections: list[Any]) -> None:
    """Corrections from a data_editor delta (saved in the script body, then a rerun)."""
    _commit(corrections, f"Saved {len(corrections)} correction(s)")
