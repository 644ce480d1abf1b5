"""Review corrections: journaled, loaded once, applied by the reviewed_* views, undoable."""

from __future__ import annotations

from pathlib import Path

import pytest

from extractors.document import Entity
from pipelines.store.corrections import Correction, ReviewerRequired, journal
from pipelines.store.database import query
from pipelines.store.loader import load_staged
from pipelines.store.rows import result_id_for
from pipelines.store.staging import stage_bundle
from pipelines.store.workspace import Workspace
from tests.integration.test_store import make_document


@pytest.fixture()
def workspace(tmp_path: Path) -> Workspace:
    ws = Workspace.open(tmp_path / "ws")
    doc = make_document("f" * 64, "totl 12.50")
    doc.entities.append(
        Entity(id="e0", label="money", text="12.50", page=0, bbox=[0.3, 0.1, 0.45, 0.15])
    )
    stage_bundle(ws, doc, "run-1", "")
    load_staged(ws)
    return ws


def _fix(ws: Workspace, **kwargs: object) -> Correction:
    doc_id = "doc-" + "f" * 16
    base = {
        "document_id": doc_id,
        "result_id": result_id_for(doc_id, "c" * 64),
        "reviewer": "ana",
        "page_index": 0,
    }
    return journal(ws, Correction.model_validate({**base, **kwargs}))


def test_word_edit_is_applied_in_reviewed_view_not_in_raw(workspace: Workspace) -> None:
    _fix(
        workspace,
        target_type="word",
        target_id="p0-w0",
        action="edit",
        old_value="totl",
        new_value="total",
        stage_version="ocr.ppocr@1",
    )
    assert load_staged(workspace).corrections == 1
    reviewed = query(
        workspace, "SELECT text, corrected, corrected_by FROM reviewed_words ORDER BY word_no"
    ).to_pylist()
    assert reviewed == [
        {"text": "total", "corrected": True, "corrected_by": "ana"},
        {"text": "12.50", "corrected": False, "corrected_by": None},
    ]
    assert query(workspace, "SELECT text FROM words ORDER BY word_no").column(0).to_pylist() == [
        "totl",
        "12.50",
    ]


def test_undo_restores_the_previous_value(workspace: Workspace) -> None:
    first = _fix(
        workspace, target_type="line", target_id="p0-l0", action="edit", new_value="total 12.50"
    )
    second = _fix(
        workspace, target_type="line", target_id="p0-l0", action="edit", new_value="TOTAL 12.50"
    )
    load_staged(workspace)
    assert query(workspace, "SELECT text FROM reviewed_lines").column(0).to_pylist() == [
        "TOTAL 12.50"
    ]
    _fix(
        workspace, target_type="line", target_id="p0-l0", action="undo", undoes=second.correction_id
    )
    load_staged(workspace)
    assert query(workspace, "SELECT text FROM reviewed_lines").column(0).to_pylist() == [
        "total 12.50"
    ]
    _fix(
        workspace, target_type="line", target_id="p0-l0", action="undo", undoes=first.correction_id
    )
    load_staged(workspace)
    assert query(workspace, "SELECT text FROM reviewed_lines").column(0).to_pylist() == [
        "totl 12.50"
    ]
    # the history stays: four records, nothing overwritten
    assert query(workspace, "SELECT count(*) FROM corrections").column(0).to_pylist() == [4]


def test_entities_relabel_delete_add(workspace: Workspace) -> None:
    _fix(
        workspace,
        target_type="entity",
        target_id="e0",
        action="relabel",
        old_value={"label": "money"},
        new_value={"label": "total"},
    )
    _fix(
        workspace,
        target_type="entity",
        target_id="e-new",
        action="add",
        new_value={"label": "vendor", "text": "ACME", "bbox": [0.1, 0.1, 0.2, 0.12]},
    )
    load_staged(workspace)
    rows = query(
        workspace, "SELECT entity_id, label, text, x0 FROM reviewed_entities ORDER BY entity_id"
    ).to_pylist()
    assert rows == [
        {"entity_id": "e-new", "label": "vendor", "text": "ACME", "x0": 0.1},
        {"entity_id": "e0", "label": "total", "text": "12.50", "x0": 0.3},
    ]
    _fix(workspace, target_type="entity", target_id="e0", action="delete")
    load_staged(workspace)
    assert query(workspace, "SELECT entity_id FROM reviewed_entities").column(0).to_pylist() == [
        "e-new"
    ]


def test_accepting_every_page_marks_the_document_reviewed(workspace: Workspace) -> None:
    before = query(workspace, "SELECT reviewed, pages_accepted FROM reviews").to_pylist()
    assert before == [{"reviewed": False, "pages_accepted": 0}]
    _fix(workspace, target_type="page", target_id="p0", action="accept")
    load_staged(workspace)
    after = query(workspace, "SELECT reviewed, last_reviewer FROM reviews").to_pylist()
    assert after == [{"reviewed": True, "last_reviewer": "ana"}]


def test_a_reviewer_name_is_required(workspace: Workspace) -> None:
    with pytest.raises(ReviewerRequired):
        _fix(
            workspace,
            reviewer=" ",
            target_type="word",
            target_id="p0-w0",
            action="edit",
            new_value="x",
        )


def test_journal_survives_reload_without_duplicates(workspace: Workspace) -> None:
    entry = _fix(workspace, target_type="word", target_id="p0-w1", action="edit", new_value="12.60")
    load_staged(workspace)
    journal(workspace, entry)  # the same record again (crash before its file was removed)
    load_staged(workspace)
    assert query(workspace, "SELECT count(*) FROM corrections").column(0).to_pylist() == [1]


def test_review_work_survives_reprocessing_with_another_profile(workspace: Workspace) -> None:
    kept = _fix(
        workspace, target_type="word", target_id="p0-w0", action="edit",
        old_value="totl", new_value="total",
    )  # fmt: skip
    stale = _fix(
        workspace, target_type="word", target_id="p0-w1", action="edit",
        old_value="12.50", new_value="12.60",
    )  # fmt: skip
    _fix(workspace, target_type="page", target_id="p0", action="accept")
    load_staged(workspace)
    # Reprocessed with another configuration: same first word, a different second one.
    newer = make_document("f" * 64, "totl 12.80", config_hash="9" * 64)
    assert newer.pipeline is not None
    newer.pipeline.started_at = "2026-11-27T10:00:00+00:00"
    stage_bundle(workspace, newer, "run-2", "")
    load_staged(workspace)
    words = query(workspace, "SELECT text, corrected FROM reviewed_words ORDER BY word_no")
    assert words.to_pylist() == [
        {"text": "total", "corrected": True},  # same element, same original: still applies
        {"text": "12.80", "corrected": False},  # made on other text: not applied ...
    ]
    history = query(
        workspace,
        "SELECT correction_id, on_current_result, applies FROM correction_history "
        "WHERE action = 'edit' ORDER BY correction_id",
    ).to_pylist()
    assert sorted(history, key=lambda r: r["correction_id"]) == sorted(
        [
            {"correction_id": kept.correction_id, "on_current_result": False, "applies": True},
            {"correction_id": stale.correction_id, "on_current_result": False, "applies": False},
        ],
        key=lambda r: r["correction_id"],
    )  # ... but kept in the history, visible to the reviewer
    review = query(workspace, "SELECT n_corrections, reviewed FROM reviews").to_pylist()
    assert review == [{"n_corrections": 1, "reviewed": False}]  # an accept is per result


def test_a_version_2_workspace_migrates(tmp_path: Path) -> None:
    import duckdb

    from pipelines.store.schema import LATEST_VERSION, MIGRATIONS, migrate

    con = duckdb.connect(str(tmp_path / "old.duckdb"))
    con.execute("CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ)")
    for number, sql in enumerate(MIGRATIONS[:2], start=1):
        con.execute(sql)
        con.execute("INSERT INTO schema_version (version) VALUES (?)", [number])
    assert migrate(con) == LATEST_VERSION
    columns = {row[0] for row in con.execute("DESCRIBE cells").fetchall()}
    assert {"cell_id", "word_ids"} <= columns
    assert con.execute("SELECT count(*) FROM correction_history").fetchone() == (0,)


def test_exports_carry_the_reviewed_values_and_raw_on_request(
    workspace: Workspace, tmp_path: Path
) -> None:
    import json as json_

    import pyarrow.parquet as pq

    from pipelines.export import export_workspace

    _fix(workspace, target_type="word", target_id="p0-w0", action="edit",
         old_value="totl", new_value="total")  # fmt: skip
    _fix(workspace, target_type="entity", target_id="e0", action="relabel",
         old_value={"label": "money"}, new_value={"label": "total", "text": "12.50"})  # fmt: skip
    load_staged(workspace)
    [reviewed] = export_workspace(workspace, tmp_path / "rev", "json")
    [raw] = export_workspace(workspace, tmp_path / "raw", "json", reviewed=False)
    rev_doc, raw_doc = json_.loads(reviewed.read_text()), json_.loads(raw.read_text())
    rev_line = rev_doc["pages"][0]["blocks"][0]["lines"][0]
    assert rev_line["text"] == "total 12.50"  # the line reads as its reviewed words
    assert rev_line["words"][0] == {**rev_line["words"][0], "text": "total", "source": "review"}
    assert rev_doc["entities"][0]["label"] == "total"
    assert raw_doc["pages"][0]["blocks"][0]["lines"][0]["text"] == "totl 12.50"
    assert raw_doc["entities"][0]["label"] == "money"
    [markdown] = export_workspace(workspace, tmp_path / "md", "markdown")
    assert "total 12.50" in markdown.read_text()
    parquet = export_workspace(workspace, tmp_path / "pq", "parquet")
    words = pq.read_table(next(p for p in parquet if p.name == "words.parquet")).to_pylist()
    assert [(w["text"], w["corrected"]) for w in words] == [("total", True), ("12.50", False)]
    assert any(p.name == "correction_history.parquet" for p in parquet)


def test_an_entity_added_from_a_word_names_that_word(workspace: Workspace) -> None:
    _fix(workspace, target_type="entity", target_id="e-review-1", action="add",
         new_value={"label": "total", "text": "12.50", "bbox": [0.3, 0.1, 0.45, 0.15],
                    "from": "p0-w1"})  # fmt: skip
    load_staged(workspace)
    rows = query(
        workspace, "SELECT entity_id, word_ids FROM reviewed_entities ORDER BY entity_id"
    ).to_pylist()
    assert rows == [
        {"entity_id": "e-review-1", "word_ids": ["p0-w1"]},
        {"entity_id": "e0", "word_ids": []},
    ]
