"""Calibration error and the isotonic map on hand-computed cases."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from extractors.document import Block, Document, Line, Page, Word
from pipelines.evaluation.calibration import (
    Calibration,
    expected_calibration_error,
    fit_isotonic,
    funsd_word_outcomes,
)


def test_ece_perfect_empty_and_overconfident() -> None:
    assert expected_calibration_error([], []) == 0.0
    # all at 0.5 with half right: calibrated
    assert expected_calibration_error([0.5] * 4, [True, False, True, False]) == 0.0
    # 0.9 everywhere, right 1 in 2: |0.5 - 0.9| = 0.4
    assert expected_calibration_error([0.9] * 4, [True, False, True, False]) == pytest.approx(0.4)
    # two bins: 0.1 (right 0/2, gap 0.1) and 0.95 (right 2/2, gap 0.05) -> 0.5*0.1 + 0.5*0.05
    value = expected_calibration_error([0.1, 0.1, 0.95, 0.95], [False, False, True, True], bins=10)
    assert value == pytest.approx(0.075)


def test_isotonic_pools_violators_and_keeps_order() -> None:
    calibration = fit_isotonic([0.1, 0.2, 0.3, 0.4], [False, True, False, True])
    # (0.2 right, 0.3 wrong) violate order and pool to 0.5 at their mean confidence 0.25
    assert calibration.y == (0.0, 0.5, 1.0)
    assert calibration.x == pytest.approx((0.1, 0.25, 0.4))
    assert calibration(0.05) == 0.0 and calibration(0.9) == 1.0
    assert calibration(0.175) == pytest.approx(0.25)  # halfway between 0.1 and 0.25
    values = [calibration(c / 100) for c in range(101)]
    assert values == sorted(values)


def test_calibration_fixes_overconfidence() -> None:
    confidences = [0.95] * 50 + [0.99] * 50
    right = [k % 2 == 0 for k in range(50)] + [k % 10 != 0 for k in range(50)]
    calibration = fit_isotonic(confidences, right)
    before = expected_calibration_error(confidences, right)
    after = expected_calibration_error([calibration(c) for c in confidences], right)
    assert before > 0.2 and after == pytest.approx(0.0, abs=1e-9)
    assert Calibration((), ())(0.7) == 0.7  # an empty map changes nothing


def test_funsd_word_outcomes(tmp_path: Path) -> None:
    words = [
        Word(id="w0", text="Date:", bbox=[0.1, 0.1, 0.2, 0.2], confidence=0.9),
        Word(id="w1", text="l2/03", bbox=[0.3, 0.1, 0.4, 0.2], confidence=0.8),  # misread
        Word(id="w2", text="stray", bbox=[0.7, 0.7, 0.8, 0.8], confidence=0.5),  # no truth there
    ]
    page = Page(
        id="p0",
        index=0,
        width=100,
        height=100,
        unit="px",
        blocks=[
            Block(
                id="b0",
                bbox=[0, 0, 1, 1],
                lines=[Line(id="l0", text="", bbox=[0, 0, 1, 1], words=words)],
            )
        ],
    )
    document = Document(document_id="d", source_name="d", source_path="d", sha256="0", pages=[page])
    form = {
        "form": [
            {
                "words": [
                    {"text": "DATE:", "box": [9, 9, 21, 21]},
                    {"text": "12/03", "box": [29, 9, 41, 21]},
                ]
            }
        ]
    }
    gt = tmp_path / "gt.json"
    gt.write_text(json.dumps(form))
    assert funsd_word_outcomes(document, gt) == [(0.9, True), (0.8, False)]


def test_threshold_inverts_the_map() -> None:
    calibration = Calibration((0.5, 0.9, 0.99), (0.2, 0.6, 1.0))
    assert calibration.threshold(0.6) == pytest.approx(0.9)
    assert calibration.threshold(0.8) == pytest.approx(0.945)  # halfway from 0.6 to 1.0
    for target in (0.3, 0.7, 0.95):  # "calibrated < target" is "raw < threshold"
        raw = calibration.threshold(target)
        assert calibration(raw - 1e-6) < target <= calibration(raw + 1e-6)
    assert calibration.threshold(0.1) == 0.0  # always reached
    assert Calibration((0.5,), (0.4,)).threshold(0.9) == 1.01  # never reached
    assert Calibration((), ()).threshold(0.9) == 0.9
    again = Calibration.from_json(calibration.to_json())
    assert again == calibration
