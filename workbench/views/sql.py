"""SQL: read-only queries over the workspace views, with CSV and Parquet downloads."""

from __future__ import annotations

import io

import pyarrow.parquet as pq
import streamlit as st

from pipelines.security.audit import statement_reference
from pipelines.store.query import SqlRefused, run_user_sql
from workbench import auth, resources

EXAMPLES = {
    "Documents that need attention": "SELECT source_name, status, n_pages, errors FROM documents\n"
    "ORDER BY status DESC, processed_at",
    "Low-confidence lines": "SELECT d.source_name, l.page_index, l.text, round(l.confidence, 3) "
    "AS conf\nFROM lines l JOIN documents d USING (document_id)\nWHERE l.confidence < 0.8 "
    "ORDER BY conf",
    "Corrected words": "SELECT document_id, word_id, text, corrected_by FROM reviewed_words\n"
    "WHERE corrected",
    "Review progress": "SELECT d.source_name, r.reviewed, r.pages_accepted, r.n_corrections, "
    "r.last_reviewer\nFROM reviews r JOIN documents d USING (document_id) ORDER BY r.reviewed",
    "Throughput per run": "SELECT run_id, profile, n_pages, round(pages_per_s, 2) AS pages_per_s, "
    "stage_ms\nFROM runs ORDER BY started_at DESC",
}

ws = resources.workspace()
st.title("SQL")
st.caption(
    "Read-only: SELECT over `documents`, `pages`, `blocks`, `lines`, `words`, `tables`, "
    "`cells`, `entities`, `fields`, `runs`, `corrections`, `reviews` and the `reviewed_*` "
    "views. Files, network and writes are refused."
)


def use_example() -> None:
    name = st.session_state.get("sql_example")
    if name in EXAMPLES:
        st.session_state["sql_text"] = EXAMPLES[name]


st.selectbox(
    "Examples",
    list(EXAMPLES),
    index=None,
    key="sql_example",
    placeholder="Start from an example…",
    on_change=use_example,
)
statement = st.text_area(
    "Query",
    key="sql_text",
    height=140,
    value=None if "sql_text" in st.session_state else EXAMPLES["Documents that need attention"],
)
run = st.button(
    "Run", key="sql_run", type="primary", shortcut="Ctrl+Enter", icon=":material/play_arrow:"
)

if run or st.session_state.get("sql_result") is not None:
    if run:
        try:
            auth.record("sql", statement_reference(statement or ""), chars=len(statement or ""))
            st.session_state["sql_result"] = run_user_sql(ws, statement or "")
            st.session_state["sql_error"] = None
        except SqlRefused as error:
            st.session_state["sql_result"] = None
            st.session_state["sql_error"] = str(error)
    result = st.session_state.get("sql_result")
    if st.session_state.get("sql_error"):
        st.error(st.session_state["sql_error"], icon=":material/block:")
    elif result is not None:
        st.caption(f"{result.num_rows} rows")
        st.dataframe(result, hide_index=True, width="stretch", key="sql_table")
        if auth.can("export"):
            parquet = io.BytesIO()
            pq.write_table(result, parquet)
            downloads = {
                "csv": (result.to_pandas().to_csv(index=False).encode(), "text/csv"),
                "parquet": (parquet.getvalue(), "application/vnd.apache.parquet"),
            }
            for column, (fmt, (payload, mime)) in zip(
                st.columns([1, 1, 4])[:2], downloads.items(), strict=True
            ):
                column.download_button(
                    fmt.upper() if fmt == "csv" else fmt.title(),
                    payload,
                    f"folio-query.{fmt}",
                    mime,
                    key=f"sql_{fmt}",
                    icon=":material/download:",
                    on_click=auth.record,
                    args=("export", "sql-result"),
                    kwargs={"format": fmt, "rows": result.num_rows},
                )
        else:
            st.caption("Downloads need the reviewer role.")
elif st.session_state.get("sql_error"):
    st.error(st.session_state["sql_error"])
