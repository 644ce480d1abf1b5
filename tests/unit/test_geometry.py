"""Box arithmetic shared by the stages: the container search used for lines and cell words."""

from __future__ import annotations

from extractors.geometry import best_containers


def test_each_item_goes_to_the_container_covering_most_of_it() -> None:
    items = [(0.1, 0.1, 0.2, 0.2), (0.5, 0.5, 0.7, 0.6)]
    containers = [(0.0, 0.0, 0.15, 1.0), (0.0, 0.0, 1.0, 1.0)]
    # Item 0: half in the first, all in the second; item 1 only in the second.
    assert best_containers(items, containers, 0.5) == [1, 1]


def test_a_tie_goes_to_the_smaller_container() -> None:
    item = [(0.1, 0.1, 0.2, 0.2)]
    big, small = (0.0, 0.0, 1.0, 1.0), (0.05, 0.05, 0.3, 0.3)
    assert best_containers(item, [big, small], 0.5) == [1]
    assert best_containers(item, [small, big], 0.5) == [0]


def test_below_the_minimum_share_and_empty_inputs_give_none() -> None:
    item = [(0.1, 0.1, 0.3, 0.2)]
    assert best_containers(item, [(0.0, 0.0, 0.19, 1.0)], 0.5) == [-1]  # 45% inside
    assert best_containers(item, [(0.0, 0.0, 0.21, 1.0)], 0.5) == [0]  # 55% inside
    assert best_containers(item, [], 0.5) == [-1]
    assert best_containers([], [(0.0, 0.0, 1.0, 1.0)], 0.5) == []


def test_a_point_sized_item_inside_a_container_is_not_lost() -> None:
    # Zero-area items (an empty OCR word) have no share anywhere; they stay unassigned.
    assert best_containers([(0.2, 0.2, 0.2, 0.2)], [(0.0, 0.0, 1.0, 1.0)], 0.5) == [-1]
