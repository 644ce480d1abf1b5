"""From SLANet's loose cell boxes to cells that tile the table.

SLANet's boxes are loose and leave gaps (and some empty cells' boxes are off), so the stage
assigns words to them first and to the grid they imply for the rest: one cut between each pair
of neighbouring rows (columns), from the cells' extents, so every word of the table lands in
exactly one cell. (Moving cuts into the white space between words changed nothing on PubTabNet
dev once the model's own boxes go first, so it is not done.)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from extractors.geometry import Box
from models.table_structure import StructureCell


def initial_cuts(n: int, spans: Sequence[tuple[int, int, float, float]], hi: float) -> np.ndarray:
    """n + 1 cut positions along one axis from cells' (first, span, start, end) extents. Between
    two neighbours: halfway across the gap between the furthest end of one and the nearest start
    of the next when there is such a gap, else halfway between their median end and start."""
    starts: list[list[float]] = [[] for _ in range(n)]
    ends: list[list[float]] = [[] for _ in range(n)]
    for first, span, a, b in spans:
        if b > a:
            starts[first].append(a)
            ends[first + span - 1].append(b)
    cuts = np.full(n + 1, np.nan)
    cuts[0], cuts[n] = 0.0, hi
    for k in range(1, n):
        before, after = ends[k - 1], starts[k]
        if before and after:
            if max(before) <= min(after):
                cuts[k] = (max(before) + min(after)) / 2
            else:
                cuts[k] = (float(np.median(before)) + float(np.median(after))) / 2
        elif before or after:
            cuts[k] = float(np.median(before or after))
    missing = np.isnan(cuts)
    if missing.any():
        index = np.arange(n + 1)
        cuts[missing] = np.interp(index[missing], index[~missing], cuts[~missing])
    return np.clip(np.maximum.accumulate(cuts), 0.0, hi)


def tile_cells(cells: Sequence[StructureCell], width: int, height: int) -> list[Box]:
    """Cell boxes (crop pixels) that tile the crop."""
    n_rows = max(c.row + c.row_span for c in cells)
    n_cols = max(c.col + c.col_span for c in cells)
    rows = initial_cuts(n_rows, [(c.row, c.row_span, c.box[1], c.box[3]) for c in cells], height)
    cols = initial_cuts(n_cols, [(c.col, c.col_span, c.box[0], c.box[2]) for c in cells], width)
    return [
        (cols[c.col], rows[c.row], cols[c.col + c.col_span], rows[c.row + c.row_span])
        for c in cells
    ]
