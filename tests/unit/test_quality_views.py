"""Review statistics (MIGRATION_9) on a workspace built through staging, journal and loader.

The workspace (also used by the dashboard tests): invoice A (run-1, 2 pages) with corrections
on page 0 and page 0 accepted by ana; receipt B (run-2) accepted as a whole by bo without a
correction; C failed. Every expected number below is counted by hand from `build_workspace`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from extractors.document import (
    Block,
    Cell,
    DocField,
    Document,
    Entity,
    ErrorRecord,
    Line,
    Page,
    PipelineInfo,
    Table,
    Word,
    document_id_for,
)
from pipelines.store.corrections import Correction, journal
from pipelines.store.database import query
from pipelines.store.evaluations import Metric, evaluation_record, stage_evaluation
from pipelines.store.loader import load_staged
from pipelines.store.staging import stage_bundle
from pipelines.store.workspace import Workspace, atomic_write_json

DOC_A = document_id_for("a" * 64)
DOC_B = document_id_for("b" * 64)
DOC_C = document_id_for("c" * 64)
STAGES = {"ocr.ppocr": "1", "tables.image": "2", "entities.text": "1", "fields.invoice": "3"}


def _page(index: int, texts: list[tuple[str, float]], table: bool = False) -> Page:
    prefix = f"p{index}"
    words = [
        Word(
            id=f"{prefix}-w{i}",
            text=text,
            bbox=[0.1 + 0.1 * i, 0.1, 0.18 + 0.1 * i, 0.15],
            confidence=conf,
            source="ocr.ppocr",
        )
        for i, (text, conf) in enumerate(texts)
    ]
    line = Line(
        id=f"{prefix}-l0",
        text=" ".join(t for t, _ in texts),
        bbox=[0.1, 0.1, 0.6, 0.15],
        confidence=0.85,
        source="ocr.ppocr",
        words=words,
    )
    tables = []
    if table:
        cells = [
            Cell(id=f"{prefix}-t0-c{r}-{c}", row=r, col=c, text=text, confidence=0.5 + 0.1 * c)
            for r, row in enumerate([["Item", "Price"], ["Tea", "3.5O"]])
            for c, text in enumerate(row)
        ]
        tables.append(
            Table(
                id=f"{prefix}-t0",
                n_rows=2,
                n_cols=2,
                bbox=[0.1, 0.5, 0.9, 0.7],
                confidence=0.75,
                source="tables.image",
                cells=cells,
            )
        )
    return Page(
        id=prefix,
        index=index,
        width=400,
        height=300,
        unit="px",
        text_source="ocr",
        blocks=[Block(id=f"{prefix}-b0", bbox=[0.1, 0.1, 0.6, 0.15], lines=[line])],
        tables=tables,
    )


def _document(sha: str, name: str, profile: str, started_at: str, **extra: Any) -> Document:
    return Document(
        document_id=document_id_for(sha),
        source_name=name,
        source_path=f"/gone/{name}",
        sha256=sha,
        pipeline=PipelineInfo(
            profile=profile, config_hash=profile[0] * 64, stages=STAGES, started_at=started_at
        ),
        **extra,
    )


def documents() -> list[Document]:
    invoice = _document(
        "a" * 64,
        "invoice-a.png",
        "default",
        "2026-11-26T10:00:00+00:00",
        doc_type="invoice",
        review_reasons=["total does not match line items"],
        pages=[
            _page(0, [("Totl", 0.6), ("12.50", 0.95), ("EUR", 0.9)], table=True),
            _page(1, [("Thank", 0.7), ("you", 0.99)]),
        ],
        entities=[
            Entity(id="e-1", label="MONEY", text="12.50", page=0, confidence=0.8,
                   source="entities.text"),
        ],
        fields=[
            DocField(id="f-total", name="total", value="12.50", page=0, confidence=0.7,
                     source="fields.invoice"),
            DocField(id="f-date", name="date", value="2026-11-20", page=0, confidence=0.9,
                     source="fields.invoice"),
        ],
    )  # fmt: skip
    receipt = _document(
        "b" * 64,
        "receipt-b.png",
        "tesseract",
        "2026-11-27T10:00:00+00:00",
        doc_type="receipt",
        pages=[_page(0, [("Cafe", 0.4), ("3.00", 0.97)])],
        fields=[
            DocField(id="f-total", name="total", value="3.00", page=0, confidence=0.95,
                     source="fields.invoice"),
        ],
    )  # fmt: skip
    failed = _document(
        "c" * 64,
        "broken.pdf",
        "tesseract",
        "2026-11-27T10:05:00+00:00",
        status="failed",
        errors=[ErrorRecord(stage="ingest", message="corrupt PDF: no trailer")],
    )
    return [invoice, receipt, failed]


def _run(run_id: str, profile: str, started_at: str, n_pages: int, elapsed_s: float) -> dict:
    return {
        "run_id": run_id,
        "started_at": started_at,
        "finished_at": started_at,
        "profile": profile,
        "config_hash": profile[0] * 64,
        "workers": 2,
        "command": f"folio run --profile {profile}",
        "n_files": 2,
        "n_skipped": 0,
        "n_ok": 1,
        "n_partial": 0,
        "n_failed": 0,
        "n_pages": n_pages,
        "elapsed_s": elapsed_s,
        "pages_per_s": n_pages / elapsed_s,
        "stage_ms": {"ocr.ppocr": 400.0 * n_pages, "fields.invoice": 10.0 * n_pages},
        "state": "finished",
    }


def _fix(result_id: str, document_id: str, at: str, reviewer: str, **fields: Any) -> Correction:
    return Correction(
        document_id=document_id,
        result_id=result_id,
        reviewer=reviewer,
        created_at=f"2026-11-{at}+00:00",
        **fields,
    )


def build_workspace(root: Path, with_evaluations: bool = True) -> Workspace:
    """The workspace described in the module docstring, loaded the way the app loads it."""
    ws = Workspace.open(root)
    invoice, receipt, failed = documents()
    stage_bundle(ws, invoice, "run-1", "")
    stage_bundle(ws, receipt, "run-2", "")
    stage_bundle(ws, failed, "run-2", "")
    atomic_write_json(
        ws.runs_dir / "run-1.json", _run("run-1", "default", "2026-11-26T10:00:00+00:00", 2, 4.0)
    )
    atomic_write_json(
        ws.runs_dir / "run-2.json", _run("run-2", "tesseract", "2026-11-27T10:00:00+00:00", 1, 2.0)
    )
    if with_evaluations:
        for i, (day, f1) in enumerate([("25", 0.5), ("27", 0.75)]):
            stage_evaluation(
                ws,
                evaluation_record(
                    f"eval-{i}",
                    {"started_at": f"2026-11-{day}T08:00:00+00:00", "dataset": "sroie",
                     "split": "dev", "profile": "default", "config_hash": "d" * 64,
                     "stage_versions": STAGES, "n_items": 10, "elapsed_s": 1.0,
                     "command": "folio evaluate"},
                    [Metric("fields", "f1", "micro", f1, 10)],
                ),
            )  # fmt: skip
    load_staged(ws)
    ids = {
        r["document_id"]: r["result_id"] for r in query(ws, "SELECT * FROM documents").to_pylist()
    }
    a, b = ids[DOC_A], ids[DOC_B]
    corrections = [
        _fix(a, DOC_A, "28T09:00:00", "ana", target_type="word", target_id="p0-w0",
             page_index=0, action="edit", old_value="Totl", new_value="Total",
             stage_version="ocr.ppocr@1"),
        _fix(a, DOC_A, "28T09:01:00", "ana", target_type="field", target_id="f-total",
             page_index=0, action="edit", old_value="12.50", new_value="12.60"),
        _fix(a, DOC_A, "28T09:02:00", "ana", target_type="entity", target_id="e-1",
             page_index=0, action="relabel", new_value={"label": "TOTAL", "text": "12.50"}),
        _fix(a, DOC_A, "28T09:03:00", "ana", target_type="cell", target_id="p0-t0:1:1",
             page_index=0, action="edit", old_value="3.5O", new_value="3.50"),
        _fix(a, DOC_A, "28T09:04:00", "ana", correction_id="w2-edit", target_type="word",
             target_id="p0-w2", page_index=0, action="edit", old_value="EUR", new_value="USD"),
        _fix(a, DOC_A, "28T09:05:00", "ana", target_type="word", target_id="p0-w2",
             page_index=0, action="undo", undoes="w2-edit"),
        _fix(a, DOC_A, "28T09:06:00", "ana", target_type="entity", target_id="e-review-1",
             page_index=0, action="add", new_value={"label": "ORG", "text": "Cafe"}),
        _fix(a, DOC_A, "28T09:10:00", "ana", target_type="page", target_id="p0",
             page_index=0, action="accept"),
        _fix(b, DOC_B, "29T12:00:00", "bo", target_type="document", target_id=DOC_B,
             action="accept"),
        # A second accept of the same page later does not move the review to that day.
        _fix(a, DOC_A, "29T13:00:00", "bo", target_type="page", target_id="p0",
             page_index=0, action="accept"),
    ]  # fmt: skip
    for correction in corrections:
        journal(ws, correction)
    load_staged(ws)
    return ws


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    return build_workspace(tmp_path_factory.mktemp("quality") / "ws")


def rows(ws: Workspace, sql: str) -> list[tuple]:
    return [tuple(row.values()) for row in query(ws, sql).to_pylist()]


def test_every_reviewed_element_has_one_outcome(ws: Workspace) -> None:
    got = rows(
        ws,
        "SELECT document_id = '" + DOC_A + "' AS a, target_type, target_id, outcome, reviewer "
        "FROM review_outcomes ORDER BY a DESC, target_type, target_id",
    )
    assert got == [
        (True, "cell", "p0-t0-c0-0", "accepted", "ana"),
        (True, "cell", "p0-t0-c0-1", "accepted", "ana"),
        (True, "cell", "p0-t0-c1-0", "accepted", "ana"),
        (True, "cell", "p0-t0-c1-1", "corrected", "ana"),  # by its round-1 id
        (True, "entity", "e-1", "corrected", "ana"),
        (True, "entity", "e-review-1", "added", "ana"),
        (True, "field", "f-date", "accepted", "ana"),
        (True, "field", "f-total", "corrected", "ana"),
        (True, "line", "p0-l0", "accepted", "ana"),
        (True, "table", "p0-t0", "accepted", "ana"),
        (True, "word", "p0-w0", "corrected", "ana"),
        (True, "word", "p0-w1", "accepted", "ana"),
        (True, "word", "p0-w2", "accepted", "ana"),  # its edit was undone
        # page 1 of A was never accepted: nothing of it; A is not a reviewed document
        (False, "document", DOC_B, "accepted", "bo"),
        (False, "field", "f-total", "accepted", "bo"),
        (False, "line", "p0-l0", "accepted", "bo"),
        (False, "word", "p0-w0", "accepted", "bo"),
        (False, "word", "p0-w1", "accepted", "bo"),
    ]


def test_outcomes_carry_stage_version_field_type_and_day(ws: Workspace) -> None:
    got = rows(
        ws,
        "SELECT target_type, target_id, stage, stage_version, field, doc_type, CAST(day AS "
        f"VARCHAR), run_id, profile FROM review_outcomes WHERE document_id = '{DOC_A}' "
        "AND target_id IN ('p0-w0', 'p0-t0-c1-1', 'f-total', 'e-1', 'e-review-1', 'p0-w1') "
        "ORDER BY target_id",
    )
    assert got == [
        ("entity", "e-1", "entities.text", "entities.text@1", "MONEY", "invoice", "2026-11-28",
         "run-1", "default"),
        ("entity", "e-review-1", None, None, "ORG", "invoice", "2026-11-28", "run-1", "default"),
        ("field", "f-total", "fields.invoice", "fields.invoice@3", "total", "invoice",
         "2026-11-28", "run-1", "default"),
        ("cell", "p0-t0-c1-1", "tables.image", "tables.image@2", None, "invoice", "2026-11-28",
         "run-1", "default"),
        ("word", "p0-w0", "ocr.ppocr", "ocr.ppocr@1", None, "invoice", "2026-11-28", "run-1",
         "default"),
        ("word", "p0-w1", "ocr.ppocr", "ocr.ppocr@1", None, "invoice", "2026-11-28", "run-1",
         "default"),
    ]  # fmt: skip


def test_rates_by_stage(ws: Workspace) -> None:
    got = rows(
        ws,
        "SELECT stage, sum(n_reviewed), sum(n_accepted), sum(n_corrected), sum(n_added), "
        "round(sum(n_accepted) / nullif(sum(n_reviewed), 0), 4) FROM review_rates "
        "WHERE target_type <> 'document' GROUP BY stage ORDER BY stage NULLS LAST",
    )
    assert got == [
        ("entities.text", 1, 0, 1, 0, 0.0),
        ("fields.invoice", 3, 2, 1, 0, round(2 / 3, 4)),
        # words and lines: 3 + 1 on A's accepted page, 2 + 1 on B; one word corrected
        ("ocr.ppocr", 7, 6, 1, 0, round(6 / 7, 4)),
        ("tables.image", 5, 4, 1, 0, 0.8),
        (None, 0, 0, 0, 1, None),
    ]


def test_rates_by_field_doc_type_and_reviewer(ws: Workspace) -> None:
    fields = rows(
        ws,
        "SELECT field, doc_type, n_reviewed, accepted_share, correction_rate FROM review_rates "
        "WHERE target_type = 'field' ORDER BY field, doc_type",
    )
    assert fields == [
        ("date", "invoice", 1, 1.0, 0.0),
        ("total", "invoice", 1, 0.0, 1.0),
        ("total", "receipt", 1, 1.0, 0.0),
    ]
    people = rows(
        ws,
        "SELECT reviewer, CAST(day AS VARCHAR), sum(n_reviewed), sum(n_corrected) "
        "FROM review_rates GROUP BY ALL ORDER BY reviewer",
    )
    assert people == [("ana", "2026-11-28", 12, 4), ("bo", "2026-11-29", 5, 0)]


def test_empty_workspace_has_empty_views(tmp_path: Path) -> None:
    empty = Workspace.open(tmp_path / "empty")
    assert rows(empty, "SELECT count(*) FROM review_outcomes") == [(0,)]
    assert rows(empty, "SELECT count(*) FROM review_rates") == [(0,)]
