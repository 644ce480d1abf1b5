"""Runs: batches with counts, throughput, time per stage, and documents that are not ok."""

from __future__ import annotations

import plotly.express as px
import streamlit as st

from workbench import resources
from workbench.data import stage_breakdown

ws = resources.workspace()
root = str(ws.root)
st.title("Runs")

frame = resources.runs(root)
if frame.empty:
    st.info("No runs yet.")
    st.stop()

latest = frame.iloc[0]
cols = st.columns(5)
cols[0].metric("Runs", len(frame))
cols[1].metric("Pages (all runs)", int(frame["n_pages"].fillna(0).sum()))
cols[2].metric("Latest pages/s", f"{(latest['pages_per_s'] or 0):.2f}")
cols[3].metric("Latest failed", int(latest["n_failed"] or 0))
cols[4].metric("Latest state", str(latest["state"]))

st.dataframe(
    frame,
    key="runs_table",
    hide_index=True,
    width="stretch",
    on_select="rerun",
    selection_mode="single-row",
    column_order=[
        "run_id",
        "state",
        "started_at",
        "profile",
        "workers",
        "n_files",
        "n_skipped",
        "n_ok",
        "n_partial",
        "n_failed",
        "n_pages",
        "elapsed_s",
        "pages_per_s",
    ],
    column_config={
        "run_id": "Run",
        "state": "State",
        "profile": "Profile",
        "workers": "Workers",
        "n_files": "Files",
        "n_skipped": "Skipped",
        "n_ok": "Ok",
        "n_partial": "Partial",
        "n_failed": "Failed",
        "n_pages": "Pages",
        "started_at": st.column_config.DatetimeColumn("Started", format="YYYY-MM-DD HH:mm:ss"),
        "elapsed_s": st.column_config.NumberColumn("Time (s)", format="%.1f"),
        "pages_per_s": st.column_config.NumberColumn("Pages/s", format="%.2f"),
    },
)
selection = st.session_state.get("runs_table")
rows = selection.selection.rows if selection is not None else []
run = frame.iloc[rows[0] if rows else 0]
stages = stage_breakdown(run["stage_ms"], run["n_pages"])
st.subheader(f"Time per stage · {run['run_id']}")
if stages.empty:
    st.caption("No stage timings recorded for this run.")
else:
    chart = px.bar(
        stages,
        x="ms_per_page" if run["n_pages"] else "total_ms",
        y="stage",
        orientation="h",
        text_auto=".0f",
        labels={"ms_per_page": "ms per page", "total_ms": "ms", "stage": ""},
    )
    chart.update_layout(
        height=60 + 40 * len(stages),
        margin={"l": 0, "r": 0, "t": 10, "b": 0},
        yaxis={"categoryorder": "total ascending"},
    )
    st.plotly_chart(chart, key="stage_chart")

st.subheader("Failures and partial documents")
bad = resources.failures(root)
if bad.empty:
    st.success("Every document is ok.", icon=":material/task_alt:")
else:
    st.dataframe(
        bad,
        hide_index=True,
        width="stretch",
        key="failures_table",
        column_order=["source_name", "status", "reason", "run_id"],
        column_config={"reason": st.column_config.TextColumn("Reason", width="large")},
    )
