"""Field metrics: normalisation and micro F1 on hand-computed cases."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from extractors.document import DocField, Document
from pipelines.evaluation.evaluate_fields import (
    FieldScores,
    document_values,
    normalise,
    read_truth,
    score_item,
)

TRUTH = {"vendor_name": "ABC HO TRADING", "date": "09/01/2019", "total": "31.00"}


@pytest.mark.parametrize(
    ("name", "a", "b"),
    [
        ("date", "12-01-19", "2019-01-12"),  # dates as values, day-first truth
        ("date", "29 MAR 2018", "2018-03-29"),
        ("total", "$7.10", "7.10"),
        ("total", "RM7.70", "7.7"),
        ("total", "1.234,56", "1234.56"),
        ("vendor_address", "NO.2&4, JALAN HARMONI", "no.2&4,jalan  harmoni"),  # spacing, case
        ("currency", "€", "EUR"),
    ],
)
def test_values_that_compare_equal(name: str, a: str, b: str) -> None:
    assert normalise(name, a) == normalise(name, b)


def test_punctuation_still_counts_in_text() -> None:
    assert normalise("vendor_address", "PUTRA. 81200") != normalise(
        "vendor_address", "PUTRA, 81200"
    )


def test_perfect_empty_and_partial() -> None:
    perfect = FieldScores()
    perfect.add(
        "a", {"vendor_name": "ABC HO  TRADING", "date": "2019-01-09", "total": "31.00"}, TRUTH
    )
    assert (perfect.micro.precision, perfect.micro.recall, perfect.micro.f1) == (1.0, 1.0, 1.0)

    empty = FieldScores()
    empty.add("a", {}, TRUTH)
    assert (empty.micro.tp, empty.micro.predicted, empty.micro.truth) == (0, 0, 3)
    assert empty.micro.f1 == 0.0

    # one right, one wrong, one missing: P = 1/2, R = 1/3, F1 = 2PR/(P+R) = 0.4
    partial = FieldScores()
    partial.add("a", {"vendor_name": "ABC HO TRADING", "total": "13.00"}, TRUTH)
    assert partial.micro.precision == pytest.approx(0.5)
    assert partial.micro.recall == pytest.approx(1 / 3)
    assert partial.micro.f1 == pytest.approx(0.4)
    assert {m[1] for m in partial.misses} == {"total", "date"}


def test_predictions_the_truth_does_not_name_are_not_counted() -> None:
    counts = score_item({"total": "31.00", "iban": "NL91ABNA0417164300"}, {"total": "31.00"})
    assert set(counts) == {"total"}


def test_document_values_take_the_first_document_field_of_a_name() -> None:
    document = Document(
        document_id="d",
        source_name="d",
        source_path="d",
        sha256="0",
        fields=[
            DocField(name="item_amount", value="5.00", item=0),
            DocField(name="total", value="9.00"),
            DocField(name="total", value="8.00"),
        ],
    )
    assert document_values(document) == {"total": "9.00"}  # line items are not document fields


def test_truth_from_sroie_keys_and_fields_files(tmp_path: Path) -> None:
    (tmp_path / "gt").mkdir()
    (tmp_path / "gt" / "k.json").write_text(
        json.dumps({"company": "X", "address": "Y", "total": "1"})
    )
    (tmp_path / "gt" / "f.json").write_text(json.dumps({"invoice_number": "7", "due_date": None}))
    assert read_truth({"gt": {"key": "gt/k.json"}}, tmp_path) == {
        "vendor_name": "X",
        "vendor_address": "Y",
        "total": "1",
    }
    assert read_truth({"gt": {"fields": "gt/f.json"}}, tmp_path) == {"invoice_number": "7"}
    assert read_truth({"gt": {"boxes": "x"}}, tmp_path) is None
