"""Numbers that describe a form segment to a learned labeller (models/feature_classifier.py).

Each segment becomes one fixed-length vector, built only from the page (no dataset, no
vocabulary to ship), so a model trained on one workspace's reviewed forms applies to any page:
- the rules' own reading: their label (one-hot) and score, and the cues they use (trailing
  colon or question mark, digits, capitals, field words, dates and amounts, check boxes);
- size and place: width, height against the page's body text, position, lines spanned;
- the four neighbours (right, left, above, below; forms/layout.py): whether there is one, its
  rule label, its cues and how far it is.
The words themselves are not features: hashed word buckets were tried on FUNSD (20 and 119
training forms) and made dev labelling worse from 20 forms and no better from 119.
"""

from __future__ import annotations

import math
import re
import statistics
from collections.abc import Sequence

import numpy as np

from extractors.stages.forms.labels import (
    HEADER,
    KEY,
    VALUE,
    field_word_share,
    is_keylike,
    is_valuelike,
)
from extractors.stages.forms.layout import Neighbours
from extractors.stages.forms.segments import Segment

LABELS = ("", KEY, VALUE, HEADER)  # class order of every model: "" is unlabelled
RULE_COLUMNS = tuple(range(len(LABELS)))
FEATURES_VERSION = "1"  # bump when the vector changes: models record the version they read
_LETTER = re.compile(r"[^\W\d_]")
_DIGIT = re.compile(r"\d")
_LIST_START = re.compile(r"^(?:\(?\d{1,2}[.)]|\(?[a-hA-H][.)]|[-•*])\s")


def _share(pattern: re.Pattern[str], text: str) -> float:
    chars = [c for c in text if not c.isspace()]
    return len(pattern.findall(text)) / len(chars) if chars else 0.0


def _caps_share(text: str) -> float:
    letters = _LETTER.findall(text)
    return sum(c.isupper() for c in letters) / len(letters) if letters else 0.0


def _one_hot(label: str) -> list[float]:
    return [float(label == name) for name in LABELS]


def _cues(s: Segment, body: float) -> list[float]:
    text = s.text.rstrip()
    return [
        float(text.endswith(":")),
        float(text.endswith("?")),
        float(":" in text[:-1]),
        float(is_keylike(s)),
        float(is_valuelike(s)),
        float(s.is_checkbox),
        float(s.after_colon),
        float(bool(_LIST_START.match(text + " "))),
        _share(_DIGIT, text),
        _share(_LETTER, text),
        _caps_share(text),
        field_word_share(text),
        math.log1p(len(s.words)),
        math.log1p(s.lines - 1),
        math.log(max(s.height, 1e-6) / body),
    ]


def _box(s: Segment) -> list[float]:
    x0, y0, x1, y1 = s.box
    return [x0, y0, x1, y1, x1 - x0, (x0 + x1) / 2]


def _neighbour(segs: Sequence[Segment], i: int, j: int | None, body: float) -> list[float]:
    if j is None:
        return [0.0] * (1 + len(LABELS) + 5)
    a, b, n = segs[i].box, segs[j].box, segs[j]
    text = n.text.rstrip()
    gap = max(b[0] - a[2], a[0] - b[2], b[1] - a[3], a[1] - b[3], 0.0)
    return [
        1.0,
        *_one_hot(n.label),
        float(text.endswith((":", "?"))),
        float(is_valuelike(n)),
        _caps_share(text),
        field_word_share(text),
        min(gap / body, 20.0) / 20.0,
    ]


def segment_features(segs: Sequence[Segment], nb: Neighbours) -> np.ndarray:
    """One row per segment (after the rules labelled them: their labels are features). The
    first `len(LABELS)` columns are the rules' label, one-hot (`RULE_COLUMNS`)."""
    if not segs:
        return np.zeros((0, n_features()), dtype=np.float32)
    body = max(statistics.median(s.height for s in segs), 1e-6)
    rows = []
    for i, s in enumerate(segs):
        row = [*_one_hot(s.label), s.score, *_cues(s, body), *_box(s)]
        for links in (nb.right, nb.left, nb.above, nb.below):
            row += _neighbour(segs, i, links[i], body)
        rows.append(row)
    return np.asarray(rows, dtype=np.float32)


def n_features() -> int:
    return len(LABELS) + 1 + 15 + 6 + 4 * (1 + len(LABELS) + 5)


__all__ = [
    "FEATURES_VERSION",
    "HEADER",
    "KEY",
    "LABELS",
    "RULE_COLUMNS",
    "VALUE",
    "n_features",
    "segment_features",
]
