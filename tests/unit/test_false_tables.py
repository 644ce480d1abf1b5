"""False tables on dense pages: the matching rules, on hand-made boxes."""

from __future__ import annotations

from pipelines.evaluation.evaluate_layout import Scored
from pipelines.evaluation.false_tables import is_false_docbank, is_false_publaynet

TRUTH = [(0.1, 0.4, 0.5, 0.6)]


def test_publaynet_a_table_on_a_truth_table_is_true() -> None:
    assert not is_false_publaynet((0.1, 0.41, 0.5, 0.6), TRUTH)  # IoU 0.95
    assert not is_false_publaynet((0.1, 0.4, 0.3, 0.6), TRUTH)  # half of it, wholly inside


def test_publaynet_a_table_elsewhere_or_without_truth_is_false() -> None:
    assert is_false_publaynet((0.55, 0.1, 0.9, 0.3), TRUTH)
    assert is_false_publaynet((0.1, 0.4, 0.5, 0.6), [])
    # Twice the truth table's size: IoU 0.5 exactly counts, more loses it.
    assert not is_false_publaynet((0.1, 0.4, 0.9, 0.6), TRUTH)
    assert is_false_publaynet((0.1, 0.3, 0.9, 0.7), TRUTH)


def _tokens(labels: list[str]) -> list[Scored]:
    return [
        Scored(label, (0.1 + 0.02 * i, 0.5, 0.11 + 0.02 * i, 0.51))
        for i, label in enumerate(labels)
    ]


def test_docbank_a_table_is_true_when_most_tokens_inside_are_table_tokens() -> None:
    box = (0.0, 0.4, 1.0, 0.6)
    assert not is_false_docbank(box, _tokens(["table"] * 3 + ["text"] * 2))
    assert is_false_docbank(box, _tokens(["table"] * 2 + ["text"] * 3))
    assert is_false_docbank(box, [])  # nothing of the truth inside: false
    assert is_false_docbank((0.0, 0.7, 1.0, 0.9), _tokens(["table"] * 5))  # none inside
