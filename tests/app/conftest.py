"""A small workspace for the app tests: one ok receipt-like document and one failed one."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest
import streamlit as st
from PIL import Image
from streamlit.testing.v1 import AppTest

from extractors.document import (
    Block,
    Cell,
    Document,
    ErrorRecord,
    Line,
    Page,
    PipelineInfo,
    Table,
    Word,
    document_id_for,
)
from pipelines.security.principal import Principal, Role
from pipelines.store.database import query as database_query
from pipelines.store.loader import load_staged
from pipelines.store.staging import stage_bundle
from pipelines.store.workspace import WORKSPACE_ENV, Workspace, atomic_write_json
from workbench.resources import PRINCIPAL_KEY

APP = str(Path(__file__).resolve().parents[2] / "workbench" / "app.py")
OK_ID = document_id_for("a" * 64)
FAILED_ID = document_id_for("b" * 64)
STAGES = {"ocr.ppocr": "1", "order.reading": "1"}


def _ok_document() -> Document:
    words = [
        Word(
            id="p0-w0", text="totl", bbox=[0.1, 0.1, 0.3, 0.15], confidence=0.62, source="ocr.ppocr"
        ),
        Word(
            id="p0-w1",
            text="12.50",
            bbox=[0.35, 0.1, 0.5, 0.15],
            confidence=0.99,
            source="ocr.ppocr",
        ),
    ]
    line = Line(
        id="p0-l0",
        text="totl 12.50",
        bbox=[0.1, 0.1, 0.5, 0.15],
        confidence=0.7,
        source="ocr.ppocr",
        words=words,
    )
    page = Page(
        id="p0",
        index=0,
        width=400,
        height=300,
        unit="px",
        text_source="ocr",
        blocks=[
            Block(
                id="p0-b0",
                kind="text",
                bbox=[0.1, 0.1, 0.5, 0.15],
                lines=[line],
                source="order.reading",
            )
        ],
        tables=[
            Table(
                id="p0-t0",
                n_rows=2,
                n_cols=2,
                bbox=[0.1, 0.5, 0.9, 0.7],
                source="tables.image",
                cells=[
                    Cell(
                        id=f"p0-t0-c{r}-{c}",
                        row=r,
                        col=c,
                        text=text,
                        is_header=r == 0,
                        bbox=[0.1 + 0.4 * c, 0.5 + 0.1 * r, 0.5 + 0.4 * c, 0.6 + 0.1 * r],
                    )
                    for r, row in enumerate([["Item", "Price"], ["Tea", "3.5O"]])
                    for c, text in enumerate(row)
                ],
            )
        ],
    )
    return Document(
        document_id=OK_ID,
        source_name="receipt-a.png",
        source_path="/gone/receipt-a.png",
        sha256="a" * 64,
        pages=[page],
        pipeline=PipelineInfo(
            profile="default",
            config_hash="c" * 64,
            stages=STAGES,
            started_at="2026-11-26T10:00:00+00:00",
        ),
    )


def _failed_document() -> Document:
    return Document(
        document_id=FAILED_ID,
        source_name="broken.pdf",
        source_path="/gone/broken.pdf",
        sha256="b" * 64,
        status="failed",
        errors=[ErrorRecord(stage="ingest", message="corrupt PDF: no trailer")],
        pipeline=PipelineInfo(
            profile="default", config_hash="c" * 64, started_at="2026-11-26T10:00:00+00:00"
        ),
    )


def stage_with_image(ws: Workspace, document: Document, folder: Path) -> None:
    """Stage a document with a blank page image the app can draw on (its source name)."""
    image = folder / document.source_name
    Image.new("RGB", (400, 300), "white").save(image)
    stage_bundle(ws, document, "run-1", str(image))


@pytest.fixture()
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Workspace]:
    ws = Workspace.open(tmp_path / "ws")
    stage_with_image(ws, _ok_document(), tmp_path)
    stage_bundle(ws, _failed_document(), "run-1", "")
    atomic_write_json(
        ws.runs_dir / "run-1.json",
        {
            "run_id": "run-1",
            "started_at": "2026-11-26T10:00:00+00:00",
            "finished_at": "2026-11-26T10:00:09+00:00",
            "profile": "default",
            "config_hash": "c" * 64,
            "workers": 2,
            "command": "folio run x",
            "n_files": 2,
            "n_skipped": 0,
            "n_ok": 1,
            "n_partial": 0,
            "n_failed": 1,
            "n_pages": 1,
            "elapsed_s": 9.0,
            "pages_per_s": 0.11,
            "stage_ms": {"ocr.ppocr": 4000.0, "order.reading": 2.0},
            "state": "finished",
        },
    )
    load_staged(ws)
    monkeypatch.setenv(WORKSPACE_ENV, str(ws.root))
    st.cache_data.clear()
    yield ws
    st.cache_data.clear()


@pytest.fixture(autouse=True)
def _restore_main_module() -> Iterator[None]:
    """AppTest leaves `sys.modules["__main__"]` pointing at workbench/app.py; every process
    spawned later in the session (the fuzz sandbox, worker pools) would then import the app,
    streamlit and all, as its `__mp_main__`."""
    main = sys.modules["__main__"]
    yield
    sys.modules["__main__"] = main


@pytest.fixture()
def app(workspace: Workspace) -> AppTest:
    del workspace
    at = AppTest.from_file(APP, default_timeout=30)
    return at


def open_page(
    at: AppTest, page: str, reviewer: str = "ana", role: Role = "reviewer", **state: object
) -> AppTest:
    """Run the app once as `reviewer` (signed in with `role`), then switch to `page` with the
    given session state."""
    at.session_state[PRINCIPAL_KEY] = Principal(reviewer, role, "user")
    for key, value in state.items():
        at.session_state[key] = value
    at.run()
    at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def query(ws: Workspace, sql: str, params: list[object] | None = None) -> pa.Table:
    """What the database holds once the app's saves are in. A save loads its corrections at
    once only when the database is free; otherwise the app's background loader does it a
    moment later. So a test loads the journal itself before it looks (no race with that thread)."""
    load_staged(ws)
    return database_query(ws, sql, params)
