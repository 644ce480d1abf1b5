"""Confidence calibrated on a workspace's own reviews (`folio calibrate`).

A reviewed element is right when the reviewer accepted it as-is and wrong when they corrected
or deleted it (`review_outcomes`, docs/sql.md). Per element type and stage (`word:ocr.ppocr`,
`field:fields.invoice`, ...) an isotonic map is fitted on four documents in five and its
expected calibration error reported before and after on the fifth (held back by document, so
one long document cannot sit on both sides). The maps go to `<workspace>/calibration.json`
(written atomically; the database stays the loader's); the review app turns its one setting,
the reliability a reviewer wants (`FOLIO_REVIEW_TARGET`, default 0.9), into a raw confidence
threshold per stage through them.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pipelines.evaluation.calibration import (
    Calibration,
    expected_calibration_error,
    fit_isotonic,
)
from pipelines.store.database import query
from pipelines.store.workspace import Workspace, atomic_write_json

CALIBRATION_FILE = "calibration.json"
REVIEWS = "reviews"  # the origin of maps fitted on the workspace's own reviews
MIN_ITEMS = 50  # reviewed items of one kind before a map is worth fitting
HELD_BACK = 5  # one document in five is held back for the "after" figure

OUTCOMES_SQL = """
SELECT target_type, stage, document_id, confidence, outcome = 'accepted' AS accepted
FROM review_outcomes
WHERE target_type IN ('word', 'line', 'cell', 'entity', 'field')
  AND outcome IN ('accepted', 'corrected', 'deleted') AND confidence IS NOT NULL
"""


@dataclass(frozen=True)
class Fitted:
    key: str  # "<target_type>:<stage>"
    calibration: Calibration
    n: int
    held_back: int
    ece_before: float
    ece_after: float


def _held_back(document_id: str) -> bool:
    return int(hashlib.sha256(document_id.encode()).hexdigest(), 16) % HELD_BACK == 0


def fit_workspace(workspace: Workspace, min_items: int = MIN_ITEMS) -> list[Fitted]:
    rows = query(workspace, OUTCOMES_SQL).to_pylist()
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(f"{row['target_type']}:{row['stage']}", []).append(row)
    fitted = []
    for key, items in sorted(groups.items()):
        if len(items) < min_items:
            continue
        train = [r for r in items if not _held_back(r["document_id"])]
        test = [r for r in items if _held_back(r["document_id"])] or train
        calibration = fit_isotonic([r["confidence"] for r in train], [r["accepted"] for r in train])
        confidences = [r["confidence"] for r in test]
        right = [bool(r["accepted"]) for r in test]
        fitted.append(
            Fitted(
                key,
                calibration,
                len(items),
                len(test),
                expected_calibration_error(confidences, right),
                expected_calibration_error([calibration(c) for c in confidences], right),
            )
        )
    return fitted


def write_calibration(
    workspace: Workspace,
    fitted: list[Fitted],
    origin: str = REVIEWS,
    stage_versions: dict[str, str] | None = None,
) -> Path:
    """Store maps in the workspace, beside the ones already there: a key fitted now replaces
    its old map, except that a map fitted on a public dataset never replaces one fitted on the
    workspace's own reviews (they know its documents)."""
    path = workspace.root / CALIBRATION_FILE
    maps = _stored_maps(path)
    for f in fitted:
        mine = f.key in maps and maps[f.key].get("origin", REVIEWS) == REVIEWS
        if origin != REVIEWS and mine:
            continue
        maps[f.key] = {
            **f.calibration.to_json(),
            "n": f.n,
            "held_back": f.held_back,
            "ece_before": round(f.ece_before, 5),
            "ece_after": round(f.ece_after, 5),
            "origin": origin,
            "stage_version": (stage_versions or {}).get(f.key),
        }
    atomic_write_json(path, {"fitted_at": datetime.now(UTC).isoformat(), "maps": maps})
    return path


def _stored_maps(path: Path) -> dict[str, dict[str, Any]]:
    try:
        maps = json.loads(path.read_text()).get("maps") or {}
    except (FileNotFoundError, ValueError, AttributeError):
        return {}
    return dict(maps) if isinstance(maps, dict) else {}


def read_calibration(workspace: Workspace) -> dict[str, Calibration]:
    """The workspace's maps by `<target_type>:<stage>` (none when never calibrated)."""
    path = workspace.root / CALIBRATION_FILE
    try:
        data = json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        return {}
    return {key: Calibration.from_json(value) for key, value in (data.get("maps") or {}).items()}


def raw_thresholds(
    calibrations: dict[str, Calibration], target_type: str, target: float
) -> dict[str, float]:
    """Per stage, the raw confidence under which an element of this type is less likely right
    than `target` (stages without a map are not listed: their raw confidence stands)."""
    prefix = f"{target_type}:"
    return {
        key[len(prefix) :]: calibration.threshold(target)
        for key, calibration in calibrations.items()
        if key.startswith(prefix)
    }
