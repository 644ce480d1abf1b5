"""Documents: the review queue, riskiest first; select a row to review it."""

from __future__ import annotations

import streamlit as st

from workbench import resources
from workbench.data import LOW_CONFIDENCE, filter_queue

ws = resources.workspace()
st.title("Documents")


@st.fragment(run_every=5)
def queue_table() -> None:
    frame = resources.queue(str(ws.root))
    if frame.empty:
        st.info(
            "No documents yet. Upload files on the **Upload** page or run "
            "`folio run PATHS` in a terminal; they appear here as they finish."
        )
        return
    total, failed = len(frame), int((frame["status"] == "failed").sum())
    todo = int((~frame["reviewed"].astype(bool)).sum())
    cols = st.columns(4)
    cols[0].metric("Documents", total)
    cols[1].metric("To review", todo)
    cols[2].metric("Failed", failed)
    cols[3].metric(f"Doubtful lines (< {LOW_CONFIDENCE:.2f})", int(frame["n_low"].sum()))

    left, middle, right = st.columns([2, 2, 3])
    statuses = left.multiselect(
        "Status", ["failed", "partial", "ok"], key="q_status", placeholder="all statuses"
    )
    reviewed = (
        middle.segmented_control(
            "Review", ["all", "to review", "reviewed"], default="all", key="q_reviewed"
        )
        or "all"
    )
    search = right.text_input("Search by name", key="q_search", placeholder="receipt, invoice…")
    view = filter_queue(frame, statuses, reviewed, search)
    st.session_state["queue_ids"] = list(view["document_id"])
    shown = view.assign(doc_type=view["doc_type"].fillna("—"))
    event = st.dataframe(
        shown,
        key="queue",
        on_select="rerun",
        selection_mode="single-row",
        hide_index=True,
        width="stretch",
        column_order=[
            "status",
            "source_name",
            "doc_type",
            "n_pages",
            "mean_confidence",
            "min_confidence",
            "n_low",
            "reviewed",
            "pages_accepted",
            "last_reviewer",
            "processed_at",
        ],
        column_config={
            "status": st.column_config.TextColumn("Status", width="small"),
            "source_name": st.column_config.TextColumn("Document", width="large"),
            "doc_type": "Type",
            "n_pages": st.column_config.NumberColumn("Pages", width="small"),
            "mean_confidence": st.column_config.ProgressColumn(
                "Mean conf.", min_value=0.0, max_value=1.0, format="%.2f"
            ),
            "min_confidence": st.column_config.NumberColumn("Min conf.", format="%.2f"),
            "n_low": st.column_config.NumberColumn(
                "Low lines",
                help=f"lines less likely right than {LOW_CONFIDENCE:.2f} (see folio calibrate)",
            ),
            "reviewed": st.column_config.CheckboxColumn("Reviewed"),
            "pages_accepted": st.column_config.NumberColumn("Pages accepted"),
            "last_reviewer": "Last reviewer",
            "processed_at": st.column_config.DatetimeColumn("Processed", format="distance"),
        },
    )
    rows = event.selection.rows if event is not None else []
    st.caption(
        f"{len(view)} of {total} documents · sorted by risk (failed first, then lowest "
        "confidence) · select a row to review it · refreshes every 5 s"
    )
    if rows and rows[0] < len(view):
        st.session_state["doc_id"] = str(view.iloc[rows[0]]["document_id"])
        st.session_state["page_index"] = 0
        st.session_state.pop("selected", None)
        st.switch_page("views/review.py")


queue_table()
