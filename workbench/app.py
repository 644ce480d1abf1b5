"""Folio review workbench: `folio app` (or `streamlit run workbench/app.py`).

A thin router: page config, the reviewer name and background jobs in the sidebar, navigation.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `streamlit run` puts only workbench/ on the path
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

from workbench import resources  # noqa: E402

st.set_page_config(page_title="Folio review", page_icon=":material/description:", layout="wide")

PAGES = [
    st.Page("views/documents.py", title="Documents", icon=":material/inbox:", default=True),
    st.Page("views/review.py", title="Review", icon=":material/rate_review:"),
    st.Page("views/upload.py", title="Upload", icon=":material/upload_file:"),
    st.Page("views/sql.py", title="SQL", icon=":material/terminal:"),
    st.Page("views/runs.py", title="Runs", icon=":material/monitoring:"),
    st.Page("views/dashboards.py", title="Dashboards", icon=":material/dashboard:"),
]

navigation = st.navigation(PAGES)
st.markdown(
    "<style>[data-testid='stMainBlockContainer']{padding-top:2.2rem;padding-bottom:1rem}</style>",
    unsafe_allow_html=True,
)

with st.sidebar:
    st.text_input(
        "Reviewer",
        key=resources.REVIEWER_KEY,
        placeholder="your name",
        help="Every correction records who made it. Required before editing.",
    )
    if not resources.reviewer():
        st.caption(":orange[Enter your name to edit and accept.]")
    active = [job for job in resources.job_registry().jobs() if job.active]
    for job in active:
        total = job.total or len(job.names)
        st.progress(job.fraction, text=f"{job.label}: {job.done}/{total}")
    st.caption(f"Workspace `{resources.workspace().root}`")

navigation.run()
