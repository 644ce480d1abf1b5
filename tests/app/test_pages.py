"""Every page through AppTest: queue, review edits, SQL, runs, upload."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from pipelines.store.workspace import Workspace
from tests.app.conftest import FAILED_ID, OK_ID, open_page, query


def _reviewed_words(ws: Workspace) -> list[dict]:
    return query(
        ws, "SELECT word_id, text, corrected, corrected_by FROM reviewed_words ORDER BY word_no"
    ).to_pylist()


def test_documents_queue_is_sorted_by_risk_and_filters(app: AppTest) -> None:
    at = open_page(app, "views/documents.py")
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Documents"] == "2" and metrics["Failed"] == "1"
    table = at.dataframe(key="queue").value
    assert list(table["source_name"]) == ["broken.pdf", "receipt-a.png"]
    at.text_input(key="q_search").input("receipt").run()
    assert list(at.dataframe(key="queue").value["source_name"]) == ["receipt-a.png"]
    assert at.session_state["queue_ids"] == [OK_ID]


def test_selecting_a_row_opens_review(app: AppTest) -> None:
    at = open_page(app, "views/documents.py")
    at.session_state["queue"] = {"selection": {"rows": [1], "columns": [], "cells": []}}
    at.run()
    assert at.session_state["doc_id"] == OK_ID
    assert any("receipt-a.png" in m.value for m in at.markdown)


def test_a_viewer_cannot_edit_upload_or_download(app: AppTest) -> None:
    at = open_page(app, "views/review.py", reviewer="vic", role="viewer", doc_id=OK_ID)
    assert any("Read-only" in w.value for w in at.warning)
    assert at.button(key="accept_page").disabled
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        open_page(app, "views/upload.py", reviewer="vic", role="viewer")  # not offered
    sql = open_page(app, "views/sql.py", reviewer="vic", role="viewer")
    sql.button(key="sql_run").click().run()
    assert not sql.get("download_button")
    assert any("Downloads need the reviewer role" in c.value for c in sql.caption)


def test_fix_a_selected_word_then_undo(app: AppTest, workspace: Workspace) -> None:
    at = open_page(app, "views/review.py", doc_id=OK_ID, selected="p0-w0", fix_text="totl")
    at.text_input(key="fix_text").input("total").run()
    assert not at.exception
    assert _reviewed_words(workspace)[0] == {
        "word_id": "p0-w0",
        "text": "total",
        "corrected": True,
        "corrected_by": "ana",
    }
    stage = query(workspace, "SELECT stage_version FROM corrections").column(0).to_pylist()
    assert stage == ["ocr.ppocr@1"]
    at.button(key="undo").click().run()
    assert _reviewed_words(workspace)[0]["text"] == "totl"


def test_grid_edit_saves_only_the_delta(app: AppTest, workspace: Workspace) -> None:
    at = open_page(app, "views/review.py", doc_id=OK_ID)
    at.session_state["ed_words_0_0"] = {
        "edited_rows": {1: {"text": "12.60"}},
        "added_rows": [],
        "deleted_rows": [],
    }
    at.run()
    assert not at.exception
    words = _reviewed_words(workspace)
    assert [w["text"] for w in words] == ["totl", "12.60"]
    assert query(workspace, "SELECT count(*) FROM corrections").column(0)[0].as_py() == 1
    assert at.session_state["selected"] == "p0-w1"  # the edited value's box is highlighted


def test_table_grid_edit_and_header_rows_become_corrections(
    app: AppTest, workspace: Workspace
) -> None:
    at = open_page(app, "views/review.py", doc_id=OK_ID)
    at.session_state["ed_table_p0-t0_0"] = {
        "edited_rows": {1: {"B": "3.50"}},
        "added_rows": [],
        "deleted_rows": [],
    }
    at.run()
    assert not at.exception
    cells = query(
        workspace,
        'SELECT cell_id, text, is_header, corrected FROM reviewed_cells ORDER BY "row", col',
    ).to_pylist()
    assert [(c["text"], c["is_header"], c["corrected"]) for c in cells] == [
        ("Item", True, False),
        ("Price", True, False),
        ("Tea", False, False),
        ("3.50", False, True),
    ]
    # The grid redraws with the reviewed text under a new key; no header row now.
    at.number_input(key="hdr_p0-t0_1").set_value(0).run()
    assert not at.exception
    headers = query(workspace, "SELECT bool_or(is_header) FROM reviewed_cells").column(0)
    assert headers.to_pylist() == [False]
    kinds = query(workspace, "SELECT target_type, target_id FROM corrections ORDER BY created_at")
    assert kinds.to_pylist() == [
        {"target_type": "cell", "target_id": "p0-t0-c1-1"},
        {"target_type": "table", "target_id": "p0-t0"},
    ]


def test_box_click_selects_and_next_low_steps(app: AppTest) -> None:
    at = open_page(app, "views/review.py", doc_id=OK_ID)
    at.button(key="next_low").click().run()
    assert at.session_state["selected"] == "p0-w0"
    assert at.text_input(key="fix_text").value == "totl"


def test_add_entity_from_selected_word_and_relabel(app: AppTest, workspace: Workspace) -> None:
    at = open_page(app, "views/review.py", doc_id=OK_ID, selected="p0-w1")
    at.selectbox(key="new_label").select("total").run()
    at.button(key="add_entity").click().run()
    rows = query(workspace, "SELECT label, text, x0 FROM reviewed_entities").to_pylist()
    assert rows == [{"label": "total", "text": "12.50", "x0": 0.35}]


def test_accept_page_marks_the_document_reviewed(app: AppTest, workspace: Workspace) -> None:
    at = open_page(app, "views/review.py", doc_id=OK_ID)
    at.button(key="accept_page").click().run()
    assert not at.exception
    row = query(
        workspace, "SELECT reviewed, last_reviewer FROM reviews WHERE document_id = ?", [OK_ID]
    ).to_pylist()
    assert row == [{"reviewed": True, "last_reviewer": "ana"}]


def test_failed_document_shows_error_and_retry(app: AppTest) -> None:
    at = open_page(app, "views/review.py", doc_id=FAILED_ID)
    assert any("corrupt PDF" in e.value for e in at.error)
    assert any("file is gone" in w.value for w in at.warning)  # nothing stored to retry


def test_sql_runs_and_refuses(app: AppTest) -> None:
    at = open_page(app, "views/sql.py")
    at.text_area(key="sql_text").input("SELECT source_name FROM documents ORDER BY 1").run()
    at.button(key="sql_run").click().run()
    assert list(at.dataframe[0].value["source_name"]) == ["broken.pdf", "receipt-a.png"]
    at.text_area(key="sql_text").input("COPY documents TO '/tmp/x.csv'").run()
    at.button(key="sql_run").click().run()
    assert at.error and "refused" in at.error[0].value


def test_runs_page_shows_counts_stages_and_failures(app: AppTest) -> None:
    at = open_page(app, "views/runs.py")
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Runs"] == "1" and metrics["Latest failed"] == "1"
    failures = at.dataframe[-1].value
    assert "corrupt PDF" in failures["reason"][0]


def test_upload_page_renders(app: AppTest) -> None:
    at = open_page(app, "views/upload.py")
    assert any("50 MB" in c.value for c in at.caption)


def test_the_reviewer_sets_the_document_type(app: AppTest, workspace: Workspace) -> None:
    at = open_page(app, "views/review.py", doc_id=OK_ID)
    box = at.selectbox(key=f"doc_type_{OK_ID}")
    assert box.value is None or box.value in box.options  # as classified, if at all
    box.select("invoice").run()
    assert not at.exception, at.exception
    rows = query(
        workspace,
        "SELECT target_type, target_id, action, new_value ->> 'doc_type' AS doc_type "
        "FROM corrections WHERE action = 'relabel'",
    ).to_pylist()
    assert rows == [
        {"target_type": "document", "target_id": OK_ID, "action": "relabel", "doc_type": "invoice"}
    ]
    at.run()  # the page shows the reviewed type from now on
    assert at.selectbox(key=f"doc_type_{OK_ID}").value == "invoice"
    # the analyst's query of docs/sql.md
    changed = query(
        workspace,
        "SELECT d.source_name, arg_max(c.new_value ->> 'doc_type', c.created_at) AS reviewed "
        "FROM effective_corrections c JOIN documents d USING (document_id) "
        "WHERE c.target_type = 'document' AND c.action = 'relabel' GROUP BY ALL",
    ).to_pylist()
    assert changed == [{"source_name": "receipt-a.png", "reviewed": "invoice"}]
