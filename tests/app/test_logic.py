"""The plain-Python parts of the workbench: queue order, overlays, corrections, uploads."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipelines.store.workspace import Workspace
from tests.app.conftest import OK_ID, _ok_document
from workbench import data
from workbench.jobs import JobRegistry, check_upload, save_upload
from workbench.overlay import (
    CORRECTED_COLOUR,
    confidence_colour,
    find_element,
    image_data_url,
    page_boxes,
    review_order,
)
from workbench.review import (
    Context,
    corrections_from_delta,
    element_rows,
    entity_corrections,
    stage_version,
)

CONTEXT = Context(OK_ID, "r-1", "ana")


def test_risk_order_failed_then_unreviewed_then_lowest_confidence() -> None:
    frame = pd.DataFrame(
        [
            {"source_name": "a", "status": "ok", "reviewed": False, "min_confidence": 0.9},
            {"source_name": "b", "status": "ok", "reviewed": False, "min_confidence": 0.5},
            {"source_name": "c", "status": "failed", "reviewed": False, "min_confidence": None},
            {"source_name": "d", "status": "ok", "reviewed": True, "min_confidence": 0.1},
            {"source_name": "e", "status": "partial", "reviewed": False, "min_confidence": 0.99},
        ]
    )
    assert list(data.sort_by_risk(frame)["source_name"]) == ["c", "e", "b", "a", "d"]
    filtered = data.filter_queue(frame, ["ok"], "to review", "A")
    assert list(filtered["source_name"]) == ["a"]


def test_neighbour_clamps_and_recovers() -> None:
    assert data.neighbour(["a", "b", "c"], "b", 1) == "c"
    assert data.neighbour(["a", "b", "c"], "c", 1) == "c"
    assert data.neighbour(["a", "b"], "zz", 1) == "a"
    assert data.neighbour([], "a", 1) is None


def test_queue_and_runs_from_the_workspace(workspace: Workspace) -> None:
    queue = data.review_queue(workspace)
    assert list(queue["status"]) == ["failed", "ok"]
    ok = queue.iloc[1]
    assert ok["n_low"] == 1 and round(ok["min_confidence"], 2) == 0.7
    stages = data.stage_breakdown(data.runs(workspace)["stage_ms"][0], 1)
    assert list(stages["stage"]) == ["ocr.ppocr", "order.reading"]
    assert "corrupt PDF" in data.failures(workspace)["reason"][0]


def test_boxes_by_layer_colour_and_corrections() -> None:
    page = _ok_document().pages[0]
    boxes = page_boxes(page, ["words"], texts={"p0-w0": "total"})
    assert [b.id for b in boxes] == ["p0-w0", "p0-w1"]
    assert boxes[0].colour == CORRECTED_COLOUR and boxes[0].label.startswith("total")
    assert boxes[1].colour == confidence_colour(0.99)
    assert [b.layer for b in page_boxes(page, ["blocks", "lines"])] == ["blocks", "lines"]
    assert page_boxes(page, ["words"], deleted={"p0-w1"})[-1].id == "p0-w0"
    entity = {
        "entity_id": "e1",
        "label": "total",
        "text": "12.50",
        "page_index": 0,
        "x0": 0.3,
        "y0": 0.1,
        "x1": 0.5,
        "y1": 0.2,
    }
    assert page_boxes(page, ["entities"], entities=[entity])[0].label == "total: 12.50"
    assert confidence_colour(0.5) != confidence_colour(0.85) != confidence_colour(0.95)


def test_find_element_and_review_order() -> None:
    document = _ok_document()
    element = find_element(document, "p0-w1")
    assert element is not None and (element.target_type, element.text) == ("word", "12.50")
    assert find_element(document, "p0-l0").target_type == "line"  # type: ignore[union-attr]
    assert find_element(document, "nope") is None
    assert review_order(document.pages[0]) == ["p0-w0"]


def test_image_is_downscaled_to_a_data_url() -> None:
    url, width, height = image_data_url(np.zeros((1000, 2000, 3), dtype=np.uint8))
    assert url.startswith("data:image/png;base64,") and (width, height) == (1000, 500)


def test_only_the_delta_becomes_corrections() -> None:
    document = _ok_document()
    rows = element_rows(document.pages[0], "word", {}, set())
    delta = {"edited_rows": {0: {"text": "total"}, 1: {"text": "12.50"}}, "deleted_rows": [1]}
    corrections = corrections_from_delta(rows, delta, "word", CONTEXT, 0, document)
    assert [(c.action, c.target_id, c.new_value) for c in corrections] == [
        ("edit", "p0-w0", "total"),
        ("delete", "p0-w1", None),
    ]
    assert corrections[0].stage_version == "ocr.ppocr@1"
    assert corrections_from_delta(rows, None, "word", CONTEXT, 0) == []


def test_entity_relabel_and_stage_version() -> None:
    rows = pd.DataFrame(
        [
            {
                "entity_id": "e1",
                "label": "money",
                "text": "12.50",
                "page_index": 0,
                "source": "entities.x",
            }
        ]
    )
    [relabel] = entity_corrections(rows, {"edited_rows": {0: {"label": "total"}}}, CONTEXT)
    assert relabel.action == "relabel" and relabel.new_value == {"label": "total", "text": "12.50"}
    assert stage_version(None, "pdf") == "pdf" and stage_version(None, None) is None


def test_upload_checks_and_copies(tmp_path: Path) -> None:
    assert check_upload("a.pdf", 10) is None
    assert check_upload("Report.DOCX", 10) is None and check_upload("b.xlsx", 10) is None
    assert "not supported" in (check_upload("a.exe", 10) or "")
    assert "empty" in (check_upload("a.png", 0) or "")
    assert "limit" in (check_upload("a.png", 60 * 1024 * 1024) or "")
    ws = Workspace.open(tmp_path / "ws")
    first = save_upload(ws, "../x.png", b"1")
    assert first == ws.root / "uploads" / "x.png"
    assert save_upload(ws, "x.png", b"1") == first
    assert save_upload(ws, "x.png", b"2").name == "x-1.png"


def test_background_job_reports_problems(tmp_path: Path) -> None:
    ws = Workspace.open(tmp_path / "ws")
    job = JobRegistry().start(ws, [tmp_path / "missing.pdf"], label="missing")
    deadline = time.monotonic() + 30
    while job.active and time.monotonic() < deadline:
        time.sleep(0.05)
    assert job.state == "finished" and "no such file" in job.message and job.fraction == 1.0


def test_uploads_run_on_the_device_folio_app_was_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`folio app --device X` reaches the app as FOLIO_DEVICE; its uploads run there, and a
    bad value fails the job with the reason instead of running on some other device."""
    import workbench.jobs as jobs_module
    from models.runtime import DEVICE_ENV
    from pipelines.execution import batch

    seen: list[str] = []

    def fake_run_batch(*args: object, device: str = "auto", **kwargs: object) -> object:
        seen.append(device)
        return batch.BatchSummary(run_id="r")

    monkeypatch.setattr(batch, "run_batch", fake_run_batch)
    workspace = Workspace.open(tmp_path / "ws")
    for value in ("cpu", "gpu"):
        monkeypatch.setenv(DEVICE_ENV, value)
        job = jobs_module.Job(job_id=value, label="upload", names=[])
        jobs_module._run(job, workspace, [], False, "default", 1)
        if value == "cpu":
            assert job.state == "finished"
        else:
            assert job.state == "failed"
            assert "device must be auto, cpu, cuda or cuda:N" in job.message
    assert seen == ["cpu"]
