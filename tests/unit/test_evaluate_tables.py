"""Table metrics on hand-computed cases: cell adjacency relations and region matching."""

from __future__ import annotations

import pytest

from pipelines.evaluation.evaluate_tables import (
    Counts,
    Unit,
    adjacency_counts,
    adjacency_relations,
    grid_cells,
    normalise,
    region_counts,
)


def test_normalise_keeps_letters_and_digits() -> None:
    assert normalise("Read &\nWrite ") == "readwrite"
    assert normalise("1,302.5 %") == "13025"


def test_relations_of_a_grid_skip_empty_cells_and_follow_spans() -> None:
    assert sorted(adjacency_relations(grid_cells([["a", "b"], ["c", "d"]]))) == [
        ("a", "b", "h"), ("a", "c", "v"), ("b", "d", "v"), ("c", "d", "h")]  # fmt: skip
    assert list(adjacency_relations(grid_cells([["a", "", "b"]]))) == [("a", "b", "h")]
    spanning = [(0, 0, 0, 1, "h"), (1, 0, 1, 0, "x"), (1, 1, 1, 1, "y")]
    assert sorted(adjacency_relations(spanning)) == [
        ("h", "x", "v"), ("h", "y", "v"), ("x", "y", "h")]  # fmt: skip


def _unit(
    rows: list[list[str]], page: int = 0, box: tuple[float, ...] = (0.1, 0.1, 0.5, 0.5)
) -> Unit:
    return Unit(page, (box[0], box[1], box[2], box[3]), grid_cells(rows))


def test_adjacency_perfect_partial_and_empty() -> None:
    truth = [_unit([["a", "b"], ["c", "d"]])]
    perfect = adjacency_counts(truth, [_unit([["a", "b"], ["c", "d"]])])
    assert (perfect.tp, perfect.predicted, perfect.truth, perfect.f1) == (4, 4, 4, 1.0)
    swapped = adjacency_counts(truth, [_unit([["a", "d"], ["c", "b"]])])
    assert (swapped.tp, swapped.precision, swapped.recall) == (1, 0.25, 0.25)
    empty = adjacency_counts(truth, [])
    assert (empty.tp, empty.predicted, empty.truth, empty.f1) == (0, 0, 4, 0.0)
    # A table on another page matches no region: its relations are false positives.
    stray = adjacency_counts(truth, [_unit([["a", "b"], ["c", "d"]], page=1)])
    assert (stray.tp, stray.predicted, stray.truth) == (0, 4, 4)


def test_region_matching_is_one_to_one_at_iou_half() -> None:
    truth = [_unit([], box=(0.1, 0.1, 0.5, 0.5)), _unit([], box=(0.1, 0.6, 0.5, 0.9))]
    predicted = [
        _unit([], box=(0.1, 0.1, 0.5, 0.4)),  # IoU 0.75 with the first
        _unit([], box=(0.1, 0.1, 0.5, 0.45)),  # also overlaps the first: one-to-one, no match
        _unit([], box=(0.1, 0.6, 0.5, 0.7)),  # IoU 0.33 with the second: too small
    ]
    counts = region_counts(truth, predicted)
    assert (counts.tp, counts.predicted, counts.truth) == (1, 3, 2)
    assert counts.precision == pytest.approx(1 / 3) and counts.recall == 0.5
    assert Counts().f1 == 0.0


def test_camelot_cases_that_apply_and_grid_comparison() -> None:
    from pipelines.evaluation.evaluate_table_cases import camelot_applies, same_grid, text_recall

    assert camelot_applies({"read_pdf_kwargs": {"pages": "2"}}) == ""
    assert camelot_applies({"read_pdf_kwargs": {"flavor": "stream"}}) == ""
    assert camelot_applies({"read_pdf_kwargs": {"table_areas": ["1,2,3,4"]}}) == "given table_areas"
    assert camelot_applies({"read_pdf_kwargs": {"flavor": "network"}}) == "flavor network"
    assert same_grid([["Read & Write", "1"]], [["Read &\nWrite", "1"]])
    assert not same_grid([["a", "1"]], [["a", "1", ""]])
    assert text_recall([[["a", "b"], ["", "c"]]], [["a", "x"], ["c", ""]]) == pytest.approx(2 / 3)
