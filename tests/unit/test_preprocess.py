"""Orientation and deskew stages on generated pages: angles found, transforms composed right."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from extractors.document import Page
from extractors.stage import PageContext
from extractors.stages.preprocess import (
    DeskewOptions,
    DeskewStage,
    OrientationStage,
    compose_to_page,
    estimate_skew,
    line_axis_score,
    rotate_expanded,
    undo_rotation_affine,
)
from tests.unit.synthetic_pages import text_page

_TURN_CLOCKWISE = {
    90: cv2.ROTATE_90_CLOCKWISE,
    180: cv2.ROTATE_180,
    270: cv2.ROTATE_90_COUNTERCLOCKWISE,
}


def _ctx(image: np.ndarray, text_layer: bool = False) -> PageContext:
    h, w = image.shape[:2]
    page = Page(id="p0", index=0, width=w, height=h, unit="px")
    return PageContext("doc-test", page, _image=image, text_layer_usable=text_layer)


def _map(ctx: PageContext, x: float, y: float) -> np.ndarray:
    return np.asarray(ctx.to_page @ np.array([x, y, 1.0]))


def _marker_centre(image: np.ndarray) -> np.ndarray:
    """Centre of the pure-red marker drawn into a test page."""
    red = (image[:, :, 0] > 200) & (image[:, :, 1] < 60) & (image[:, :, 2] < 60)
    ys, xs = np.nonzero(red)
    assert xs.size, "marker lost"
    return np.array([xs.mean() + 0.5, ys.mean() + 0.5])


@pytest.fixture(scope="module")
def page() -> np.ndarray:
    image = text_page().copy()
    cv2.circle(image, (1000, 300), 12, (255, 0, 0), -1)  # a marker to follow through transforms
    return image


@pytest.fixture(scope="module")
def orientation() -> OrientationStage:
    return OrientationStage()


@pytest.mark.parametrize("degrees", [0, 90, 180, 270])
def test_undo_rotation_affine_matches_cv2_rotate(degrees: int) -> None:
    rng = np.random.default_rng(degrees)
    image = rng.integers(0, 255, (37, 53), dtype=np.uint8)
    turned = image if degrees == 0 else cv2.rotate(image, _TURN_CLOCKWISE[degrees])
    undo = {90: cv2.ROTATE_90_COUNTERCLOCKWISE, 180: cv2.ROTATE_180, 270: cv2.ROTATE_90_CLOCKWISE}
    upright = turned if degrees == 0 else cv2.rotate(turned, undo[degrees])
    forward = undo_rotation_affine(degrees, turned.shape[1], turned.shape[0])
    h, w = turned.shape
    for y, x in [(0, 0), (5, w - 2), (h - 1, w - 1), (h // 2, 3)]:
        # pixel centres: (x + .5, y + .5) of `turned` lands on the same value in `upright`
        nx, ny = forward @ np.array([x + 0.5, y + 0.5, 1.0])
        assert upright[int(ny), int(nx)] == turned[y, x]


@pytest.mark.parametrize("degrees", [90, 180, 270])
def test_orientation_turns_page_upright_and_maps_points_back(
    page: np.ndarray, orientation: OrientationStage, degrees: int
) -> None:
    presented = np.ascontiguousarray(cv2.rotate(page, _TURN_CLOCKWISE[degrees]))
    ctx = _ctx(presented)
    orientation([ctx])
    assert ctx.page.rotation == degrees
    assert ctx.work.shape == page.shape
    # the marker found in the upright work image maps onto the marker in the presented image
    work_marker = _marker_centre(ctx.work)
    assert np.allclose(work_marker, _marker_centre(page), atol=1.0)
    assert np.allclose(_map(ctx, *work_marker), _marker_centre(presented), atol=1.0)


def test_orientation_leaves_upright_and_text_layer_pages_alone(
    page: np.ndarray, orientation: OrientationStage
) -> None:
    upright, digital = _ctx(page), _ctx(cv2.rotate(page, cv2.ROTATE_180), text_layer=True)
    orientation([upright, digital])
    for ctx in (upright, digital):
        assert ctx.page.rotation == 0
        assert ctx.work_image is None
        assert np.allclose(ctx.to_page, np.eye(3)[:2])


def test_orientation_vetoes_sideways_turn_of_horizontal_text(
    page: np.ndarray, orientation: OrientationStage
) -> None:
    assert line_axis_score(page) > 1.0
    sideways = np.array([0.02, 0.95, 0.02, 0.01])
    assert orientation.decide(sideways, page) == 0  # the lines are horizontal already
    assert orientation.decide(np.array([0.02, 0.02, 0.95, 0.01]), page) == 180
    assert orientation.decide(np.array([0.35, 0.1, 0.45, 0.1]), page) == 0  # not confident


@pytest.mark.parametrize("angle", [-6.0, -1.5, 2.0, 4.3])
def test_estimate_skew(page: np.ndarray, angle: float) -> None:
    skewed, _ = rotate_expanded(page, angle)
    assert estimate_skew(skewed) == pytest.approx(angle, abs=0.5)


def test_deskew_straightens_and_maps_back(page: np.ndarray) -> None:
    presented, _ = rotate_expanded(page, 3.0)
    ctx = _ctx(presented)
    DeskewStage()([ctx])
    assert ctx.page.skew == pytest.approx(3.0, abs=0.3)
    assert abs(estimate_skew(ctx.work)) < 0.3
    assert np.allclose(_map(ctx, *_marker_centre(ctx.work)), _marker_centre(presented), atol=1.5)


def test_deskew_skips_straight_and_text_layer_pages(page: np.ndarray) -> None:
    straight, digital = _ctx(page), _ctx(rotate_expanded(page, 3.0)[0], text_layer=True)
    DeskewStage()([straight, digital])
    assert straight.work_image is None and straight.page.skew == 0.0
    assert digital.work_image is None
    forced = _ctx(digital.image, text_layer=True)
    DeskewStage(DeskewOptions(only_scanned=False))([forced])
    assert forced.page.skew == pytest.approx(3.0, abs=0.3)


def test_orientation_then_deskew_compose(page: np.ndarray, orientation: OrientationStage) -> None:
    skewed, _ = rotate_expanded(page, -2.5)
    presented = np.ascontiguousarray(cv2.rotate(skewed, cv2.ROTATE_90_CLOCKWISE))
    ctx = _ctx(presented)
    orientation([ctx])
    DeskewStage()([ctx])
    assert ctx.page.rotation == 90
    assert ctx.page.skew == pytest.approx(-2.5, abs=0.3)
    assert np.allclose(_map(ctx, *_marker_centre(ctx.work)), _marker_centre(presented), atol=1.5)
    # a page-relative box of a work-image region lands where the marker is on the presented page
    mx, my = _marker_centre(ctx.work)
    box = ctx.relative_bbox(np.array([[mx - 5, my - 5], [mx + 5, my + 5]]))
    px, py = _marker_centre(presented) / [presented.shape[1], presented.shape[0]]
    assert box[0] < px < box[2] and box[1] < py < box[3]


def test_compose_to_page_is_inverse_of_forward() -> None:
    forward = cv2.getRotationMatrix2D((50.0, 40.0), 7.0, 1.0)
    to_page = compose_to_page(np.eye(3)[:2], forward)
    point = np.array([12.0, 33.0, 1.0])
    moved = forward @ point
    assert np.allclose(to_page @ np.append(moved, 1.0), point[:2])


def test_orientation_leaves_pages_with_too_little_text_alone() -> None:
    import numpy as np
    from PIL import Image, ImageDraw, ImageFont

    from extractors.stages.preprocess import OrientationOptions, OrientationStage, count_glyphs

    image = Image.new("RGB", (600, 360), "white")
    font = ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", 28)
    ImageDraw.Draw(image).text((200, 150), "ua", font=font, fill="black")
    page = np.asarray(image)
    assert count_glyphs(page) == 2
    upside_down = np.zeros(4)
    upside_down[2] = 0.9  # the classifier is sure it is turned 180 degrees
    assert OrientationStage().decide(upside_down, page) == 0
    unguarded = OrientationStage(OrientationOptions(min_glyphs=0))
    assert unguarded.decide(upside_down, page) == 180  # the guard is what keeps it upright
