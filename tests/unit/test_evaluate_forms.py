"""FUNSD form scoring: hand-computed labelling and linking counts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from extractors.document import Document, Entity, Page, Relation
from pipelines.evaluation.evaluate_forms import (
    Counts,
    Predicted,
    format_report,
    forms_config,
    funsd_truth,
    predicted_form,
    score_documents,
    score_form,
)


def _entity(i: int, label: str, box: list[int], links: list[list[int]] = ()) -> dict[str, Any]:  # type: ignore[assignment]
    return {
        "id": i,
        "label": label,
        "text": f"t{i}",
        "box": box,
        "linking": list(links),
        "words": [{"text": f"t{i}", "box": box}],
    }


# Two question->answer pairs, a header (linked to a question: not a key-value link) and an
# "other" entity.
FORM = [
    _entity(0, "header", [100, 10, 300, 30], [[0, 1]]),
    _entity(1, "question", [10, 50, 60, 60], [[0, 1], [1, 2]]),
    _entity(2, "answer", [70, 50, 150, 60], [[1, 2]]),
    _entity(3, "question", [10, 80, 60, 90], [[3, 4]]),
    _entity(4, "answer", [70, 80, 150, 90], [[3, 4]]),
    _entity(5, "other", [10, 200, 200, 210]),
]


def _document(entities: list[tuple[str, str, list[int]]], links: list[tuple[str, str]]) -> Document:
    page = Page(id="p0", index=0, width=1000, height=1000, unit="px")
    return Document(
        document_id="d",
        source_name="f.png",
        source_path="f.png",
        sha256="0" * 64,
        pages=[page],
        entities=[
            Entity(
                id=i, label=label, text=i, page=0, bbox=[v / 1000 for v in box], source="forms.kv"
            )
            for i, label, box in entities
        ],
        relations=[
            Relation(id=f"r{n}", label="key_value", head=h, tail=t)
            for n, (h, t) in enumerate(links)
        ],
    )


PERFECT = [
    ("h", "HEADER", [100, 10, 300, 30]),
    ("q1", "KEY", [10, 50, 60, 60]),
    ("a1", "VALUE", [70, 50, 150, 60]),
    ("q2", "KEY", [10, 80, 60, 90]),
    ("a2", "VALUE", [70, 80, 150, 90]),
]


def test_truth_keeps_question_answer_links_only() -> None:
    truth = funsd_truth(FORM)
    assert set(truth.entities) == {0, 1, 2, 3, 4} and set(truth.others) == {5}
    assert truth.links == {(1, 2), (3, 4)}


@pytest.mark.parametrize("criterion", ["words", "iou"])
def test_perfect_prediction(criterion: str) -> None:
    pred = predicted_form(_document(PERFECT, [("q1", "a1"), ("q2", "a2")]))
    scored = score_form(pred, funsd_truth(FORM), criterion)
    assert (scored.labelling.tp, scored.labelling.predicted, scored.labelling.truth) == (5, 5, 5)
    assert scored.labelling.f1 == 1.0 and scored.linking.f1 == 1.0
    assert scored.per_label["header"].f1 == 1.0


def test_empty_prediction() -> None:
    scored = score_form(Predicted({}, []), funsd_truth(FORM))
    assert scored.labelling == Counts(0, 0, 5) and scored.linking == Counts(0, 0, 2)
    assert scored.labelling.f1 == 0.0 and scored.labelling.precision == 0.0


def test_partial_prediction_hand_computed() -> None:
    entities = [
        ("q1", "KEY", [12, 51, 58, 59]),  # right (slightly tighter box)
        ("a1", "KEY", [70, 50, 150, 60]),  # wrong label
        ("q2", "KEY", [10, 80, 60, 90]),  # right
        ("a2", "VALUE", [70, 80, 150, 90]),  # right
        ("x", "VALUE", [400, 400, 450, 420]),  # on nothing: a false positive
        ("o", "VALUE", [10, 200, 200, 210]),  # on "other" text: not counted
    ]
    links = [("q1", "a1"), ("q2", "a2"), ("q2", "x")]
    scored = score_form(predicted_form(_document(entities, links)), funsd_truth(FORM))
    # 3 right of 5 scored predictions, of 5 truths: P = R = F1 = 0.6
    assert scored.labelling == Counts(3, 5, 5)
    assert scored.labelling.f1 == pytest.approx(0.6)
    assert scored.strict == Counts(3, 6, 5)
    # links: q1->a1 joins the right boxes (labels do not matter), q2->a2 right, q2->x wrong
    assert scored.linking == Counts(2, 3, 2)
    assert scored.linking.f1 == pytest.approx(2 * (2 / 3) * 1 / (2 / 3 + 1))


def test_one_character_boxes_match_by_words_not_by_iou() -> None:
    form = [_entity(0, "answer", [100, 100, 115, 117])]
    pred = predicted_form(_document([("a", "VALUE", [105, 102, 110, 117])], []))
    assert score_form(pred, funsd_truth(form), "words").labelling.tp == 1
    assert score_form(pred, funsd_truth(form), "iou").labelling.tp == 0


def test_one_to_one_and_merged_predictions() -> None:
    # One prediction spanning both answers of a row matches at most one of them.
    form = [_entity(0, "answer", [10, 10, 50, 20]), _entity(1, "answer", [60, 10, 100, 20])]
    pred = predicted_form(_document([("a", "VALUE", [10, 10, 100, 20])], []))
    assert score_form(pred, funsd_truth(form)).labelling.tp == 0  # its word is in neither


def test_score_documents_pools_forms_and_reports(tmp_path: Path) -> None:
    (tmp_path / "gt").mkdir()
    (tmp_path / "gt" / "a.json").write_text(json.dumps({"form": FORM}))
    items = [{"id": "a", "doc": "docs/a.png", "gt": {"funsd": "gt/a.json"}}] * 2
    docs = [_document(PERFECT, [("q1", "a1")]), None]
    result = score_documents(items, docs, tmp_path)
    assert result.labelling == Counts(5, 5, 10) and result.linking == Counts(1, 1, 4)
    assert result.forms[1].status == "missing"
    report = format_report(result)
    assert "labelling" in report and "linking" in report and "match by iou" in report


def test_forms_config_has_each_form_stage_once() -> None:
    forms = ["forms.checkbox", "forms.acroform", "forms.kv"]
    listed = [s.kind for s in forms_config("default").stages]  # the profile lists them
    assert [k for k in listed if k.startswith("forms.")] == forms
    appended = [s.kind for s in forms_config("text").stages]  # a profile without them
    assert appended[-3:] == forms
