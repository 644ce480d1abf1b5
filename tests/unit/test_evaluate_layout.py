"""Layout evaluation: AP and token accuracy on hand-made boxes, ground-truth readers on tiny files,
and one end-to-end run of the evaluation over a generated PubLayNet-style dataset."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from pipelines.evaluation.evaluate_layout import (
    KIND_TO_DOCBANK,
    KIND_TO_PUBLAYNET,
    Scored,
    average_precision,
    detect_dataset,
    docbank_truth,
    evaluate_layout,
    mean_ap,
    publaynet_truth,
    token_labels,
)
from pipelines.execution.config import load_profile
from tests.unit.synthetic_pages import two_column_page

A = (0.1, 0.1, 0.4, 0.4)
B = (0.6, 0.6, 0.9, 0.9)


def test_perfect_and_empty_predictions() -> None:
    truth = [[Scored("text", A), Scored("text", B)]]
    assert average_precision([[Scored("text", A, 0.9), Scored("text", B, 0.8)]], truth, 0.5) == 1
    assert average_precision([[]], truth, 0.5) == 0
    # a class without ground truth is left out of the mean, not counted as 0 or 1
    value, per_class = mean_ap([[Scored("text", A, 0.9)]], [[Scored("text", A)]], ["text", "list"])
    assert value == 1 and set(per_class) == {"text"}


def test_ranking_matters_and_duplicates_are_false_positives() -> None:
    truth = [[Scored("text", A)]]
    far = (0.5, 0.0, 0.55, 0.05)
    good_first = average_precision([[Scored("text", A, 0.9), Scored("text", far, 0.5)]], truth, 0.5)
    bad_first = average_precision([[Scored("text", A, 0.5), Scored("text", far, 0.9)]], truth, 0.5)
    assert good_first == 1 and bad_first == pytest.approx(0.5, abs=0.01)
    # the second box on one ground truth matches nothing: recall is reached before it, AP stays 1
    twice = [[Scored("text", A, 0.9), Scored("text", A, 0.8)]]
    assert average_precision(twice, truth, 0.5) == 1
    # a box with IoU < 0.5 is a miss
    shifted = (0.25, 0.1, 0.55, 0.4)  # IoU 1/3
    assert average_precision([[Scored("text", shifted, 0.9)]], truth, 0.5) == 0


def test_token_takes_the_best_scoring_region_holding_its_centre() -> None:
    tokens = [Scored("title", (0.2, 0.2, 0.3, 0.25)), Scored("text", (0.95, 0.95, 0.97, 0.97))]
    regions = [
        Scored("text", (0.0, 0.0, 0.5, 0.5), 0.6),
        Scored("title", (0.1, 0.1, 0.4, 0.3), 0.9),
    ]
    assert token_labels(tokens, regions) == ["title", "none"]


def test_every_folio_kind_is_mapped() -> None:
    from extractors.document import BLOCK_KINDS

    assert set(BLOCK_KINDS) <= set(KIND_TO_PUBLAYNET) | {"other"}
    assert set(KIND_TO_PUBLAYNET) <= set(BLOCK_KINDS)
    assert set(KIND_TO_DOCBANK) <= set(BLOCK_KINDS)


def test_truth_readers(tmp_path: Path) -> None:
    coco = {
        "images": [{"id": 1, "width": 200, "height": 100}],
        "categories": [{"id": 1, "name": "text"}, {"id": 4, "name": "table"}],
        "annotations": [{"bbox": [20, 10, 100, 50], "category_id": 4, "iscrowd": 0}],
    }
    (tmp_path / "p.json").write_text(json.dumps(coco))
    assert publaynet_truth(tmp_path / "p.json") == [Scored("table", (0.1, 0.1, 0.6, 0.6))]
    rows = (
        "Intro\t100\t50\t200\t60\t0\t0\t0\tTimes\tsection\n"
        "we\t100\t70\t120\t80\t0\t0\t0\tT\tparagraph\n"
    )
    (tmp_path / "d.txt").write_text(rows + "short\trow\n")
    assert [t.label for t in docbank_truth(tmp_path / "d.txt")] == ["title", "text"]
    assert docbank_truth(tmp_path / "d.txt")[0].box == (0.1, 0.05, 0.2, 0.06)


def test_dataset_is_recognised_by_folder_name(tmp_path: Path) -> None:
    assert detect_dataset(tmp_path / "publaynet") == "publaynet"
    with pytest.raises(ValueError, match="not a layout dataset"):
        detect_dataset(tmp_path / "sroie")


def test_evaluation_end_to_end_on_a_generated_page(tmp_path: Path) -> None:
    image, extents = two_column_page()
    split = tmp_path / "publaynet" / "dev"
    (split / "docs").mkdir(parents=True)
    (split / "gt").mkdir()
    Image.fromarray(image).save(split / "docs" / "p1.png")
    h, w = image.shape[:2]
    annotations = [
        {"bbox": [x0, y0, x1 - x0, y1 - y0], "category_id": 1 if name != "title" else 2}
        for name, (x0, y0, x1, y1) in extents.items()
    ]
    coco = {
        "images": [{"id": 1, "width": w, "height": h}],
        "categories": [{"id": 1, "name": "text"}, {"id": 2, "name": "title"}],
        "annotations": annotations,
    }
    (split / "gt" / "p1.json").write_text(json.dumps(coco))
    item = {"id": "p1", "doc": "docs/p1.png", "gt": {"coco": "gt/p1.json"}}
    (split / "index.jsonl").write_text(json.dumps(item) + "\n")
    report = evaluate_layout(tmp_path / "publaynet", load_profile("default"), baseline=True)
    assert report.pages == 1 and report.metric == "mAP@0.5"
    assert report.baseline is not None
    # the title is found by both; the columns are ground truth as whole columns, which the
    # detector splits into paragraphs (scored, not asserted)
    assert report.per_class["title"] == (1.0, 1.0)
    assert set(report.per_class) == {"text", "title"}
