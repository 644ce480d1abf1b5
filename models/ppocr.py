"""PP-OCRv6 small text detection and recognition on onnxruntime: arrays in, arrays out.

Images are HxWx3 uint8 RGB (the project's convention); the PaddleOCR models were trained on
BGR (cv2.imread), so both classes flip channels before inference. The DB post-processing comes
from rapidocr (pinned), but the sessions are ours: rapidocr never resolves or downloads a model.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from rapidocr.ch_ppocr_det.utils import DBPostProcess

from models.assets import model_path
from models.runtime import DEFAULT_RUNTIME, Runtime, session

REC_HEIGHT = 48  # the recognition model's fixed input height
TALL_CROP_RATIO = 1.5  # crops at least this much taller than wide are read rotated (as PaddleOCR)


@dataclass(frozen=True)
class Detection:
    """Text line quads (N x 4 x 2, clockwise from top-left, input-image pixels) and scores."""

    quads: np.ndarray
    scores: np.ndarray

    def __len__(self) -> int:
        return len(self.quads)


@dataclass(frozen=True)
class Recognition:
    """One line's text, its mean character probability, and per-character extents.

    `char_spans` is N x 2 (x0, x1) in the crop's pixels, one row per character of `text`
    (spaces included), derived from the CTC columns that emitted each character.
    """

    text: str
    confidence: float
    char_probs: np.ndarray
    char_spans: np.ndarray
    narrow: Recognition | None = None  # the reading without East Asian wide characters


def _to_bgr(image: np.ndarray) -> np.ndarray:
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    return np.ascontiguousarray(image[:, :, 2::-1])


def detection_size(height: int, width: int, max_side: int, min_side: int = 0) -> tuple[int, int]:
    """The (h, w) the detector runs at: long side <= max_side, short side grown towards
    min_side when the long side allows it, both multiples of 32 (the network's stride)."""
    scale = min(1.0, max_side / max(height, width))
    if min_side and min(height, width) * scale < min_side:
        scale = min(min_side / min(height, width), max_side / max(height, width))
    return scaled_size(height, width, scale)


def scaled_size(height: int, width: int, scale: float) -> tuple[int, int]:
    """(h, w) of the image scaled by `scale`, rounded to multiples of 32 (the network's stride)."""
    h = max(32, round(height * scale / 32) * 32)
    w = max(32, round(width * scale / 32) * 32)
    return h, w


def line_heights(quads: np.ndarray) -> np.ndarray:
    """Each quad's extent across its text (the shorter pair of sides), in the quads' pixels."""
    if len(quads) == 0:
        return np.zeros(0, np.float32)
    q = np.asarray(quads, dtype=np.float32).reshape(-1, 4, 2)
    across = np.linalg.norm(q[:, 3] - q[:, 0], axis=1) + np.linalg.norm(q[:, 2] - q[:, 1], axis=1)
    along = np.linalg.norm(q[:, 1] - q[:, 0], axis=1) + np.linalg.norm(q[:, 2] - q[:, 3], axis=1)
    return np.minimum(across, along) / 2


@dataclass(frozen=True)
class TextScale:
    """How the detector picks its resolution from the text it sees.

    A first pass at most `probe_side` on the long side measures the median line height; the
    page is then detected again at the scale that gives lines `line_height` pixels, bounded by
    `max_upscale` and by `max_pixels` of detector input. Text size, not page size, is what DB
    is sensitive to: one fixed long-side cap shrinks tall receipts and small print too far
    while it wastes pixels on big, sparse print. Heights are those of DB's boxes at the probe's
    resolution, which run taller than the ink when the probe is coarse, so one step lands a
    little below `line_height` on small print (on 60 SROIE train pages 32 and 44 read the same).
    """

    probe_side: int = 960
    line_height: float = 32.0
    max_upscale: float = 2.0
    max_pixels: int = 2_500_000
    min_lines: int = 3  # fewer lines than this say too little about the text size
    tolerance: float = 1.25  # rescale only when the wanted scale differs by more than this

    def scale_for(self, height: int, width: int, heights: np.ndarray) -> float | None:
        """The scale for the second pass (image pixels -> detector pixels), or None when the
        probe is already about right (or saw too few lines to tell)."""
        probe = min(1.0, self.probe_side / max(height, width))
        if len(heights) < self.min_lines:
            return None
        wanted = self.line_height / max(1.0, float(np.median(heights)))
        budget = math.sqrt(self.max_pixels / (height * width))
        scale = min(wanted, self.max_upscale, budget)
        if max(scale / probe, probe / scale) < self.tolerance:
            return None
        return scale


class PpOcrDetector:
    """DB text-line detector; quads come back in the input's pixels.

    Without `text_scale` the input is resized so its long side is at most `max_side` (and the
    short side grown towards `min_side`); with it, the resolution follows the text size.
    """

    def __init__(
        self,
        model: Path | None = None,
        max_side: int = 960,
        min_side: int = 0,
        thresh: float = 0.3,
        box_thresh: float = 0.5,
        unclip_ratio: float = 1.6,
        use_dilation: bool = True,
        max_candidates: int = 1000,
        text_scale: TextScale | None = None,
        runtime: Runtime = DEFAULT_RUNTIME,
    ) -> None:
        if max_side < 32 or max_side % 32:
            raise ValueError(f"max_side must be a positive multiple of 32, got {max_side}")
        self.session = session(model or model_path("ppocr_det"), runtime)
        self.max_side, self.min_side = max_side, min_side
        self.text_scale = text_scale
        self.postprocess = DBPostProcess(
            thresh=thresh,
            box_thresh=box_thresh,
            max_candidates=max_candidates,
            unclip_ratio=unclip_ratio,
            score_mode="fast",
            use_dilation=use_dilation,
        )

    def preprocess(self, image: np.ndarray, size: tuple[int, int] | None = None) -> np.ndarray:
        height, width = image.shape[:2]
        h, w = size or detection_size(height, width, self.max_side, self.min_side)
        # INTER_AREA when shrinking: linear resampling of big scans aliases thin strokes away.
        interp = cv2.INTER_AREA if h * w < height * width else cv2.INTER_LINEAR
        resized = _to_bgr(cv2.resize(image, (w, h), interpolation=interp))
        tensor = (resized.astype(np.float32) / 127.5 - 1.0).transpose(2, 0, 1)
        return tensor[np.newaxis]

    def detect_at(self, image: np.ndarray, size: tuple[int, int]) -> Detection:
        """One detector pass with the input resized to `size` (h, w)."""
        height, width = image.shape[:2]
        (prob,) = self.session.run(None, {"x": self.preprocess(image, size)})
        boxes, scores = self.postprocess(prob, (height, width))
        if len(boxes) == 0:
            return Detection(np.zeros((0, 4, 2), np.float32), np.zeros(0, np.float32))
        quads = np.asarray(boxes, dtype=np.float32).reshape(-1, 4, 2)
        order = np.lexsort((quads[:, 0, 0], quads[:, 0, 1]))  # top-to-bottom, then left
        return Detection(quads[order], np.asarray(scores, dtype=np.float32)[order])

    def __call__(self, image: np.ndarray) -> Detection:
        height, width = image.shape[:2]
        if self.text_scale is None:
            return self.detect_at(
                image, detection_size(height, width, self.max_side, self.min_side)
            )
        probe = self.detect_at(image, detection_size(height, width, self.text_scale.probe_side))
        scale = self.text_scale.scale_for(height, width, line_heights(probe.quads))
        if scale is None:
            return probe
        return self.detect_at(image, scaled_size(height, width, scale))


def pad_quad(quad: np.ndarray, pad: float) -> np.ndarray:
    """The quad grown on every side by `pad` times its height (its extent across the text)."""
    q = np.asarray(quad, dtype=np.float64).reshape(4, 2)
    if pad <= 0:
        return q.astype(np.float32)
    along = (q[1] - q[0] + q[2] - q[3]) / 2
    across = (q[3] - q[0] + q[2] - q[1]) / 2
    height = min(np.linalg.norm(along), np.linalg.norm(across))
    u = along / max(1e-6, np.linalg.norm(along)) * pad * height
    v = across / max(1e-6, np.linalg.norm(across)) * pad * height
    return (q + np.array([-u - v, u - v, u + v, -u + v])).astype(np.float32)


def crop_quad(image: np.ndarray, quad: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rectify a text quad into an upright crop, rotating tall crops to read horizontally.

    Returns the crop and the 3x3 homography mapping crop pixels back to image pixels.
    """
    quad = np.asarray(quad, dtype=np.float32).reshape(4, 2)
    width = max(np.linalg.norm(quad[0] - quad[1]), np.linalg.norm(quad[2] - quad[3]))
    height = max(np.linalg.norm(quad[0] - quad[3]), np.linalg.norm(quad[1] - quad[2]))
    if height >= TALL_CROP_RATIO * width:
        # Same as np.rot90 of the upright crop: the quad's top-right corner becomes top-left.
        quad = quad[[1, 2, 3, 0]]
        width, height = height, width
    w, h = max(1, round(width)), max(1, round(height))
    target = np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=np.float32)
    forward = cv2.getPerspectiveTransform(quad, target)
    crop = cv2.warpPerspective(
        image, forward, (w, h), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE
    )
    return crop, np.linalg.inv(forward)


def map_points(homography: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Apply a 3x3 homography to N x 2 points."""
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    mapped = np.c_[pts, np.ones(len(pts))] @ homography.T
    return mapped[:, :2] / mapped[:, 2:3]


class PpOcrRecognizer:
    """CRNN/SVTR line recognizer with CTC greedy decoding, batched across many crops.

    Crops are sorted by aspect ratio so each batch pads little, resized to height 48 and padded
    on the right to the batch's widest crop (at least `min_width`: the model was trained on
    320-wide inputs, though on receipts and forms short crops read as well unpadded).

    With `narrow_lines`, a line whose greedy reading holds East Asian wide characters (CJK,
    kana, hangul, full-width forms) is also decoded without those classes (`Recognition.narrow`):
    the model is Chinese-first, and in Latin text its stray wide characters are look-alike
    errors ('：' for ':', '二' for '='). Which reading to keep needs the page: the caller picks.
    """

    def __init__(
        self,
        model: Path | None = None,
        batch_size: int = 16,
        min_width: int = 0,
        max_width_per_crop: int = 640,
        narrow_lines: bool = True,
        runtime: Runtime = DEFAULT_RUNTIME,
    ):
        self.session = session(model or model_path("ppocr_rec"), runtime)
        self.batch_size = max(1, batch_size)
        self.min_width = min_width
        self.max_width_per_crop = max_width_per_crop
        self.characters = self.read_characters(self.session.get_modelmeta().custom_metadata_map)
        self.wide = wide_classes(self.characters) if narrow_lines else None

    @staticmethod
    def read_characters(metadata: dict[str, str]) -> list[str]:
        """Class index -> character: 0 is the CTC blank, the dictionary follows, and the
        model's last class is a space that the dictionary itself does not list."""
        if "character" not in metadata:
            raise ValueError("recognition model has no 'character' metadata")
        return ["", *metadata["character"].splitlines(), " "]

    def _resize(self, crop: np.ndarray) -> np.ndarray:
        h, w = crop.shape[:2]
        width = max(1, math.ceil(REC_HEIGHT * w / h))
        interp = cv2.INTER_AREA if h > 2 * REC_HEIGHT else cv2.INTER_LINEAR
        return _to_bgr(cv2.resize(crop, (width, REC_HEIGHT), interpolation=interp))

    def __call__(self, crops: Sequence[np.ndarray]) -> list[Recognition]:
        order = np.argsort([c.shape[1] / max(1, c.shape[0]) for c in crops], kind="stable")
        results: list[Recognition | None] = [None] * len(crops)
        for chunk in self._batches(crops, [int(i) for i in order]):
            resized = [self._resize(crops[i]) for i in chunk]
            width = max(self.min_width, max(r.shape[1] for r in resized))
            width = math.ceil(width / 8) * 8  # the network downsamples the width by 8
            # Zero after normalisation is mid-grey: the padding PaddleOCR trained with.
            batch = np.zeros((len(chunk), 3, REC_HEIGHT, width), dtype=np.float32)
            for row, image in enumerate(resized):
                batch[row, :, :, : image.shape[1]] = image.transpose(2, 0, 1) / 127.5 - 1.0
            (probs,) = self.session.run(None, {"x": batch})
            column_px = width / probs.shape[1]  # resized-crop pixels per CTC column
            for row, index in enumerate(chunk):
                scale = crops[index].shape[1] / resized[row].shape[1]
                results[index] = self.decode(probs[row], column_px * scale, crops[index].shape[1])
        return [r for r in results if r is not None]

    def _batches(self, crops: Sequence[np.ndarray], order: list[int]) -> Iterator[list[int]]:
        """Up to `batch_size` crops, fewer for long lines: the batch's padded width times its
        size stays under `batch_size * max_width_per_crop`, which bounds activation memory
        (onnxruntime's arena keeps the largest batch's peak for the life of the process)."""
        budget = self.batch_size * self.max_width_per_crop
        chunk: list[int] = []
        for index in order:  # ascending aspect ratio: the last crop is the widest so far
            crop = crops[index]
            width = max(
                self.min_width, math.ceil(REC_HEIGHT * crop.shape[1] / max(1, crop.shape[0]))
            )
            if chunk and (len(chunk) >= self.batch_size or (len(chunk) + 1) * width > budget):
                yield chunk
                chunk = []
            chunk.append(index)
        if chunk:
            yield chunk

    def decode(self, probs: np.ndarray, column_width: float, crop_width: int) -> Recognition:
        """Greedy CTC: best class per column, collapse repeats, drop blanks.

        `column_width` is how many crop pixels one CTC column covers.
        """
        best = probs.argmax(axis=1)  # once per line: over ~18k classes it is the decoder's cost
        narrow = None
        if self.wide is not None and self.wide[best].any():
            without_wide = np.where(self.wide, 0.0, probs)
            narrow = self._greedy(
                without_wide, without_wide.argmax(axis=1), column_width, crop_width
            )
        return self._greedy(probs, best, column_width, crop_width, narrow)

    def _greedy(
        self,
        probs: np.ndarray,
        best: np.ndarray,
        column_width: float,
        crop_width: int,
        narrow: Recognition | None = None,
    ) -> Recognition:
        best_prob = probs[np.arange(len(best)), best]
        keep = best != 0
        keep[1:] &= best[1:] != best[:-1]
        columns = np.flatnonzero(keep)
        text = "".join(self.characters[k] for k in best[columns])
        char_probs = best_prob[columns].astype(np.float32)
        confidence = float(char_probs.mean()) if len(columns) else 0.0
        spans = char_spans(columns, column_width, crop_width)
        return Recognition(text, confidence, char_probs, spans, narrow)


def is_wide(char: str) -> bool:
    """East Asian wide or full-width (Unicode East_Asian_Width W or F): CJK, kana, hangul..."""
    return any(unicodedata.east_asian_width(c) in "WF" for c in char)


def wide_classes(characters: Sequence[str]) -> np.ndarray:
    """Mask of the classes whose character is wide."""
    return np.array([is_wide(char) for char in characters], dtype=bool)


def char_spans(columns: np.ndarray, column_width: float, crop_width: int) -> np.ndarray:
    """Per-character (x0, x1) in crop pixels: a character spans from the midpoint to its left
    neighbour's column to the midpoint to its right one; the outer ends get the median gap."""
    if len(columns) == 0:
        return np.zeros((0, 2), np.float32)
    centers = (columns.astype(np.float64) + 0.5) * column_width
    gaps = np.diff(centers)
    half = float(np.median(gaps)) / 2 if len(gaps) else column_width
    bounds = np.concatenate(
        [[centers[0] - half], (centers[:-1] + centers[1:]) / 2, [centers[-1] + half]]
    )
    bounds = np.clip(bounds, 0, crop_width)
    return np.stack([bounds[:-1], bounds[1:]], axis=1).astype(np.float32)
