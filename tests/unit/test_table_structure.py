"""Reviewed table structure: merge/split editing of the spans, and applying a state to a table
(the rules the `reviewed_cells` view follows in SQL)."""

from __future__ import annotations

from typing import Any

import pytest

from extractors.document import Cell, Document, Page, Table
from pipelines.store.reviewed import apply_corrections
from pipelines.store.table_structure import (
    TableState,
    apply_table_review,
    extracted_spans,
    layout,
    merge,
    merge_cols,
    merge_rows,
    shape_value,
    split,
    valid_spans,
)


def _table() -> Table:
    """3 x 3: a title the extractor split in two, a region cell spanning two rows."""
    rows: list[list[str | None]] = [["Sales", "2024", ""], ["North", "12", "x"], [None, "13", "y"]]
    cells = []
    for r, texts in enumerate(rows):
        for c, text in enumerate(texts):
            if text is None:
                continue
            span = 2 if (r, c) == (1, 0) else 1
            cells.append(
                Cell(
                    id=f"t-c{r}-{c}",
                    row=r,
                    col=c,
                    row_span=span,
                    text=text,
                    is_header=r == 0,
                    bbox=[0.1 * c, 0.1 * r, 0.1 * (c + 1), 0.1 * (r + span)],
                    confidence=0.8,
                    word_ids=[f"w{r}{c}"] if text else [],
                )
            )
    return Table(id="t", n_rows=3, n_cols=3, bbox=[0, 0, 0.3, 0.3], cells=cells)


def _no_change(cell_id: str, legacy_id: str) -> tuple[str | None, Any]:
    return None, None


def _cells(table: Table) -> list[tuple[str, int, int, int, int, str]]:
    return [(c.id, c.row, c.col, c.row_span, c.col_span, c.text) for c in table.cells]


def test_state_values_round_trip_and_old_header_corrections_read() -> None:
    state = TableState(header_rows=1, spans=((1, 0, 2, 1), (0, 0, 1, 2)))
    assert state.to_value() == {"header_rows": 1, "spans": [[0, 0, 1, 2], [1, 0, 2, 1]]}
    assert TableState.from_value(state.to_value()) == TableState(1, ((0, 0, 1, 2), (1, 0, 2, 1)))
    assert TableState.from_value({"header_rows": 2}) == TableState(header_rows=2)
    assert TableState.from_value({"spans": [[0, 0, "x", 1]]}) == TableState()
    assert TableState.from_value(None) == TableState()
    assert shape_value(_table(), 1) == {
        "header_rows": 1,
        "n_rows": 3,
        "n_cols": 3,
        "spans": [[1, 0, 2, 1]],
    }


def test_merge_grows_over_cut_spans_and_split_undoes_it() -> None:
    spans = extracted_spans(_table())
    assert merge(spans, (0, 0, 1, 2)) == ((0, 0, 1, 2), (1, 0, 2, 1))
    # A rectangle cutting the two-row region cell takes all of it.
    assert merge(spans, (0, 0, 2, 1)) == ((0, 0, 3, 1),)
    assert merge(spans, (2, 2, 1, 1)) == spans  # one position: nothing to merge
    assert split(((0, 0, 1, 2), (1, 0, 2, 1)), (2, 0, 1, 1)) == ((0, 0, 1, 2),)
    assert split(spans, (0, 1, 3, 2)) == spans  # no merged cell there
    assert merge_rows(((0, 1, 2, 2),), 3, 1, 2) == ((0, 1, 3, 2), (1, 0, 2, 1))
    # Columns B and C as one: the title row's cells and each body row's.
    assert merge_cols(spans, 3, 1, 2) == ((0, 1, 1, 2), (1, 0, 2, 1), (1, 1, 1, 2), (2, 1, 1, 2))
    assert merge_cols(spans, 3, 0, 2) == ((0, 0, 1, 2), (1, 0, 2, 2))  # the region: both rows
    assert valid_spans(((0, 0, 1, 2), (1, 0, 2, 1)), 3, 3)
    assert not valid_spans(((0, 0, 2, 1), (1, 0, 2, 1)), 3, 3)  # overlap
    assert not valid_spans(((2, 0, 2, 1),), 3, 3)  # past the last row
    assert len(layout(((0, 0, 1, 2),), 3, 3)) == 8


def test_merged_cells_join_their_text_and_boxes() -> None:
    table = _table()
    state = TableState(spans=((0, 0, 1, 2), (1, 0, 2, 1)))
    apply_table_review(table, state.to_value(), _no_change)
    assert _cells(table)[:2] == [
        ("t-c0-0", 0, 0, 1, 2, "Sales 2024"),
        ("t-c0-2", 0, 2, 1, 1, ""),
    ]
    title = table.cells[0]
    assert title.bbox == pytest.approx([0.0, 0.0, 0.2, 0.1])
    assert (title.is_header, title.confidence, title.word_ids) == (True, 1.0, ["w00", "w01"])
    region = next(c for c in table.cells if c.id == "t-c1-0")
    assert (region.row_span, region.confidence) == (2, 0.8)  # as extracted
    assert len(table.cells) == 7


def test_a_split_cell_keeps_its_text_on_the_first_piece() -> None:
    table = _table()
    edits = {"t-c2-0": "South"}  # the reviewer typed into the new lower piece

    def change(cell_id: str, legacy_id: str) -> tuple[str | None, Any]:
        return ("edit", edits[cell_id]) if cell_id in edits else (None, None)

    apply_table_review(table, {"header_rows": 0, "spans": []}, change)
    pieces = [c for c in table.cells if c.col == 0 and c.row > 0]
    assert [(c.id, c.row_span, c.text) for c in pieces] == [
        ("t-c1-0", 1, "North"),
        ("t-c2-0", 1, "South"),
    ]
    assert pieces[0].bbox == pytest.approx([0.0, 0.1, 0.1, 0.2])
    assert pieces[1].bbox == pytest.approx([0.0, 0.2, 0.1, 0.3])
    assert pieces[1].word_ids == [] and pieces[0].word_ids == ["w10"]
    assert not any(c.is_header for c in table.cells)  # header_rows 0
    assert len(table.cells) == 9


def test_edits_of_a_merged_cell_win_and_of_covered_cells_join() -> None:
    state = {"spans": [[0, 0, 1, 3], [1, 0, 2, 1]]}
    covered = _table()
    apply_table_review(
        covered, state, lambda i, _: ("edit", "2025") if i == "t-c0-1" else (None, None)
    )
    assert covered.cells[0].text == "Sales 2025"
    own = _table()
    apply_table_review(
        own, state, lambda i, _: ("edit", "Total") if i == "t-c0-0" else (None, None)
    )
    assert own.cells[0].text == "Total"
    # A state that no longer fits the table (another shape) leaves the structure alone.
    small = _table().model_copy(update={"n_rows": 2})
    apply_table_review(small, state, _no_change)
    assert _cells(small) == _cells(_table().model_copy(update={"n_rows": 2}))


def test_reviewed_documents_apply_table_states_and_old_header_corrections() -> None:
    page = Page(id="p0", index=0, width=1, height=1, unit="pt", tables=[_table()])
    document = Document(
        document_id="d", source_name="d.pdf", source_path="d.pdf", sha256="0" * 64, pages=[page]
    )
    latest = [
        {
            "target_type": "table",
            "target_id": "t",
            "action": "edit",
            "new_value": '{"header_rows": 1, "spans": [[0, 0, 1, 2], [1, 0, 1, 1]]}',
        },
        {"target_type": "cell", "target_id": "t:1:1", "action": "edit", "new_value": '"21"'},
    ]
    [table] = apply_corrections(document, latest, []).pages[0].tables
    assert [c.text for c in table.cells] == ["Sales 2024", "", "North", "21", "x", "", "13", "y"]
    assert [c.is_header for c in table.cells] == [True, True] + [False] * 6
    old = [
        {
            "target_type": "table",
            "target_id": "t",
            "action": "edit",
            "new_value": {"header_rows": 2},
        }
    ]
    [table] = apply_corrections(document, old, []).pages[0].tables
    assert _cells(table) == _cells(_table())
    assert [c.is_header for c in table.cells] == [True] * 6 + [False] * 2
