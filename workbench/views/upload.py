"""Upload: files go to <workspace>/uploads/ and through the same pipeline as `folio run`."""

from __future__ import annotations

import streamlit as st

from workbench import auth, resources
from workbench.jobs import MAX_UPLOAD_MB, UPLOAD_SUFFIXES, check_upload, save_upload

if not auth.can("upload"):  # the router hides the page; a bookmarked URL still lands here
    st.error("Your role may not upload documents.", icon=":material/block:")
    st.stop()
ws = resources.workspace()
registry = resources.job_registry()
st.title("Upload")
st.caption(
    f"PDFs, images or Office files ({', '.join(s.lstrip('.') for s in UPLOAD_SUFFIXES)}), up to "
    f"{MAX_UPLOAD_MB} MB each. They are processed in the background and appear in the "
    "Documents queue as they finish."
)

with st.form("upload_form", clear_on_submit=True, border=True):
    files = st.file_uploader(
        "Documents",
        type=[s.lstrip(".") for s in UPLOAD_SUFFIXES],
        accept_multiple_files=True,
        key="uploads",
        max_upload_size=MAX_UPLOAD_MB,
    )
    submitted = st.form_submit_button("Process", type="primary", icon=":material/play_arrow:")

if submitted:
    saved, refused = [], []
    for upload in files or []:
        problem = check_upload(upload.name, upload.size)
        if problem:
            refused.append(problem)
        else:
            saved.append(save_upload(ws, upload.name, upload.getvalue()))
            auth.record("upload", saved[-1].name, bytes=upload.size)
    for problem in refused:
        st.error(problem, icon=":material/block:")
    if saved:
        label = saved[0].name if len(saved) == 1 else f"{len(saved)} uploads"
        registry.start(ws, saved, label=label)
        st.success(f"Processing {label}…", icon=":material/hourglass_top:")
    elif not refused:
        st.warning("Choose at least one file first.")


@st.fragment(run_every=1)
def progress() -> None:
    jobs = registry.jobs()
    if not jobs:
        return
    st.subheader("Processing")
    for job in jobs[:10]:
        total = job.total if job.total is not None else len(job.names)
        if job.active:
            st.progress(job.fraction, text=f"{job.label}: {job.done}/{total} done")
        elif job.state == "failed":
            st.error(f"{job.label}: {job.message}")
        else:
            extra = f", {job.n_skipped} already in the workspace" if job.n_skipped else ""
            failed = f", {job.n_failed} failed" if job.n_failed else ""
            st.success(
                f"{job.label}: {job.done} processed{failed}{extra}. Open it from **Documents**.",
                icon=":material/task_alt:",
            )
    if any(job.active for job in jobs):
        resources.refresh()


progress()
