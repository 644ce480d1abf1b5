"""Confidence calibration on labelled data: what counts as right for each element type, by hand."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from extractors.document import (
    Block,
    Cell,
    DocField,
    Document,
    Entity,
    Line,
    Page,
    PipelineInfo,
    Table,
)
from pipelines.evaluation.dataset_calibration import (
    Outcome,
    cell_checks,
    entity_outcomes,
    field_outcomes,
    fit_outcomes,
    line_outcomes,
)

STAGES = {"ocr.ppocr": "3", "fields.invoice": "2", "tables.pdf": "4"}


def _document(page: Page, **extra: object) -> Document:
    return Document(
        document_id="d", source_name="x.png", source_path="x.png", sha256="0" * 64,
        pages=[page], pipeline=PipelineInfo(profile="default", config_hash="h", stages=STAGES),
        **extra,
    )  # fmt: skip


def _page(
    lines: list[tuple[str, list[float], float]] | None = None, tables: list[Table] | None = None
) -> Page:
    block_lines = [
        Line(id=f"p0-l{n}", text=t, bbox=b, confidence=c, source="ocr.ppocr")
        for n, (t, b, c) in enumerate(lines or [])
    ]
    blocks = [Block(id="p0-b0", bbox=[0, 0, 1, 1], lines=block_lines)] if block_lines else []
    return Page(id="p0", index=0, width=1000, height=1000, unit="px", text_source="ocr",
                blocks=blocks, tables=tables or [])  # fmt: skip


def test_lines_against_printed_line_boxes(tmp_path: Path) -> None:
    boxes = tmp_path / "b.csv"
    boxes.write_text(
        "100,100,400,100,400,130,100,130,TOTAL : 12.00\n"  # one line, read with other spacing
        "100,200,300,200,300,230,100,230,CASH\n"  # one line, two boxes on the row
        "320,200,500,200,500,230,320,230,20.00\n"
        "100,300,400,300,400,330,100,330,CHANGE 8.00\n"  # misread
    )
    page = _page([
        ("TOTAL: 12.00", [0.1, 0.1, 0.4, 0.13], 0.95),
        ("CASH 20.00", [0.1, 0.2, 0.5, 0.23], 0.9),
        ("CHANGE 3.00", [0.1, 0.3, 0.4, 0.33], 0.6),
        ("THANK YOU", [0.1, 0.6, 0.4, 0.63], 0.99),  # over no truth box: not checked
    ])  # fmt: skip
    out = line_outcomes(_document(page), boxes)
    assert [(o.confidence, o.right) for o in out] == [(0.95, True), (0.9, True), (0.6, False)]
    assert {o.key for o in out} == {"line:ocr.ppocr"} and out[0].stage_version == "ocr.ppocr@3"


SOURCE = "fields.invoice"


def test_fields_compared_as_evaluate_compares_them() -> None:
    fields = [
        DocField(name="vendor_name", value="ACME  SDN BHD", confidence=0.8, source=SOURCE),
        DocField(name="date", value="2019-01-12", confidence=0.7, source=SOURCE),
        DocField(name="total", value="7.10", confidence=0.6, source=SOURCE),
        DocField(name="tax", value="0.40", confidence=0.5, source=SOURCE),  # no truth
        DocField(name="total", value="9.99", confidence=0.4, source=SOURCE),  # not first
    ]  # fmt: skip
    truth = {"vendor_name": "ACME SDN BHD", "date": "12/01/2019", "total": "$7.20"}
    out = field_outcomes(_document(_page(), fields=fields), truth)
    assert [(o.confidence, o.right) for o in out] == [(0.8, True), (0.7, True), (0.6, False)]
    assert out[0].key == "field:fields.invoice"


def test_form_entities_right_when_matched_with_their_label() -> None:
    page = _page()
    entities = [
        Entity(id="k0", label="KEY", text="Name:", page=0, bbox=[0.1, 0.1, 0.2, 0.12],
               confidence=0.9, source="forms.kv"),
        Entity(id="k1", label="KEY", text="Jane", page=0, bbox=[0.3, 0.1, 0.4, 0.12],
               confidence=0.5, source="forms.kv"),  # truth says answer
        Entity(id="k2", label="VALUE", text="note", page=0, bbox=[0.1, 0.5, 0.2, 0.52],
               confidence=0.7, source="forms.kv"),  # on `other` text: not checked
    ]  # fmt: skip
    form = [
        {"id": 0, "label": "question", "text": "Name:", "box": [100, 100, 200, 120],
         "words": [{"text": "Name:", "box": [100, 100, 200, 120]}], "linking": []},
        {"id": 1, "label": "answer", "text": "Jane", "box": [300, 100, 400, 120],
         "words": [{"text": "Jane", "box": [300, 100, 400, 120]}], "linking": []},
        {"id": 2, "label": "other", "text": "note", "box": [100, 500, 200, 520],
         "words": [{"text": "note", "box": [100, 500, 200, 520]}], "linking": []},
    ]  # fmt: skip
    out = entity_outcomes(_document(page, entities=entities), form)
    assert sorted((o.confidence, o.right) for o in out) == [(0.5, False), (0.9, True)]


def test_cells_against_truth_texts_each_used_once() -> None:
    cells = [
        Cell(row=0, col=0, text="Total", confidence=0.9),
        Cell(row=0, col=1, text="1,234", confidence=0.8),
        Cell(row=1, col=1, text="1,234", confidence=0.7),  # the truth has it once
        Cell(row=1, col=0, text="", confidence=0.1),
    ]  # empty: not checked
    table = Table(
        id="t0", bbox=[0, 0, 1, 1], n_rows=2, n_cols=2, cells=cells, source="tables.pdf:ruled"
    )
    out = cell_checks(_document(_page(tables=[table])), {0: ["total", "1234", "other"]})
    assert [(o.confidence, o.right) for o in out] == [(0.9, True), (0.8, True), (0.7, False)]
    assert out[0].key == "cell:tables.pdf:ruled" and out[0].stage_version == "tables.pdf@4"


def test_fit_makes_an_overconfident_kind_honest() -> None:
    # confidence 0.9 but right half the time (fit and held-out alike): ECE 0.4, then 0
    fit = [Outcome("line:ocr", "ocr@1", 0.9, n % 2 == 0) for n in range(40)]
    held = [Outcome("line:ocr", "ocr@1", 0.9, n % 2 == 0) for n in range(10)]
    few = [Outcome("cell:t", "t@1", 0.5, True)] * 5  # under min_items: no map
    (report,) = fit_outcomes([*fit, *few], [*held, *few], min_items=30)
    assert report.fitted.key == "line:ocr" and report.stage_version == "ocr@1"
    assert report.fitted.ece_before == pytest.approx(0.4)
    assert report.fitted.ece_after == pytest.approx(0.0)
    assert report.fitted.calibration(0.9) == pytest.approx(0.5)
    assert report.accuracy == 0.5 and report.n_fit == 40 and report.fitted.held_back == 10


def test_dataset_maps_never_replace_review_maps(tmp_path: Path) -> None:
    from pipelines.evaluation.calibration import Calibration
    from pipelines.evaluation.review_calibration import Fitted, read_calibration, write_calibration
    from pipelines.store.workspace import Workspace

    ws = Workspace.open(tmp_path)
    mine = Fitted("word:ocr.ppocr", Calibration((0.0, 1.0), (0.1, 0.2)), 60, 12, 0.3, 0.1)
    write_calibration(ws, [mine])
    public = [
        Fitted("word:ocr.ppocr", Calibration((0.0, 1.0), (0.5, 0.9)), 900, 90, 0.2, 0.05),
        Fitted("line:ocr.ppocr", Calibration((0.0, 1.0), (0.3, 0.8)), 900, 90, 0.2, 0.05),
    ]
    write_calibration(ws, public, origin="datasets:sroie", stage_versions={"line:ocr.ppocr": "v3"})
    maps = read_calibration(ws)
    assert maps["word:ocr.ppocr"].y == (0.1, 0.2)  # the reviews' map stays
    assert maps["line:ocr.ppocr"].y == (0.3, 0.8)  # the dataset's fills the gap
    stored = json.loads((tmp_path / "calibration.json").read_text())["maps"]
    assert stored["line:ocr.ppocr"]["origin"] == "datasets:sroie"
    assert stored["line:ocr.ppocr"]["stage_version"] == "v3"
    write_calibration(ws, [public[0]])  # a review fit (the default origin) replaces any
    assert read_calibration(ws)["word:ocr.ppocr"].y == (0.5, 0.9)
