"""forms.checkbox: square outlines in generated page images, written into the page as marks."""

from __future__ import annotations

import numpy as np
import pytest

from extractors.document import Page
from extractors.stage import PageContext
from extractors.stages.forms.checkbox import (
    CHECKED,
    EMPTY,
    CheckboxStage,
    find_checkboxes,
    place_checkboxes,
)
from tests.forms_fixtures import checkbox_form_image, form_page


def _near(found: tuple[int, ...], truth: tuple[int, ...]) -> bool:
    return all(abs(a - b) <= 3 for a, b in zip(found, truth, strict=True))


@pytest.mark.parametrize("scale", [1, 2])
def test_ticked_and_empty_boxes_found_and_grid_cells_not(scale: int) -> None:
    image, truth = checkbox_form_image(scale=scale)
    found = find_checkboxes(image)
    assert len(found) == len(truth)
    for box, (outline, ticked) in zip(found, truth, strict=True):
        assert _near(box.box, outline)
        assert box.checked is ticked
        assert 0.5 < box.confidence <= 1


def test_blank_page_and_text_have_no_boxes() -> None:
    assert find_checkboxes(np.full((600, 800, 3), 255, np.uint8)) == []
    image, _ = checkbox_form_image(boxes=())
    assert find_checkboxes(image) == []


def test_marks_join_the_line_beside_them() -> None:
    page = form_page([("Yes", 0.14, 0.15), ("Remarks", 0.5, 0.5)])
    written = place_checkboxes(
        page, [((0.1, 0.15, 0.12, 0.165), True, 0.9), ((0.1, 0.8, 0.12, 0.815), False, 0.9)]
    )
    assert written == 2
    first = page.blocks[0].lines[0]
    assert first.text == f"{CHECKED} Yes" and first.words[0].source == "forms.checkbox"
    assert first.bbox[0] == pytest.approx(0.1)
    alone = page.blocks[-1]
    assert alone.lines[0].text == EMPTY and alone.order == 2
    ids = [w.id for w in page.words()]
    assert len(ids) == len(set(ids))


def test_an_ocr_word_that_is_the_box_takes_the_mark() -> None:
    page = form_page([("口 Yes", 0.1, 0.15)])
    box = page.blocks[0].lines[0].words[0].bbox
    assert place_checkboxes(page, [(tuple(box), False, 0.9)]) == 1  # type: ignore[list-item]
    line = page.blocks[0].lines[0]
    assert [w.text for w in line.words] == [EMPTY, "Yes"] and line.text == f"{EMPTY} Yes"


def test_a_letter_or_number_under_a_box_is_left_as_read() -> None:
    # A receipt's "(M)" or a boxed "16" found as a check box: the reading stays.
    page = form_page([("POPULAR BOOK CO M SDN BHD", 0.1, 0.15), ("16", 0.1, 0.3)])
    words = [page.blocks[0].lines[0].words[3], page.blocks[1].lines[0].words[0]]
    boxes = [(tuple(w.bbox), True, 0.9) for w in words]
    assert place_checkboxes(page, boxes) == 0  # type: ignore[arg-type]
    assert [b.lines[0].text for b in page.blocks] == ["POPULAR BOOK CO M SDN BHD", "16"]


def test_stage_maps_work_image_pixels_to_the_page() -> None:
    image, truth = checkbox_form_image()
    h, w = image.shape[:2]
    page = Page(id="p0", index=0, width=w, height=h, unit="px", text_source="ocr")
    ctx = PageContext(document_id="d", page=page, render=lambda: image)
    CheckboxStage()([ctx])
    marks = [word for word in page.words()]
    assert [m.text for m in marks] == [CHECKED if t else EMPTY for _, t in truth]
    x0, y0, _, _ = truth[0][0]
    assert marks[0].bbox[0] == pytest.approx(x0 / w, abs=0.004)
    assert marks[0].bbox[1] == pytest.approx(y0 / h, abs=0.004)
