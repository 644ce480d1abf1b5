"""Cached reads and shared resources for the pages.

Query results are `st.cache_data` with a short TTL (a batch in another terminal shows up within
seconds); nothing holds a DuckDB connection across reruns. After an edit, `refresh()` drops the
caches so the reviewer sees their own change at once.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

from extractors.document import Document
from extractors.ingest import IngestOptions, open_document
from pipelines.security.principal import Principal
from pipelines.store.loader import BackgroundLoader
from pipelines.store.workspace import Workspace, resolve_workspace
from workbench import data
from workbench.jobs import JobRegistry
from workbench.overlay import Shading, image_data_url

TTL_S = 3
RENDER_DPI = 110
PRINCIPAL_KEY = "principal"  # the session's Principal (workbench.auth signs in)


def workspace() -> Workspace:
    """The workspace from $FOLIO_WORKSPACE (set by `folio app`), else the default."""
    return _open_workspace(str(resolve_workspace(None)))


@st.cache_resource
def _open_workspace(root: str) -> Workspace:
    ws = Workspace.open(root)
    # Whatever finished while nobody was loading goes in off the page's thread: a batch
    # holding the database must not hold up the app's start.
    _background_loader(root).request()
    return ws


def background_loader() -> BackgroundLoader:
    return _background_loader(str(workspace().root))


@st.cache_resource
def _background_loader(root: str) -> BackgroundLoader:
    return BackgroundLoader(Workspace(Path(root)))


@st.cache_resource
def job_registry() -> JobRegistry:
    return JobRegistry()


@st.cache_data(ttl=TTL_S, show_spinner=False)
def queue(root: str) -> pd.DataFrame:
    return data.review_queue(Workspace(Path(root)))


@st.cache_data(ttl=TTL_S, show_spinner=False)
def runs(root: str) -> pd.DataFrame:
    return data.runs(Workspace(Path(root)))


@st.cache_data(ttl=TTL_S, show_spinner=False)
def failures(root: str) -> pd.DataFrame:
    return data.failures(Workspace(Path(root)))


@st.cache_data(ttl=TTL_S, show_spinner=False)
def info(root: str, document_id: str) -> data.DocumentInfo | None:
    return data.document_info(Workspace(Path(root)), document_id)


@st.cache_data(max_entries=16, show_spinner=False)
def document(root: str, document_id: str, result_id: str) -> Document | None:
    """Keyed by result id: a reprocessed document is a new entry, an old one never changes."""
    del result_id
    return data.current_document(Workspace(Path(root)), document_id)


@st.cache_data(ttl=TTL_S, show_spinner=False)
def corrections(root: str, document_id: str) -> dict[tuple[str, str], dict]:
    return data.element_corrections(Workspace(Path(root)), document_id)


@st.cache_data(ttl=TTL_S, show_spinner=False)
def entities(root: str, document_id: str) -> pd.DataFrame:
    return data.reviewed_entities(Workspace(Path(root)), document_id)


@st.cache_data(ttl=TTL_S, show_spinner=False)
def fields(root: str, document_id: str) -> pd.DataFrame:
    return data.reviewed_fields(Workspace(Path(root)), document_id)


@st.cache_data(ttl=TTL_S, show_spinner=False)
def thresholds(root: str, target_type: str) -> dict[str, float]:
    """Calibrated review thresholds per stage (see workbench.data.REVIEW_TARGET)."""
    return data.thresholds(Workspace(Path(root)), target_type)


@st.cache_data(ttl=TTL_S, show_spinner=False)
def shading(root: str) -> dict[str, Shading]:
    """Overlay colours read through the calibration (see workbench.data.shading)."""
    return data.shading(Workspace(Path(root)))


@st.cache_data(ttl=TTL_S, show_spinner=False)
def relations(root: str, document_id: str) -> pd.DataFrame:
    return data.relations(Workspace(Path(root)), document_id)


@st.cache_data(ttl=TTL_S, show_spinner=False)
def review_state(root: str, document_id: str) -> dict:
    return data.review_state(Workspace(Path(root)), document_id)


@st.cache_data(max_entries=32, show_spinner="Rendering page…")
def page_image(path: str, page_index: int, dpi: int = RENDER_DPI) -> tuple[str, int, int]:
    """The page as the input presents it, as a PNG data URL about 1000 px wide."""
    options = IngestOptions(ocr_dpi=dpi, layout_dpi=dpi, max_pixels=6_000_000)
    with open_document(Path(path), options) as opened:
        image: np.ndarray = opened.pages[page_index].render()
    return image_data_url(image, max_width=1000)


def refresh() -> None:
    """Forget cached query results (after an edit, an upload or a retry)."""
    for cached in (
        queue,
        runs,
        failures,
        info,
        corrections,
        entities,
        fields,
        relations,
        review_state,
    ):
        cached.clear()


def reviewer() -> str:
    """Who corrections are by: the signed-in principal when their role may edit, else ""
    (the pages are read-only then). Set by workbench.auth, never typed in."""
    principal = st.session_state.get(PRINCIPAL_KEY)
    if isinstance(principal, Principal) and principal.can("edit"):
        return principal.label
    return ""
