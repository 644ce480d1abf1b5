"""Table grids in review: letters, spanning cells, and the corrections a grid edit makes."""

from __future__ import annotations

from extractors.document import Cell, Table
from workbench.review import Context
from workbench.table_review import (
    column_name,
    covering_cells,
    grid_corrections,
    header_correction,
    header_rows,
    table_grid,
)

CONTEXT = Context(document_id="d", result_id="r", reviewer="ana")


def _table() -> Table:
    return Table(
        id="p0-t0",
        n_rows=3,
        n_cols=2,
        bbox=[0, 0, 1, 1],
        source="tables.pdf",
        cells=[
            Cell(id="p0-t0-c0-0", row=0, col=0, col_span=2, text="Sales", is_header=True),
            Cell(id="p0-t0-c1-0", row=1, col=0, row_span=2, text="North"),
            Cell(id="p0-t0-c1-1", row=1, col=1, text="12"),
            Cell(id="p0-t0-c2-1", row=2, col=1, text="13"),
        ],
    )


def test_column_names_run_like_a_spreadsheet() -> None:
    assert [column_name(c) for c in (0, 1, 25, 26, 27, 701, 702)] == [
        "A",
        "B",
        "Z",
        "AA",
        "AB",
        "ZZ",
        "AAA",
    ]


def test_spanning_cells_cover_their_positions() -> None:
    covering = covering_cells(_table())
    assert covering[(0, 1)].id == "p0-t0-c0-0"
    assert covering[(2, 0)].id == "p0-t0-c1-0"
    assert table_grid(_table()).values.tolist() == [["Sales", ""], ["North", "12"], ["", "13"]]
    assert header_rows(_table()) == 1


def test_grid_edits_become_one_correction_per_changed_cell() -> None:
    table = _table()
    shown = table_grid(table)
    delta = {
        "edited_rows": {
            1: {"B": "12"},  # unchanged: no correction
            2: {"A": "South", "B": "31"},  # A is covered by the spanning "North"
        }
    }
    made = grid_corrections(table, shown, delta, CONTEXT, 0)
    assert [(c.target_id, c.old_value, c.new_value) for c in made] == [
        ("p0-t0-c1-0", "North", "South"),
        ("p0-t0-c2-1", "13", "31"),
    ]
    assert {c.target_type for c in made} == {"cell"}
    assert grid_corrections(table, shown, None, CONTEXT, 0) == []


def test_header_rows_change_is_one_table_correction() -> None:
    table = _table()
    assert header_correction(table, 1, 1, CONTEXT, 0) is None
    change = header_correction(table, 1, 2, CONTEXT, 0)
    assert change is not None
    assert (change.target_type, change.target_id, change.new_value) == (
        "table",
        "p0-t0",
        {"header_rows": 2},
    )
