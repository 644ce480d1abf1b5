"""Form labels for segments: KEY (a field's label), VALUE (what was filled in), HEADER (a title).

Rules over text cues and the neighbours of each segment, in passes from the surest cue out:
1. a trailing colon or question mark makes a KEY;
2. short lines alone on their row, in capitals (two words or more) or in larger type, are
   HEADERs;
3. what lies right of a KEY on its row, or under a KEY that has nothing right of it, is a VALUE,
   unless it is made of field words ("Approved By" right of "Prepared By:" is another label);
4. then, left to right: numbers, dates and amounts are VALUEs; short text made mostly of field
   words, or in capitals, or with something right of it, is a KEY; lower-case text right of a
   KEY is its VALUE.
Everything else stays unlabelled (instructions, printed notes: FUNSD's "other").

Measured on FUNSD with Folio's OCR (see pipelines/evaluation/evaluate_forms.py): a softmax
regression over the same cues, trained on FUNSD train, labels dev no better than these rules,
so the rules stay (and no weights trained on FUNSD ship).
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Sequence

from extractors.stages.forms.layout import Neighbours
from extractors.stages.forms.segments import Segment

KEY, VALUE, HEADER = "KEY", "VALUE", "HEADER"
_LETTERS = re.compile(r"[A-Za-z]")
_DIGITS = re.compile(r"\d")
_DATE_OR_AMOUNT = re.compile(
    r"\d{1,4}[/.-]\d{1,2}[/.-]\d{2,4}|[$€£]\s?\d|\d[\d,]*\.\d\d\b|"
    r"\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.? \d{1,2}\b",
    re.I,
)
_LABEL_WORDS = re.compile(
    r"^(?:name|date|to|from|cc|re|subject|fax|phone|tel|telephone|address|city|state|zip|title|"
    r"company|signature|brand|no|number|total|amount|dept|department|attention|attn|pages?)\b",
    re.I,
)


# Words that name the fields of forms in general (written by hand from common office, order and
# application forms, not collected from an evaluation set): a short segment made mostly of them
# is a label even without a colon.
_FIELD_TEXT = """
    name names date dates address phone fax telephone tel number no nos code title company
    department dept division signature signed approved approval approvals by prepared
    submitted received requested request total totals amount cost costs quantity qty
    description type product brand project account budget remarks comments notes subject to
    from cc re city state zip country region area time hours location contact manager
    director supervisor status reason purpose period start end due ref reference file page
    pages attention attn street email initials position job vendor customer program event
    estimated actual year month day week price unit units rate size item items order issue
    effective expiration expires birth place occupation employer office branch group plan
    policy id social security ssn tax salary phone# mail person persons responsible
    authorized authorization distribution copy copies delivery instructions specifications
    spec objective objectives
"""
FIELD_WORDS = frozenset(_FIELD_TEXT.split())
_WORD = re.compile(r"[a-z#]+")


def field_word_share(text: str) -> float:
    words = _WORD.findall(text.lower())
    return sum(w in FIELD_WORDS for w in words) / len(words) if words else 0.0


def _fieldy(seg: Segment) -> bool:
    """Short text made mostly of field words: a label."""
    return len(seg.words) <= 6 and field_word_share(seg.text) >= 0.5


def _caps_share(text: str) -> float:
    letters = _LETTERS.findall(text)
    return sum(c.isupper() for c in letters) / len(letters) if letters else 0.0


def _digit_share(text: str) -> float:
    chars = [c for c in text if not c.isspace()]
    return len(_DIGITS.findall(text)) / len(chars) if chars else 0.0


def is_keylike(seg: Segment) -> bool:
    text = seg.text.rstrip()
    return text.endswith((":", "?")) and len(seg.words) <= 14


def is_valuelike(seg: Segment) -> bool:
    return _digit_share(seg.text) >= 0.4 or bool(_DATE_OR_AMOUNT.search(seg.text))


def _caps(seg: Segment) -> bool:
    """Printed form labels are often in capitals; filled-in values rarely are."""
    return _caps_share(seg.text) >= 0.6 and len(_LETTERS.findall(seg.text)) >= 2


def _set(seg: Segment, label: str, score: float) -> None:
    seg.label, seg.score = label, score


def label_segments(segs: Sequence[Segment], nb: Neighbours) -> None:
    """Set `label` and `score` of every segment (unlabelled ones keep "")."""
    if not segs:
        return
    body = statistics.median(s.height for s in segs)
    todo = [i for i, s in enumerate(segs) if not s.is_checkbox]
    for i in todo:
        if is_keylike(segs[i]):
            _set(segs[i], KEY, 0.9)
    for i in todo:
        if not segs[i].label and _is_header(segs[i], i, segs, nb, body):
            _set(segs[i], HEADER, 0.7)
    # Values of the colon keys: right of them, else under them.
    for i in todo:
        if segs[i].label != KEY:
            continue
        r, b = nb.right[i], nb.below[i]
        if r is not None and not segs[r].label and not segs[r].is_checkbox:
            if not _fieldy(segs[r]):
                _set(segs[r], VALUE, 0.8)
        elif (
            r is None
            and b is not None
            and not segs[b].label
            and not segs[b].is_checkbox
            and (not _caps(segs[b]) or is_valuelike(segs[b]))
            and not _fieldy(segs[b])
        ):
            _set(segs[b], VALUE, 0.6)
    # The rest, left to right along rows: numbers are values; text in capitals, or text with
    # something right of it, is a label; lower-case text after a label is its value.
    for i in sorted(todo, key=lambda k: (segs[k].box[0], segs[k].box[1])):
        s = segs[i]
        if s.label:
            continue
        li, ai = nb.left[i], nb.above[i]
        left = segs[li] if li is not None else None
        above = segs[ai] if ai is not None else None
        fieldy = _fieldy(s)
        if is_valuelike(s):
            _set(s, VALUE, 0.6)
        elif fieldy:
            _set(s, KEY, 0.6)
        elif left is not None and left.label == KEY and not _caps(s):
            _set(s, VALUE, 0.55)
        elif _caps(s) and len(s.words) <= 6:
            _set(s, KEY, 0.55)
        elif nb.right[i] is not None and len(s.words) <= 6 and _digit_share(s.text) < 0.3:
            _set(s, KEY, 0.5)
        elif above is not None and above.label == KEY and ai is not None and nb.right[ai] is None:
            _set(s, VALUE, 0.5)
        elif _LABEL_WORDS.match(s.text) and len(s.words) <= 4:
            _set(s, KEY, 0.5)
        elif left is not None and left.label == KEY:
            _set(s, VALUE, 0.45)


def _aligned(upper: Segment, lower: Segment) -> bool:
    """Left edges within two text heights: one column."""
    return abs(upper.box[0] - lower.box[0]) < 2 * max(upper.height, lower.height)


def _is_header(s: Segment, i: int, segs: Sequence[Segment], nb: Neighbours, body: float) -> bool:
    n_words = len(s.words)
    if n_words > 10 or _digit_share(s.text) > 0.2 or not _LETTERS.search(s.text):
        return False
    left = nb.left[i]
    if left is not None and segs[left].label == KEY:
        return False
    big = s.height > 1.25 * body
    caps = _caps_share(s.text) > 0.8 and sum(len(w.text) for w in s.words) >= 4 and n_words >= 2
    alone = nb.right[i] is None and left is None
    return (big or caps) and alone
