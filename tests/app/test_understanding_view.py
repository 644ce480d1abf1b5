"""The review page shows fields with their evidence and failed checks, the document's review
reasons, and relations (listed, and drawn on the page as links)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from extractors.document import (
    Block,
    DocField,
    Document,
    Entity,
    Line,
    Page,
    PipelineInfo,
    Relation,
    Word,
    document_id_for,
)
from pipelines.store.loader import load_staged
from pipelines.store.workspace import WORKSPACE_ENV, Workspace
from tests.app.conftest import APP, open_page, query, stage_with_image
from workbench.overlay import page_links

DOC_ID = document_id_for("d" * 64)


def _document() -> Document:
    words = [
        Word(id="p0-w0", text="Total:", bbox=[0.1, 0.1, 0.3, 0.15]),
        Word(id="p0-w1", text="12.50", bbox=[0.6, 0.1, 0.8, 0.15]),
    ]
    line = Line(id="p0-l0", text="Total: 12.50", bbox=[0.1, 0.1, 0.8, 0.15], words=words)
    page = Page(
        id="p0",
        index=0,
        width=400,
        height=300,
        unit="px",
        blocks=[Block(id="p0-b0", bbox=[0.1, 0.1, 0.8, 0.15], lines=[line])],
    )
    return Document(
        document_id=DOC_ID,
        source_name="bill.png",
        source_path="/gone/bill.png",
        sha256="d" * 64,
        doc_type="receipt",
        review_reasons=["fields: subtotal 10.00 + tax 2.00 is not total 12.50"],
        pages=[page],
        entities=[
            Entity(
                id="k0", label="KEY", text="Total:", page=0, bbox=words[0].bbox, word_ids=["p0-w0"]
            ),
            Entity(
                id="c0",
                label="CHECKBOX",
                text="[ ]",
                value="false",
                page=0,
                bbox=[0.05, 0.1, 0.08, 0.15],
            ),
            Entity(
                id="k1", label="VALUE", text="12.50", page=0, bbox=words[1].bbox, word_ids=["p0-w1"]
            ),
        ],
        fields=[
            DocField(
                name="total",
                value="12.50",
                page=0,
                bbox=words[1].bbox,
                confidence=0.6,
                word_ids=["p0-w1"],
                evidence="Total:",
                flags=["sum"],
            ),
        ],
        relations=[
            Relation(
                id="r0", label="key_value", head="k0", tail="k1", page=0, evidence="Total: 12.50"
            ),
        ],
        pipeline=PipelineInfo(
            profile="default", config_hash="c" * 64, started_at="2026-11-26T10:00:00+00:00"
        ),
    )


@pytest.fixture()
def understood(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Workspace]:
    ws = Workspace.open(tmp_path / "ws")
    stage_with_image(ws, _document(), tmp_path)
    load_staged(ws)
    monkeypatch.setenv(WORKSPACE_ENV, str(ws.root))
    st.cache_data.clear()
    yield ws
    st.cache_data.clear()


def test_fields_relations_and_review_reasons_are_shown(understood: Workspace) -> None:
    at = open_page(AppTest.from_file(APP, default_timeout=30), "views/review.py", doc_id=DOC_ID)
    assert any("is not total 12.50" in info.value for info in at.info)
    # AppTest lists data editors among the dataframes (the same arrow element)
    fields = next(df.value for df in at.dataframe if "evidence" in df.value.columns)
    row = fields.iloc[0]
    assert (row["name"], row["value"], row["evidence"], list(row["flags"])) == (
        "total",
        "12.50",
        "Total:",
        ["sum"],
    )
    relations = next(df.value for df in at.dataframe if "head_text" in df.value.columns)
    assert relations[["label", "head_text", "tail_text"]].values.tolist() == [
        ["key_value", "Total:", "12.50"]
    ]


def test_links_join_the_centres_of_both_ends_on_their_page() -> None:
    entities = [
        {
            "entity_id": "k0",
            "page_index": 0,
            "x0": 0.1,
            "y0": 0.1,
            "x1": 0.3,
            "y1": 0.2,
            "text": "a",
        },
        {
            "entity_id": "k1",
            "page_index": 0,
            "x0": 0.6,
            "y0": 0.1,
            "x1": 0.8,
            "y1": 0.2,
            "text": "b",
        },
        {
            "entity_id": "k2",
            "page_index": 1,
            "x0": 0.6,
            "y0": 0.1,
            "x1": 0.8,
            "y1": 0.2,
            "text": "c",
        },
    ]
    relations = [
        {"head": "k0", "tail": "k1", "label": "key_value"},
        {"head": "k0", "tail": "k2", "label": "key_value"},  # the tail is on another page
    ]
    (link,) = page_links(0, relations, entities)
    assert (link.x0, link.y0, link.x1, link.y1) == pytest.approx((0.2, 0.15, 0.7, 0.15))
    assert link.label == "key_value: a → b"


def test_ticking_a_check_box_corrects_its_value(understood: Workspace) -> None:
    at = open_page(AppTest.from_file(APP, default_timeout=30), "views/review.py", doc_id=DOC_ID)
    grid = next(df.value for df in at.dataframe if "checked" in df.value.columns)
    assert grid["checked"].tolist() == [False]
    at.session_state["ed_checkboxes_0"] = {
        "edited_rows": {0: {"checked": True}},
        "added_rows": [],
        "deleted_rows": [],
    }
    at.run()
    assert not at.exception
    rows = query(
        understood,
        "SELECT entity_id, value, corrected FROM reviewed_entities WHERE label = 'CHECKBOX'",
    ).to_pylist()
    assert rows == [{"entity_id": "c0", "value": "true", "corrected": True}]
