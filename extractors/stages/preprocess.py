"""Preprocessing of scanned pages: turn them upright (`preprocess.orientation`), then straighten
small skew (`preprocess.deskew`).

Both stages rotate `ctx.work` and compose the inverse into `ctx.to_page` (work pixels -> presented
page pixels), so later stages keep writing boxes in the input's own frame. Coordinates are
continuous (pixel edges): a w-pixel wide image spans x in [0, w].
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, ClassVar

import cv2
import numpy as np

from extractors.stage import IMAGE, PageContext, PageStage, StageOptions, register
from models.runtime import DEFAULT_RUNTIME, Runtime

logger = logging.getLogger(__name__)

# cv2.rotate code that undoes content turned clockwise by the key's degrees.
_UNDO = {
    90: cv2.ROTATE_90_COUNTERCLOCKWISE,
    180: cv2.ROTATE_180,
    270: cv2.ROTATE_90_CLOCKWISE,
}


def _as3(affine: np.ndarray) -> np.ndarray:
    return np.vstack([np.asarray(affine, dtype=np.float64), [0.0, 0.0, 1.0]])


def compose_to_page(to_page: np.ndarray, forward: np.ndarray) -> np.ndarray:
    """New `to_page` after the work image is transformed by `forward` (old work -> new work)."""
    return (_as3(to_page) @ np.linalg.inv(_as3(forward)))[:2]


def undo_rotation_affine(degrees: int, width: int, height: int) -> np.ndarray:
    """Forward 2x3 affine of `cv2.rotate(image, _UNDO[degrees])` on a width x height image."""
    if degrees == 90:  # rotate counter-clockwise: (x, y) -> (y, w - x)
        return np.array([[0.0, 1.0, 0.0], [-1.0, 0.0, float(width)]])
    if degrees == 180:
        return np.array([[-1.0, 0.0, float(width)], [0.0, -1.0, float(height)]])
    if degrees == 270:  # rotate clockwise: (x, y) -> (h - y, x)
        return np.array([[0.0, -1.0, float(height)], [1.0, 0.0, 0.0]])
    return np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])


def _binary_ink(image: np.ndarray, long_side: int) -> tuple[np.ndarray, float]:
    """Downscaled 0/1 ink mask (Otsu) and the scale used."""
    grey = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    scale = min(1.0, long_side / max(grey.shape[:2]))
    if scale < 1.0:
        grey = cv2.resize(grey, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    _, mask = cv2.threshold(grey, 0, 1, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    return mask, scale


def count_glyphs(image: np.ndarray, long_side: int = 800) -> int:
    """Connected ink blobs of a plausible glyph size on the downscaled page."""
    mask, _ = _binary_ink(image, long_side)
    n, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    heights = stats[1:, cv2.CC_STAT_HEIGHT]
    return int(np.count_nonzero((heights >= 3) & (heights <= mask.shape[0] // 4))) if n > 1 else 0


def _ink_points(image: np.ndarray, long_side: int, max_points: int) -> tuple[np.ndarray, ...]:
    """Centred x, y of (at most max_points sampled) ink pixels of the downscaled page."""
    mask, _ = _binary_ink(image, long_side)
    ys, xs = np.nonzero(mask)
    if xs.size > max_points:
        pick = np.random.default_rng(0).choice(xs.size, max_points, replace=False)
        xs, ys = xs[pick], ys[pick]
    return xs - mask.shape[1] / 2.0, ys - mask.shape[0] / 2.0


def _profile_sharpness(x: np.ndarray, y: np.ndarray, angle: float) -> float:
    """Sum of squared differences of the row profile of points along lines rising at `angle`
    degrees (CCW on screen): high when ink alternates with gaps (text lines vs. leading)."""
    t = np.deg2rad(angle)
    # A line rising to the right at `angle` (y down) has constant y*cos + x*sin along it.
    rows = np.floor(y * np.cos(t) + x * np.sin(t)).astype(np.int64)
    hist = np.bincount(rows - rows.min()).astype(np.float64)
    return float((np.diff(hist) ** 2).sum())


def line_axis_score(image: np.ndarray, max_skew: float = 10.0) -> float:
    """log(best row-profile sharpness / best column-profile sharpness) over skews within
    ±max_skew: > 0 when text lines run horizontally.

    Cheap sanity check for the orientation classifier. Maximising over skew matters: at 2.5
    degrees a plain row profile is already smeared and the sign can flip. On upright forms and
    articles the score is clearly positive; on receipts it is often near 0, so only large
    values are trusted.
    """
    # Fine steps matter more than many points: 0.5 degree off already smears lines on a page.
    x, y = _ink_points(image, 800, 30_000)
    if x.size < 50:
        return 0.0
    angles = np.arange(-max_skew, max_skew + 1e-9, 0.25)
    rows = max(_profile_sharpness(x, y, a) for a in angles)
    cols = max(_profile_sharpness(y, x, a) for a in angles)
    return float(np.log((rows + 1e-9) / (cols + 1e-9)))


class OrientationOptions(StageOptions):
    min_confidence: float = 0.5
    """Mean tile probability the predicted rotation needs; below it the page is left as is.
    The classifier's softmax tops out near 0.93 and correct turns of real scans went as low as
    0.59 (FUNSD/SROIE dev), so a high bar like 0.85 left a quarter of turned pages unturned."""
    axis_check_margin: float = 1.0
    """Veto a 90/270 turn when line_axis_score > margin (lines already horizontal), and a 180
    turn when it is < -margin. 0 disables the check."""
    short_side: int = 512
    max_tiles: int = 4
    min_glyphs: int = 20
    """Pages with fewer ink blobs than this (a page number, a two-letter label) are left alone:
    too little text to tell up from down ("ua" upside down reads "en")."""


@register
class OrientationStage(PageStage[OrientationOptions]):
    """Turns scanned pages upright (content rotated by 90/180/270 degrees clockwise)."""

    kind: ClassVar[str] = "preprocess.orientation"
    version: ClassVar[str] = "1"
    requires: ClassVar[tuple[str, ...]] = (IMAGE,)
    produces: ClassVar[tuple[str, ...]] = ("page.rotation", "work_image")
    Options: ClassVar[type[StageOptions]] = OrientationOptions
    batch_size: ClassVar[int] = 16

    def __init__(
        self, options: OrientationOptions | None = None, runtime: Runtime = DEFAULT_RUNTIME
    ) -> None:
        super().__init__(options, runtime)
        self._model: Any = None

    @property
    def model(self) -> Any:
        if self._model is None:  # lazy: building a profile must not load weights
            from models.orientation import OrientationClassifier

            self._model = OrientationClassifier(
                short_side=self.options.short_side,
                max_tiles=self.options.max_tiles,
                runtime=self.runtime,
            )
        return self._model

    def applies_to(self, ctx: PageContext) -> bool:
        return not ctx.text_layer_usable

    def predict(self, batch: Sequence[PageContext]) -> list[Any]:
        return list(self.model([ctx.work for ctx in batch]))

    def decide(self, probs: np.ndarray, image: np.ndarray) -> int:
        """Degrees to undo (0 = leave the page alone)."""
        from models.orientation import ORIENTATIONS

        best = int(np.argmax(probs))
        degrees = ORIENTATIONS[best]
        if degrees == 0 or float(probs[best]) < self.options.min_confidence:
            return 0
        if count_glyphs(image) < self.options.min_glyphs:
            logger.info("orientation %d ignored: too little text on the page", degrees)
            return 0
        margin = self.options.axis_check_margin
        if margin > 0:
            score = line_axis_score(image)
            if (degrees in (90, 270) and score > margin) or (degrees == 180 and score < -margin):
                logger.info("orientation %d vetoed: line axis score %.2f", degrees, score)
                return 0
        return degrees

    def annotate(self, batch: Sequence[PageContext], predictions: Sequence[Any]) -> None:
        for ctx, probs in zip(batch, predictions, strict=True):
            degrees = self.decide(np.asarray(probs), ctx.work)
            if degrees == 0:
                continue
            work = ctx.work
            h, w = work.shape[:2]
            ctx.work_image = np.ascontiguousarray(cv2.rotate(work, _UNDO[degrees]))
            ctx.to_page = compose_to_page(ctx.to_page, undo_rotation_affine(degrees, w, h))
            ctx.page.rotation = (ctx.page.rotation + degrees) % 360


def estimate_skew(
    image: np.ndarray, max_angle: float = 10.0, long_side: int = 1200, max_points: int = 200_000
) -> float:
    """Skew of text lines in degrees, counter-clockwise positive (as seen on screen).

    Projection-profile method on ink points: for each candidate angle, project the points onto
    the axis perpendicular to that direction and keep the angle whose row histogram is sharpest
    (coarse 0.5 degree grid, then 0.05 degree refinement). Projecting points instead of rotating
    the image makes each angle one bincount.
    """
    x, y = _ink_points(image, long_side, max_points)
    if x.size < 50:
        return 0.0

    def score(angle: float) -> float:
        return _profile_sharpness(x, y, angle)

    coarse = np.arange(-max_angle, max_angle + 1e-9, 0.5)
    best = float(coarse[int(np.argmax([score(a) for a in coarse]))])
    fine = np.arange(best - 0.5, best + 0.5 + 1e-9, 0.05)
    return float(fine[int(np.argmax([score(a) for a in fine]))])


def rotate_expanded(image: np.ndarray, angle: float) -> tuple[np.ndarray, np.ndarray]:
    """Rotate by `angle` degrees (CCW positive), growing the canvas so no content is cut.

    Returns the image and the forward 2x3 affine (old pixels -> new pixels). The new border is
    filled with the page's background (a bright percentile of its grey levels).
    """
    h, w = image.shape[:2]
    forward = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    cos, sin = abs(forward[0, 0]), abs(forward[0, 1])
    new_w, new_h = int(np.ceil(h * sin + w * cos)), int(np.ceil(h * cos + w * sin))
    forward[0, 2] += new_w / 2 - w / 2
    forward[1, 2] += new_h / 2 - h / 2
    grey = image if image.ndim == 2 else image.mean(axis=2)
    fill = float(np.percentile(grey[:: max(1, h // 200), :: max(1, w // 200)], 95))
    border = (fill,) * (1 if image.ndim == 2 else image.shape[2])
    rotated = cv2.warpAffine(
        image, forward, (new_w, new_h), flags=cv2.INTER_LINEAR, borderValue=border
    )
    return rotated, forward


class DeskewOptions(StageOptions):
    max_angle: float = 10.0
    """Search range in degrees (either way)."""
    min_angle: float = 0.3
    """Below this the page is left untouched (resampling costs more than it gains)."""
    only_scanned: bool = True
    """Skip pages with a usable text layer (rendered PDFs are not skewed)."""


@register
class DeskewStage(PageStage[DeskewOptions]):
    """Straightens small skew (within ±max_angle) of scanned pages."""

    kind: ClassVar[str] = "preprocess.deskew"
    version: ClassVar[str] = "1"
    requires: ClassVar[tuple[str, ...]] = (IMAGE,)
    produces: ClassVar[tuple[str, ...]] = ("page.skew", "work_image")
    Options: ClassVar[type[StageOptions]] = DeskewOptions
    batch_size: ClassVar[int] = 16

    def applies_to(self, ctx: PageContext) -> bool:
        return not (self.options.only_scanned and ctx.text_layer_usable)

    def predict(self, batch: Sequence[PageContext]) -> list[Any]:
        return [estimate_skew(ctx.work, self.options.max_angle) for ctx in batch]

    def annotate(self, batch: Sequence[PageContext], predictions: Sequence[Any]) -> None:
        for ctx, angle in zip(batch, predictions, strict=True):
            # An estimate at the edge of the range is more likely a table rule or a photo edge.
            if abs(angle) < self.options.min_angle or abs(angle) >= self.options.max_angle:
                continue
            # Rotating clockwise by the skew (i.e. by -angle CCW) makes the lines horizontal.
            rotated, forward = rotate_expanded(ctx.work, -angle)
            ctx.work_image = rotated
            ctx.to_page = compose_to_page(ctx.to_page, forward)
            ctx.page.skew = round(float(angle), 2)
