"""Key -> value links: each VALUE goes to the KEY it answers, by geometry and reading order.

A value's key is the KEY right before it on its row (left of it; a row label takes the values
of every column after it), else the nearest KEY above it that has no value of its own on its
row; a key may take several values under it (a list of answers), one value has one key.
"""

from __future__ import annotations

from collections.abc import Sequence

from extractors.stages.forms.labels import KEY, VALUE
from extractors.stages.forms.layout import Neighbours
from extractors.stages.forms.segments import Segment

# A key takes values stacked under it down to this many text heights below its last value.
MAX_STACK_GAP = 2.5


def _under(key: Segment, value: Segment) -> bool:
    """A value under its key starts below the key's text, not off to one side of it."""
    k, v = key.box, value.box
    return k[0] - 2 * key.height <= v[0] <= k[2]


def link_values(segs: Sequence[Segment], nb: Neighbours) -> list[tuple[int, int]]:
    """(key index, value index) pairs."""
    links: dict[int, int] = {}  # value -> key
    has_right_value: set[int] = set()
    for i, s in enumerate(segs):
        if s.label != KEY:
            continue
        r = nb.right[i]
        if r is not None and segs[r].label == VALUE and r not in links:
            links[r] = i
            has_right_value.add(i)
            # A row label with values in several columns ("KL  3.47  4.00") keeps them all.
            nxt = nb.right[r]
            while nxt is not None and segs[nxt].label == VALUE and nxt not in links:
                links[nxt] = i
                nxt = nb.right[nxt]
    for i, s in enumerate(segs):
        if s.label != KEY:
            continue
        # Values stacked under the key, or under its value on the right (a list of names).
        last = i
        if i in has_right_value:
            continue
        while True:
            b = nb.below[last]
            if b is None or segs[b].label != VALUE or b in links or not _under(s, segs[b]):
                break
            gap = segs[b].box[1] - segs[last].box[3]
            if last != i and gap > MAX_STACK_GAP * segs[b].height:
                break
            links[b] = i
            last = b
    return sorted((k, v) for v, k in links.items())
