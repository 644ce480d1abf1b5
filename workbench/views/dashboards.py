"""Dashboards: throughput, confidence, review progress, correction rates, evaluations, failures.

Every chart runs one named query of workbench/dashboard_queries.py with the filters above the
charts, and shows that query (parameters written in) under it for analysts.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from pipelines.store.workspace import Workspace
from workbench import dashboard_queries as dq
from workbench import resources

LAYOUT = {"margin": {"l": 0, "r": 0, "t": 30, "b": 0}, "height": 320}
# A workspace made by an older Folio lacks the newest views until the loader (started with the
# app) migrates it; say so instead of failing.
UPGRADING = "This workspace is being upgraded to the current schema; reload in a moment."


@st.cache_data(ttl=resources.TTL_S, show_spinner=False)
def _frame(root: str, name: str, filters: dq.Filters) -> pd.DataFrame:
    return dq.run_query(Workspace(Path(root)), name, filters)


@st.cache_data(ttl=resources.TTL_S, show_spinner=False)
def _options(root: str) -> dict[str, list]:
    return dq.filter_options(Workspace(Path(root)))


def _period(value: object) -> tuple[date | None, date | None]:
    """A date_input range as (first, last); a half-picked range is open at the end."""
    picked = value if isinstance(value, list | tuple) else [value]
    days = [d for d in picked if isinstance(d, date)]
    return (days[0], days[1]) if len(days) > 1 else (days[0] if days else None, None)


def chart(
    name: str,
    title: str,
    draw: Callable[[pd.DataFrame], go.Figure],
    empty: str,
) -> pd.DataFrame:
    """One chart: its query's rows drawn (or an empty note) and the SQL it ran."""
    st.markdown(f"**{title}**")
    try:
        frame = _frame(root, name, filters)
    except duckdb.CatalogException:
        st.caption(UPGRADING)
        return pd.DataFrame()
    if frame.empty:
        st.caption(empty)
    else:
        figure = draw(frame)
        figure.update_layout(**LAYOUT)
        st.plotly_chart(figure, key=f"dash_{name}")
    with st.expander("SQL", icon=":material/code:"):
        st.code(dq.render_sql(name, filters), language="sql")
    return frame


def _evaluation_lines(frame: pd.DataFrame) -> go.Figure:
    """One task and metric at a time (CER and F1 do not share an axis); a line per dataset,
    split and scope."""
    measure = frame["task"].fillna("") + " " + frame["metric"].fillna("")
    picked = st.selectbox("Metric", sorted(set(measure)), key="dash_eval_metric")
    shown = frame[measure == picked]
    names = shown[["dataset", "split", "scope"]].fillna("")
    shown = shown.assign(series=names["dataset"] + "/" + names["split"] + " " + names["scope"])
    return px.line(shown, x="started_at", y="value", color="series", markers=True,
                   hover_data=["profile", "previous_value", "delta", "n"],
                   labels={"started_at": "evaluated", "value": picked})  # fmt: skip


ws = resources.workspace()
root = str(ws.root)
st.title("Dashboards")
try:
    options = _options(root)
except duckdb.CatalogException:
    st.info(UPGRADING, icon=":material/update:")
    st.stop()
if not options["runs"] and not options["days"]:
    st.info(
        "Nothing to show yet: process documents (Upload, or `folio run`) and the charts fill in.",
        icon=":material/dashboard:",
    )
    st.stop()

cols = st.columns([2, 2, 2])
picked_runs = cols[0].multiselect("Runs", options["runs"], key="dash_runs", placeholder="all")
picked_profiles = cols[1].multiselect(
    "Profiles", options["profiles"], key="dash_profiles", placeholder="all"
)
first, last = _period(cols[2].date_input("Period (UTC days)", value=[], key="dash_period"))
filters = dq.Filters(
    tuple(picked_runs),
    tuple(picked_profiles),
    first,
    last,
    low_by_stage=tuple(sorted(resources.thresholds(str(ws.root), "word").items())),
)
st.caption(
    "Runs and profiles choose the documents (evaluations: by profile); the period bounds each "
    "chart's own time: run start, processing, review, evaluation."
)

st.subheader("Throughput and latency")
left, right = st.columns(2)
with left:
    chart(
        "throughput",
        "Pages per second by run",
        lambda f: px.bar(f, x="run_id", y="pages_per_s", color="profile", text_auto=".2f",
                         labels={"run_id": "run", "pages_per_s": "pages/s"}),
        "No runs in this selection.",
    )  # fmt: skip
with right:
    chart(
        "stage_latency",
        "Milliseconds per page by stage and run",
        lambda f: px.bar(f, x="run_id", y="ms_per_page", color="stage",
                         labels={"run_id": "run", "ms_per_page": "ms per page"}),
        "No stage timings in this selection.",
    )  # fmt: skip

st.subheader("Confidence and review need")
left, right = st.columns(2)
with left:
    chart(
        "confidence",
        "Confidence distribution",
        lambda f: px.bar(f, x="bin_start", y="n", facet_row="kind", labels={
            "bin_start": "confidence", "n": "items"}).update_yaxes(matches=None),
        "No words, fields, entities or cells in this selection.",
    )  # fmt: skip
with right:
    chart(
        "needs_review",
        f"Share needing review (documents; words under {dq.LOW_CONFIDENCE:.2f})",
        lambda f: px.bar(
            f.melt(id_vars="run_id", value_vars=["share_needs_review", "share_low_words"],
                   var_name="what", value_name="share"),
            x="run_id", y="share", color="what", barmode="group", range_y=[0, 1],
            labels={"run_id": "run"}),
        "No documents in this selection.",
    )  # fmt: skip

st.subheader("Review")
left, middle, right = st.columns(3)
with left:
    chart(
        "review_state",
        "Documents by review state",
        lambda f: px.pie(f, names="state", values="n_documents", hole=0.5),
        "No documents in this selection.",
    )
with middle:
    chart(
        "review_progress",
        "Documents reviewed over time",
        lambda f: px.line(f, x="day", y="cumulative", markers=True,
                          labels={"cumulative": "reviewed (cumulative)"}),
        "No document reviewed in this selection yet.",
    )  # fmt: skip
with right:
    chart(
        "reviewer_throughput",
        "Elements reviewed per reviewer and day",
        lambda f: px.bar(f, x="day", y="elements", color="reviewer", barmode="group",
                         hover_data=["documents", "corrections"]),
        "Nobody reviewed anything in this selection yet.",
    )  # fmt: skip

chart(
    "correction_rates",
    "Correction rate by field and document type (reviewed elements)",
    lambda f: px.density_heatmap(
        f.fillna({"doc_type": "unknown"}), x="doc_type", y="field", z="correction_rate",
        histfunc="avg", text_auto=".0%", range_color=[0, 1], color_continuous_scale="Reds",
        labels={"doc_type": "document type"}),
    "No reviewed elements in this selection yet.",
)  # fmt: skip

st.subheader("Evaluation and failures")
left, right = st.columns(2)
with left:
    chart("evaluations", "Evaluation metrics over time", _evaluation_lines,
          "No evaluations in this selection (`folio evaluate` stores them).")  # fmt: skip
with right:
    chart(
        "failures",
        "Failures by reason",
        lambda f: px.bar(f, x="n_documents", y="reason", color="stage", orientation="h",
                         labels={"n_documents": "documents", "reason": ""}),
        "No failed or partial documents in this selection.",
    )  # fmt: skip
