"""Review: the page with its boxes beside the editable extraction."""

from __future__ import annotations

import streamlit as st

from extractors.stages.doctype import TYPES as DOC_TYPES
from workbench import auth, panels, resources
from workbench.data import REVIEW_TARGET
from workbench.overlay import (
    DEFAULT_LAYERS,
    LAYERS,
    blank_page,
    find_element,
    image_data_url,
    page_boxes,
    page_links,
    review_order,
)
from workbench.page_view import page_view
from workbench.review import (
    Context,
    checkbox_corrections,
    corrections_from_delta,
    element_rows,
    entity_corrections,
)
from workbench.table_review import reviewed_tables
from workbench.tables_tab import render_tables

ENTITY_LABELS = [
    "company",
    "date",
    "address",
    "total",
    "tax",
    "invoice_number",
    "person",
    "money",
    "other",
]
ws = resources.workspace()


def locked(columns: list[str]) -> bool | list[str]:
    """Grids are read-only for roles that may not edit; ids never editable."""
    return True if not resources.reviewer() else columns


root = str(ws.root)
reviewer = resources.reviewer()

if toast := st.session_state.pop("toast", None):
    st.toast(toast[0], icon=toast[1])

queue = resources.queue(root)
queue_ids = st.session_state.get("queue_ids") or list(queue["document_id"])
doc_id = st.session_state.get("doc_id") or st.query_params.get("doc")
if not doc_id and queue_ids:
    doc_id = queue_ids[0]
if not doc_id:
    st.title("Review")
    st.info("No documents yet: upload some on the **Upload** page.")
    st.stop()
st.session_state["doc_id"] = doc_id
st.query_params["doc"] = doc_id
info = resources.info(root, doc_id)
if info is None:
    st.warning(f"Document {doc_id} is not in this workspace.")
    st.stop()
context = Context(doc_id, info.result_id, reviewer)
auth.record_view(doc_id)
state = resources.review_state(root, doc_id)

head, nav = st.columns([3, 2], vertical_alignment="bottom")
badge = {
    "ok": ":green-badge[ok]",
    "partial": ":orange-badge[partial]",
    "failed": ":red-badge[failed]",
}.get(info.status, info.status)
reviewed = ":blue-badge[reviewed]" if state.get("reviewed") else ":gray-badge[to review]"
position = f"{queue_ids.index(doc_id) + 1} of {len(queue_ids)}" if doc_id in queue_ids else ""
head.markdown(
    f"### {info.source_name}  \n{badge} {reviewed} "
    f"<small>{position} · last reviewer: {state.get('last_reviewer') or '—'}</small>",
    unsafe_allow_html=True,
)
with nav:
    b1, b2 = st.columns(2)
    b1.button(
        "Previous doc",
        key="prev_doc",
        shortcut="P",
        icon=":material/arrow_back:",
        on_click=panels.go_document,
        args=(queue_ids, doc_id, -1),
        width="stretch",
    )
    b2.button(
        "Next doc",
        key="next_doc",
        shortcut="N",
        icon=":material/arrow_forward:",
        on_click=panels.go_document,
        args=(queue_ids, doc_id, 1),
        width="stretch",
    )

if info.status == "failed":
    st.error(
        "**Processing failed.**\n\n"
        + "\n".join(f"- `{e.get('stage')}`: {e.get('message')}" for e in info.errors)
    )
    path = info.image_path()
    job_id = st.session_state.get(f"retry_job_{doc_id}")
    job = next((j for j in resources.job_registry().jobs() if j.job_id == job_id), None)
    if job is not None and job.active:
        st.progress(job.fraction, text="Retrying…")
        st.button("Refresh", key="retry_refresh")
    elif path is None:
        st.warning("The stored file is gone, so it cannot be retried.")
    else:
        if job is not None:
            st.info(f"Last retry {job.state}. {job.message}")
            resources.refresh()
        st.button(
            "Retry",
            key="retry",
            type="primary",
            icon=":material/refresh:",
            on_click=panels.on_retry,
            args=(context, str(path), info.source_name, info.profile),
        )
    st.stop()

document = resources.document(root, doc_id, info.result_id)
if document is None or not document.pages:
    st.warning("This document has no pages to review.")
    st.stop()
n_pages = len(document.pages)
page_index = min(int(st.session_state.get("page_index", 0)), n_pages - 1)
page = document.pages[page_index]
fixes = resources.corrections(root, doc_id)
texts = {tid: str(c["new_value"]) for (_, tid), c in fixes.items() if c["action"] == "edit"}
deleted = {tid for (_, tid), c in fixes.items() if c["action"] == "delete"}
st.session_state["reviewed_texts"] = texts
entities = resources.entities(root, doc_id)
fields = resources.fields(root, doc_id)
relations = resources.relations(root, doc_id)
low_ids = [
    i
    for i in review_order(page, REVIEW_TARGET, by_source=resources.thresholds(root, "word"))
    if i not in deleted
]
if info.status == "partial":
    st.warning(
        "Partly processed: "
        + "; ".join(
            f"{e.get('stage')} (page {(e.get('page') or 0) + 1}): {e.get('message')}"
            for e in info.errors
        )
    )
if document.review_reasons:
    st.info("Check first: " + "; ".join(document.review_reasons), icon=":material/rule:")
type_fix = fixes.get(("document", doc_id))
shown_type = (
    type_fix["new_value"].get("doc_type")
    if type_fix and type_fix["action"] == "relabel" and isinstance(type_fix["new_value"], dict)
    else document.doc_type
)
type_key = f"doc_type_{doc_id}"
type_col, _ = st.columns([2, 5])
type_col.selectbox(
    "Document type",
    DOC_TYPES,
    index=DOC_TYPES.index(shown_type) if shown_type in DOC_TYPES else None,
    key=type_key,
    disabled=not reviewer,
    on_change=panels.on_doc_type,
    args=(context, document, shown_type, type_key),
    help="corrections here teach the document-type model (folio train)",
)

left, right = st.columns([1, 1], gap="medium")
with left:
    t1, t2 = st.columns([4, 1], vertical_alignment="center")
    layers = t1.pills(
        "Layers",
        LAYERS,
        selection_mode="multi",
        default=list(DEFAULT_LAYERS),
        key="layers",
        label_visibility="collapsed",
    )
    zoom = t2.selectbox(
        "Zoom",
        [1.0, 1.5, 2.0, 3.0],
        key="zoom",
        label_visibility="collapsed",
        format_func=lambda z: f"{int(z * 100)} %",
    )
    if n_pages > 1:
        p1, p2, p3 = st.columns([2, 3, 2], vertical_alignment="center")
        p1.button(
            "Page",
            key="prev_page",
            icon=":material/chevron_left:",
            shortcut="PageUp",
            on_click=panels.go_page,
            args=(page_index - 1, n_pages),
            disabled=page_index == 0,
            width="stretch",
        )
        p2.markdown(
            f"<div style='text-align:center'>page {page_index + 1} of {n_pages}</div>",
            unsafe_allow_html=True,
        )
        p3.button(
            "Page",
            key="next_page",
            icon=":material/chevron_right:",
            shortcut="PageDown",
            on_click=panels.go_page,
            args=(page_index + 1, n_pages),
            disabled=page_index >= n_pages - 1,
            width="stretch",
            icon_position="right",
        )
    path = info.image_path()
    if path is not None:
        url, width, height = resources.page_image(str(path), page_index)
    else:
        url, width, height = image_data_url(blank_page(page))
        st.caption("The stored file is gone; boxes are drawn on a blank page.")
    # cells drawn as the reviewer laid them out (merged and split cells included)
    shown = page.model_copy(update={"tables": reviewed_tables(document, page_index, fixes)})
    boxes = page_boxes(
        shown,
        layers or [],
        texts,
        deleted,
        entities.to_dict("records"),
        fields.to_dict("records"),
        shading=resources.shading(root),
    )
    page_view(
        url,
        f"{doc_id}:{page_index}",
        width,
        height,
        boxes,
        st.session_state.get("selected"),
        float(zoom or 1.0),
        key="page_view",
        on_click=lambda: panels.on_box_click("page_view", document),
        focus=panels.FOCUS_SELECTOR if st.session_state.pop("focus_fix", False) else None,
        links=page_links(page_index, relations.to_dict("records"), entities.to_dict("records"))
        if "entities" in (layers or [])
        else None,
    )
    st.caption(
        f"Boxes: :green[■] likely right ≥ {REVIEW_TARGET:.2f} · :orange[■] "
        f"{max(0.0, REVIEW_TARGET - 0.1):.2f}–{REVIEW_TARGET:.2f} · :red[■] less "
        "(calibrated after `folio calibrate`, else raw confidence) · "
        ":blue[■] corrected · dashed = layout blocks · :violet[■] entities."
    )

with right:
    if not reviewer:
        st.warning("Read-only: your role can view, not edit.", icon=":material/badge:")
    selected = st.session_state.get("selected")
    element = find_element(document, selected) if selected else None
    with st.container(border=True):
        if element is None:
            st.markdown(
                "Click a box to correct it, or press **J** / **K** to step through "
                f"the doubtful words (less likely right than {REVIEW_TARGET:.2f}; "
                "calibrated on this workspace's reviews after `folio calibrate`)."
            )
        else:
            st.markdown(
                f"**{element.target_type} `{element.id}`** · confidence "
                f"{element.confidence:.2f} · `{element.source}`"
            )
            st.text_input(
                "Text",
                key=panels.FIX_KEY,
                disabled=not reviewer,
                on_change=panels.on_fix,
                args=(context, document, low_ids),
                help="Enter saves and moves to the next low-confidence word",
            )
            if texts.get(element.id) is not None and texts[element.id] != element.text:
                st.caption(f"Extracted: “{element.text}”")
            a1, a2, a3 = st.columns([2, 2, 1], vertical_alignment="bottom")
            a1.selectbox(
                "Entity label", ENTITY_LABELS, key="new_label", label_visibility="collapsed"
            )
            a2.button(
                "Add entity",
                key="add_entity",
                icon=":material/sell:",
                shortcut="E",
                disabled=not reviewer,
                on_click=panels.on_add_entity,
                args=(context, document),
                width="stretch",
            )
            a3.button(
                "",
                key="delete_el",
                icon=":material/delete:",
                disabled=not reviewer,
                on_click=panels.on_delete,
                args=(context, document),
                help="Delete element",
            )
        j1, j2, j3 = st.columns([3, 2, 2], vertical_alignment="center")
        j1.caption(f"{len(low_ids)} doubtful word(s) on this page")
        j2.button(
            "Prev",
            key="prev_low",
            shortcut="K",
            icon=":material/keyboard_arrow_up:",
            on_click=panels.step_low,
            args=(low_ids, -1, document),
            width="stretch",
        )
        j3.button(
            "Next",
            key="next_low",
            shortcut="J",
            icon=":material/keyboard_arrow_down:",
            on_click=panels.step_low,
            args=(low_ids, 1, document),
            width="stretch",
        )
    accepted = page_index in state.get("accepted_pages", [])
    k1, k2, k3 = st.columns([4, 4, 3])
    k1.button(
        "Page accepted" if accepted else "Accept page",
        key="accept_page",
        shortcut="A",
        type="secondary" if accepted else "primary",
        icon=":material/check:",
        disabled=not reviewer,
        on_click=panels.on_accept,
        args=(context, page_index, n_pages, queue_ids),
        width="stretch",
    )
    k2.button(
        "Accept doc",
        key="accept_doc",
        shortcut="Shift+A",
        icon=":material/done_all:",
        disabled=not reviewer,
        on_click=panels.on_accept,
        args=(context, None, n_pages, queue_ids),
        width="stretch",
    )
    k3.button(
        "Undo",
        key="undo",
        shortcut="U",
        icon=":material/undo:",
        disabled=not reviewer,
        on_click=panels.on_undo,
        args=(context,),
        width="stretch",
    )

    version = st.session_state.get("editor_version", 0)
    tabs = st.tabs(["Words", "Lines", "Tables", "Entities", "Fields", "Relations", "Blocks"])
    tab_words, tab_lines, tab_tables, tab_entities, tab_fields, tab_relations, tab_blocks = tabs
    grids = []
    for tab, kind in ((tab_words, "word"), (tab_lines, "line")):
        with tab:
            rows = element_rows(page, kind, texts, deleted)
            key = f"ed_{kind}s_{page_index}_{version}"
            st.data_editor(
                rows,
                key=key,
                hide_index=True,
                disabled=locked(["id", "original", "confidence", "source"]),
                num_rows="delete",
                height=360,
                column_config={"confidence": st.column_config.NumberColumn(format="%.2f")},
                width="stretch",
            )
            grids.append(
                corrections_from_delta(
                    rows, st.session_state.get(key), kind, context, page_index, document
                )
            )
    with tab_tables:
        grids.append(render_tables(document, page_index, fixes, context, version, bool(reviewer)))
    with tab_entities:
        key = f"ed_entities_{version}"
        st.data_editor(
            entities,
            key=key,
            hide_index=True,
            num_rows="delete",
            width="stretch",
            disabled=locked(
                [
                    "entity_id",
                    "value",
                    "page_index",
                    "x0",
                    "y0",
                    "x1",
                    "y1",
                    "confidence",
                    "source",
                    "corrected",
                ]
            ),
            column_order=["label", "text", "page_index", "confidence", "source", "corrected"],
        )
        grids.append(entity_corrections(entities, st.session_state.get(key), context, document))
        if entities.empty:
            st.caption("No entities yet: select a word and press **E** to add one.")
        checkboxes = entities[entities["label"] == "CHECKBOX"].reset_index(drop=True)
        if not checkboxes.empty:
            st.caption("Check boxes: tick or untick to correct what the page shows.")
            checkboxes = checkboxes.assign(
                checked=checkboxes["value"].eq("true"), label_text=checkboxes["text"]
            )
            key = f"ed_checkboxes_{version}"
            st.data_editor(
                checkboxes,
                key=key,
                hide_index=True,
                width="stretch",
                disabled=locked(["label_text", "page_index", "confidence", "corrected"]),
                column_order=["checked", "label_text", "page_index", "confidence", "corrected"],
                column_config={
                    "checked": st.column_config.CheckboxColumn("checked"),
                    "label_text": "check box",
                    "confidence": st.column_config.NumberColumn(format="%.2f"),
                },
            )
            grids.append(
                checkbox_corrections(checkboxes, st.session_state.get(key), context, document)
            )
    with tab_fields:
        key = f"ed_fields_{version}"
        field_rows = fields.assign(id=fields["field_id"])  # two fields of one name stay apart
        st.data_editor(
            field_rows,
            key=key,
            hide_index=True,
            width="stretch",
            disabled=locked(
                [
                    "id",
                    "name",
                    "item",
                    "evidence",
                    "flags",
                    "page_index",
                    "confidence",
                    "source",
                    "corrected",
                ]
            ),
            column_order=["name", "item", "value", "evidence", "flags", "confidence", "corrected"],
            column_config={
                "item": st.column_config.NumberColumn("item", help="line item number"),
                "evidence": st.column_config.TextColumn(
                    help="the label or line the value followed"
                ),
                "flags": st.column_config.ListColumn(help="cross-checks the value failed"),
                "confidence": st.column_config.NumberColumn(format="%.2f"),
            },
        )
        grids.append(
            corrections_from_delta(
                field_rows,
                st.session_state.get(key),
                "field",
                context,
                None,
                document,
                column="value",
            )
        )
        if fields.empty:
            st.caption("No fields extracted for this document.")
    with tab_relations:
        st.dataframe(
            relations,
            hide_index=True,
            width="stretch",
            column_order=[
                "label",
                "head_text",
                "tail_text",
                "evidence",
                "confidence",
                "page_index",
            ],
            column_config={
                "head_text": "from",
                "tail_text": "to",
                "confidence": st.column_config.NumberColumn(format="%.2f"),
            },
        )
        if relations.empty:
            st.caption("No relations (key-value links, people and organisations) found.")
    with tab_blocks:
        st.dataframe(
            [
                {
                    "order": b.order,
                    "kind": b.kind,
                    "text": b.text[:120],
                    "confidence": round(b.confidence, 2),
                }
                for b in page.blocks
            ],
            hide_index=True,
            width="stretch",
        )

    pending = [c for batch in grids for c in batch]
    if pending and reviewer:
        panels.save_grid(pending)
        st.session_state["editor_version"] = version + 1
        last = pending[-1]
        st.session_state["selected"] = last.target_id if last.action != "delete" else None
        st.rerun()
