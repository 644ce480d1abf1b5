"""`folio evaluate` scores every metric a split's truth supports, from one set of documents."""

from __future__ import annotations

import json
from pathlib import Path

from extractors.document import Block, DocField, Document, Line, Page, Word
from pipelines.evaluation.suite import score_split


def _receipt() -> Document:
    word = Word(id="p0-w0", text="TOTAL", bbox=[0.1, 0.1, 0.3, 0.2])
    amount = Word(id="p0-w1", text="9.00", bbox=[0.5, 0.1, 0.7, 0.2])
    line = Line(id="p0-l0", text="TOTAL 9.00", bbox=[0.1, 0.1, 0.7, 0.2], words=[word, amount])
    page = Page(
        id="p0",
        index=0,
        width=100,
        height=100,
        unit="px",
        blocks=[Block(id="p0-b0", bbox=[0.1, 0.1, 0.7, 0.2], lines=[line])],
    )
    return Document(
        document_id="d",
        source_name="r.jpg",
        source_path="r.jpg",
        sha256="0",
        pages=[page],
        fields=[DocField(name="total", value="9.00"), DocField(name="date", value="2019-01-02")],
    )


def test_ocr_and_fields_from_one_run(tmp_path: Path) -> None:
    (tmp_path / "gt").mkdir()
    (tmp_path / "gt" / "r.boxes.csv").write_text("10,10,70,10,70,20,10,20,TOTAL 9.00\n")
    keys = {"company": "ACME", "date": "02/01/2019", "total": "9.00"}
    (tmp_path / "gt" / "r.key.json").write_text(json.dumps(keys))
    item = {
        "id": "r",
        "doc": "docs/r.jpg",
        "gt": {"boxes": "gt/r.boxes.csv", "key": "gt/r.key.json"},
    }
    result = score_split(tmp_path, [(item, _receipt())])
    assert [(s.item_id, s.cer) for s in result.ocr] == [("r", 0.0)]
    assert result.fields is not None and result.forms is None
    # date (day-first truth) and total right, company missing: P 2/2, R 2/3
    assert (result.fields.micro.tp, result.fields.micro.predicted, result.fields.micro.truth) == (
        2,
        2,
        3,
    )


def test_a_lost_document_scores_as_empty(tmp_path: Path) -> None:
    (tmp_path / "gt").mkdir()
    (tmp_path / "gt" / "r.key.json").write_text(json.dumps({"total": "9.00"}))
    item = {"id": "r", "doc": "docs/r.jpg", "gt": {"key": "gt/r.key.json"}}
    result = score_split(tmp_path, [(item, None)])
    assert result.ocr == [] and result.fields is not None
    assert (result.fields.micro.tp, result.fields.micro.truth) == (0, 1)


def test_understanding_cost_per_page_from_the_documents_own_timings() -> None:
    from extractors.document import PipelineInfo
    from pipelines.evaluation.bench_understanding import stage_ms_per_page

    document = _receipt()
    document.pages.append(document.pages[0].model_copy(update={"id": "p1", "index": 1}))
    document.pipeline = PipelineInfo(
        profile="default",
        config_hash="c",
        timings_ms={"ocr.ppocr": 900.0, "entities.text": 40.0, "fields.invoice": 10.0},
        elapsed_ms=1000.0,
    )
    assert stage_ms_per_page(document) == {
        "entities.text": 20.0,
        "fields.invoice": 5.0,
        "understanding": 25.0,
    }
