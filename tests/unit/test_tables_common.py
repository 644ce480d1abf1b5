"""The shared table helpers: words into cells, header guesses, tables into the page's blocks."""

from __future__ import annotations

from extractors.document import Block, Cell, Line, Page, Word
from extractors.stages.tables.common import (
    CellBox,
    assign_words,
    build_table,
    mark_header_rows,
    page_words,
    place_tables,
)


def _word(n: int, text: str, box: tuple[float, float, float, float]) -> Word:
    return Word(id=f"p0-w{n}", text=text, bbox=list(box), confidence=0.9)


def _line(n: int, words: list[Word]) -> Line:
    xs = [w.bbox for w in words]
    box = [
        min(b[0] for b in xs),
        min(b[1] for b in xs),
        max(b[2] for b in xs),
        max(b[3] for b in xs),
    ]
    return Line(id=f"p0-l{n}", text=" ".join(w.text for w in words), bbox=box, words=words)


def _page() -> Page:
    """A paragraph, then a 2x2 grid (header 'Item Price', body 'Tea 3.50') the layout missed,
    then a closing paragraph; plus a layout 'table' block over dense text."""
    intro = _line(0, [_word(0, "Prices", (0.1, 0.05, 0.3, 0.07))])
    head = _line(
        1, [_word(1, "Item", (0.1, 0.2, 0.2, 0.22)), _word(2, "Price", (0.5, 0.2, 0.6, 0.22))]
    )
    body = _line(
        2, [_word(3, "Tea", (0.1, 0.25, 0.2, 0.27)), _word(4, "3.50", (0.5, 0.25, 0.6, 0.27))]
    )
    outro = _line(3, [_word(5, "Thanks", (0.1, 0.5, 0.3, 0.52))])
    dense = _line(4, [_word(6, "Lorem", (0.1, 0.8, 0.9, 0.82))])
    return Page(
        id="p0",
        index=0,
        width=612,
        height=792,
        unit="pt",
        blocks=[
            Block(id="p0-b0", order=0, bbox=[0.1, 0.05, 0.6, 0.27], lines=[intro, head, body]),
            Block(id="p0-b1", order=1, bbox=[0.1, 0.5, 0.3, 0.52], lines=[outro]),
            Block(id="p0-b2", kind="table", order=2, bbox=[0.1, 0.8, 0.9, 0.82], lines=[dense]),
        ],
    )


GRID = [
    CellBox(0, 0, (0.09, 0.19, 0.4, 0.23)),
    CellBox(0, 1, (0.4, 0.19, 0.7, 0.23)),
    CellBox(1, 0, (0.09, 0.24, 0.4, 0.28)),
    CellBox(1, 1, (0.4, 0.24, 0.7, 0.28)),
]


def test_words_go_to_the_cell_holding_most_of_them() -> None:
    words = page_words(_page())
    owned = assign_words(GRID, words)
    assert [[w.text for w in cell] for cell in owned] == [["Item"], ["Price"], ["Tea"], ["3.50"]]


def test_a_word_straddling_two_cells_goes_to_the_larger_share() -> None:
    straddling = _word(9, "wide", (0.3, 0.2, 0.45, 0.22))  # 2/3 in the first column
    owned = assign_words(GRID, [straddling])
    assert [len(c) for c in owned] == [1, 0, 0, 0]


def test_build_table_fills_cells_with_ids_text_and_a_guessed_header() -> None:
    page = _page()
    table = build_table(page, GRID, page_words(page), n=0, source="tables.test", confidence=0.8)
    assert (table.id, table.n_rows, table.n_cols) == ("p0-t0", 2, 2)
    by_pos = {(c.row, c.col): c for c in table.cells}
    assert by_pos[(1, 1)].text == "3.50"
    assert by_pos[(1, 1)].word_ids == ["p0-w4"]
    assert by_pos[(1, 1)].id == "p0-t0-c1-1"
    assert [by_pos[(0, c)].is_header for c in range(2)] == [True, True]
    assert not by_pos[(1, 0)].is_header


def test_no_header_guess_on_a_table_of_text() -> None:
    page = _page()
    table = build_table(page, GRID[:2], page_words(page), n=0, source="t", confidence=1.0)
    assert not any(c.is_header for c in table.cells)
    cells = table.cells
    mark_header_rows(cells)  # one row only: nothing to tell a header from
    assert not any(c.is_header for c in cells)


def test_place_tables_moves_lines_into_a_table_block_in_reading_position() -> None:
    page = _page()
    table = build_table(page, GRID, page_words(page), n=0, source="tables.test", confidence=0.8)
    place_tables(page, [table])
    kinds = [(b.kind, [ln.id for ln in b.lines]) for b in page.blocks]
    # Intro stays text, the grid's two lines become one table block after it, then the outro;
    # the layout's unconfirmed table over dense text is text again.
    assert kinds == [
        ("text", ["p0-l0"]),
        ("table", ["p0-l1", "p0-l2"]),
        ("text", ["p0-l3"]),
        ("text", ["p0-l4"]),
    ]
    assert [b.order for b in page.blocks] == [0, 1, 2, 3]
    assert page.tables[0].block_id == page.blocks[1].id
    assert len({b.id for b in page.blocks}) == 4
    # Every word is still on the page exactly once.
    assert sorted(w.id for w in page_words(page)) == [f"p0-w{n}" for n in range(7)]


def test_place_tables_reuses_the_layout_table_block_it_overlaps() -> None:
    page = _page()
    cells = [CellBox(0, 0, (0.1, 0.8, 0.5, 0.82)), CellBox(0, 1, (0.5, 0.8, 0.9, 0.82))]
    table = build_table(page, cells, page_words(page), n=0, source="t", confidence=1.0)
    place_tables(page, [table])
    assert page.tables[0].block_id == "p0-b2"
    assert [b.kind for b in page.blocks if b.id == "p0-b2"] == ["table"]


def test_missing_value_marks_do_not_hide_a_header() -> None:
    texts = [
        ["Measure", "Age 4", "Grade 1"],
        ["Colour naming", "0.16", "NA"],
        ["Recall", "-", "0.4"],
    ]
    cells = [
        Cell(id=f"c{r}{c}", row=r, col=c, text=text)
        for r, row in enumerate(texts)
        for c, text in enumerate(row)
    ]
    mark_header_rows(cells)
    assert [c.is_header for c in cells if c.row == 0] == [True, True, True]
    assert not any(c.is_header for c in cells if c.row > 0)
