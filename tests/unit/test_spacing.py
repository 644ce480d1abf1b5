"""Missing spaces put back from the ink gaps of a line crop (models/spacing.py)."""

from __future__ import annotations

import numpy as np

from models.ppocr import Recognition
from models.spacing import ink_columns, restore_spaces

H = 40  # crop height


def _line(layout: str, unit: int = 10, dark_ground: bool = False) -> tuple[np.ndarray, Recognition]:
    """A crop and its reading from a layout string: each character a glyph `unit` px wide
    (a space in `layout` is blank crop); `.` between glyphs is a blank `unit` px gap the
    recogniser did not read as a space (it is not in the text)."""
    ground, ink = (0, 255) if dark_ground else (255, 0)
    crop = np.full((H, unit * len(layout) * 2 + unit), ground, np.uint8)
    text, spans, x = [], [], unit // 2
    for char in layout:
        if char == ".":
            x += unit
            continue
        if char != " ":
            crop[8:32, x + 1 : x + unit - 1] = ink  # the glyph, with one blank column each side
        text.append(char)
        spans.append((x, x + unit))
        x += unit
    rec = Recognition(
        text="".join(text),
        confidence=0.9,
        char_probs=np.full(len(text), 0.9, np.float32),
        char_spans=np.asarray(spans, np.float32),
    )
    return crop, rec


def test_ink_columns_find_glyphs_on_light_and_dark_grounds() -> None:
    for dark in (False, True):
        crop, _ = _line("A B", dark_ground=dark)
        ink = ink_columns(crop)
        assert ink[6:14].all() and not ink[16:24].any()


def test_a_word_gap_read_without_a_space_gets_one() -> None:
    # The page's other lines show what a word gap is: one blank glyph width.
    lines = [_line(t) for t in ("AB CD", "EF GH", "IJ KL", "MN OP", "QR ST")]
    crop, rec = _line("TOTAL.:12")  # "TOTAL   :12" read as "TOTAL:12"
    fixed = restore_spaces([r for _, r in lines] + [rec], [c for c, _ in lines] + [crop])
    assert [r.text for r in fixed[:5]] == ["AB CD", "EF GH", "IJ KL", "MN OP", "QR ST"]
    out = fixed[5]
    assert out.text == "TOTAL :12"
    assert len(out.char_spans) == len(out.text) == len(out.char_probs)
    space = out.char_spans[out.text.index(" ")]
    assert space[0] >= out.char_spans[4][1] and space[1] <= out.char_spans[6][0]
    assert out.confidence == rec.confidence


def test_letter_gaps_and_letter_spaced_titles_stay_whole() -> None:
    lines = [_line(t) for t in ("AB CD", "EF GH", "IJ KL", "MN OP", "QR ST")]
    tight = _line("TOTAL")
    spaced = _line("M.A.R.D.E.N")  # every gap as wide as a word gap: spaced-out type
    fixed = restore_spaces(
        [r for _, r in lines] + [tight[1], spaced[1]], [c for c, _ in lines] + [tight[0], spaced[0]]
    )
    assert fixed[5].text == "TOTAL" and fixed[6].text == "MARDEN"


def test_a_page_with_too_few_spaces_uses_the_default_gap() -> None:
    wide, rec = _line("DATE..18", unit=10)  # a 20 px gap: half the crop height
    narrow, rec2 = _line("AB.C", unit=4)  # 4 px: a tenth of it
    fixed = restore_spaces([rec, rec2], [wide, narrow])
    assert fixed[0].text == "DATE 18" and fixed[1].text == "ABC"


def test_numbers_dates_and_amounts_are_never_cut() -> None:
    # Gaps of 22 px (over half the crop height) inside numbers; the same gap between words
    # is cut, so it is the number that keeps them whole.
    wide = [
        _line(t)
        for t in ("27..03/2018", "12..50", "1..,2", "11..:..41", "AB..CD", "DATE..:..18/01")
    ]
    fixed = restore_spaces([r for _, r in wide], [c for c, _ in wide])
    assert [r.text for r in fixed] == ["2703/2018", "1250", "1,2", "11:41", "AB CD", "DATE : 18/01"]
