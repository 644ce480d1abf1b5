"""Calibration learned from a workspace's reviews moves the app's one review threshold."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from extractors.document import Block, Document, Line, Page, PipelineInfo, Word, document_id_for
from pipelines.evaluation.review_calibration import (
    fit_workspace,
    read_calibration,
    write_calibration,
)
from pipelines.store.corrections import Correction, journal
from pipelines.store.database import query
from pipelines.store.loader import load_staged
from pipelines.store.staging import stage_bundle
from pipelines.store.workspace import Workspace
from workbench import data
from workbench.overlay import review_order

N_DOCUMENTS, N_WORDS = 10, 20


def _document(n: int) -> Document:
    words = [
        Word(
            id=f"p0-w{k}",
            text=f"w{k}",
            bbox=[0.01 * k, 0.1, 0.01 * k + 0.01, 0.12],
            confidence=0.95 if k % 2 else 0.99,
            source="ocr.ppocr",
        )
        for k in range(N_WORDS)
    ]
    line = Line(id="p0-l0", text=" ".join(w.text for w in words), bbox=[0, 0.1, 0.2, 0.12],
                words=words, confidence=0.95, source="ocr.ppocr")  # fmt: skip
    page = Page(id="p0", index=0, width=100, height=100, unit="px",
                blocks=[Block(id="p0-b0", bbox=[0, 0, 1, 1], lines=[line])])  # fmt: skip
    sha = hashlib.sha256(str(n).encode()).hexdigest()
    return Document(
        document_id=document_id_for(sha), source_name=f"d{n}.png", source_path=f"d{n}.png",
        sha256=sha, pages=[page],
        pipeline=PipelineInfo(profile="default", config_hash="c" * 64,
                              stages={"ocr.ppocr": "1"}, started_at="2026-11-26T10:00:00+00:00"),
    )  # fmt: skip


@pytest.fixture()
def reviewed(tmp_path: Path) -> Workspace:
    """Ten reviewed pages: every 0.99 word accepted as read, every 0.95 word corrected."""
    ws = Workspace.open(tmp_path / "ws")
    documents = [_document(n) for n in range(N_DOCUMENTS)]
    for document in documents:
        stage_bundle(ws, document, "run-1", "")
    load_staged(ws)
    loaded = query(ws, "SELECT document_id, result_id FROM documents").to_pylist()
    results = {r["document_id"]: r["result_id"] for r in loaded}
    for document in documents:
        rid = results[document.document_id]
        for word in document.pages[0].words():
            if word.confidence < 0.99:
                journal(ws, Correction(document_id=document.document_id, result_id=rid,
                                       target_type="word", target_id=word.id, page_index=0,
                                       action="edit", old_value=word.text, new_value="fixed",
                                       reviewer="ana", stage_version="ocr.ppocr@1"))  # fmt: skip
        journal(ws, Correction(document_id=document.document_id, result_id=rid,
                               target_type="page", target_id="p0", page_index=0,
                               action="accept", reviewer="ana"))  # fmt: skip
    load_staged(ws)
    return ws


def test_reviews_calibrate_words_and_move_the_threshold(reviewed: Workspace) -> None:
    fitted = {f.key: f for f in fit_workspace(reviewed, min_items=50)}
    words = fitted["word:ocr.ppocr"]
    assert words.n == N_DOCUMENTS * N_WORDS
    # raw 0.95 is right 0 times in 10 and 0.99 always: far off before, near 0 after
    assert words.ece_before > 0.4 and words.ece_after < 0.05
    write_calibration(reviewed, list(fitted.values()))
    calibration = read_calibration(reviewed)["word:ocr.ppocr"]
    assert calibration(0.95) == pytest.approx(0.0) and calibration(0.99) == pytest.approx(1.0)
    by_source = data.thresholds(reviewed, "word")
    assert 0.95 < by_source["ocr.ppocr"] <= 0.99
    # J/K now stop at the 0.95 words only; raw 0.9 would have stopped nowhere
    page = _document(0).pages[0]
    assert review_order(page, 0.9) == []
    flagged = review_order(page, 0.9, by_source=by_source)
    assert flagged == [w.id for w in page.words() if w.confidence == 0.95]


def test_nothing_to_fit_below_the_minimum(reviewed: Workspace) -> None:
    assert fit_workspace(reviewed, min_items=10_000) == []
    assert read_calibration(reviewed) == {}
    assert data.thresholds(reviewed, "word") == {}
