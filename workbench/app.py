"""Folio review workbench: `folio app` (or `streamlit run workbench/app.py`).

A thin router: sign-in, page config, who is signed in and background jobs in the sidebar,
navigation (pages the role allows).
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `streamlit run` puts only workbench/ on the path
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

from workbench import auth, resources  # noqa: E402


def main() -> None:
    st.set_page_config(page_title="Folio review", page_icon=":material/description:", layout="wide")
    principal = auth.require_login()

    pages = [
        st.Page("views/documents.py", title="Documents", icon=":material/inbox:", default=True),
        st.Page("views/review.py", title="Review", icon=":material/rate_review:"),
        *(
            [st.Page("views/upload.py", title="Upload", icon=":material/upload_file:")]
            if principal.can("upload")
            else []
        ),
        st.Page("views/sql.py", title="SQL", icon=":material/terminal:"),
        st.Page("views/runs.py", title="Runs", icon=":material/monitoring:"),
        st.Page("views/dashboards.py", title="Dashboards", icon=":material/dashboard:"),
        *(
            [st.Page("views/admin.py", title="Admin", icon=":material/admin_panel_settings:")]
            if principal.can("admin")
            else []
        ),
    ]

    navigation = st.navigation(pages)
    st.markdown(
        "<style>[data-testid='stMainBlockContainer']{padding-top:2.2rem;padding-bottom:1rem}</style>",
        unsafe_allow_html=True,
    )

    with st.sidebar:
        st.markdown(f":material/person: **{principal.name}** · {principal.role}")
        if principal.kind == "user":
            st.button("Sign out", key="sign_out", on_click=auth.sign_out, icon=":material/logout:")
        if not principal.can("edit"):
            st.caption(":orange[Read-only: your role can view, not edit.]")
        active = [job for job in resources.job_registry().jobs() if job.active]
        for job in active:
            total = job.total or len(job.names)
            st.progress(job.fraction, text=f"{job.label}: {job.done}/{total}")
        st.caption(f"Workspace `{resources.workspace().root}`")

    navigation.run()


# Streamlit runs this file as `__main__`; worker processes spawned by an upload's batch re-run
# the parent's main module as `__mp_main__`, where there is no app to draw.
if __name__ == "__main__":
    main()
