"""Table grids in review: letters, spanning cells, the corrections a grid edit makes, and
merging and splitting cells in the Tables tab (AppTest)."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from extractors.document import Cell, Document, Page, Table
from pipelines.store.table_structure import TableState
from pipelines.store.workspace import Workspace
from tests.app.conftest import OK_ID, open_page, query
from workbench.review import Context
from workbench.table_review import (
    column_name,
    covering_cells,
    edit_structure,
    grid_corrections,
    header_correction,
    header_rows,
    parse_range,
    reviewed_tables,
    span_names,
    structure_correction,
    table_grid,
    table_state,
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


def test_ranges_name_cells_like_a_spreadsheet() -> None:
    assert parse_range("B2", 3, 2) == (1, 1, 1, 1)
    assert parse_range(" b3 : a1 ", 3, 2) == (0, 0, 3, 2)
    assert parse_range("C1", 3, 2) is None and parse_range("A0", 3, 2) is None
    assert parse_range("A1-B2", 3, 2) is None and parse_range("", 3, 2) is None
    assert span_names(_table()) == ["A1:B1", "A2:A3"]
    assert table_grid(_table()).index.tolist() == [1, 2, 3]


def test_structure_edits_carry_the_whole_state() -> None:
    table = _table()
    state = TableState(header_rows=1)
    merged = edit_structure(state, table, "merge", (1, 1, 2, 1))
    assert merged == TableState(1, ((0, 0, 1, 2), (1, 0, 2, 1), (1, 1, 2, 1)))
    assert edit_structure(state, table, "split", (0, 1, 1, 1)) == TableState(1, ((1, 0, 2, 1),))
    assert edit_structure(state, table, "split", (1, 1, 1, 1)) is None  # nothing merged there
    rows = edit_structure(TableState(), table, "merge_rows", (1, 1, 2, 1))
    assert rows == TableState(None, ((0, 0, 1, 2), (1, 0, 2, 1), (1, 1, 2, 1)))
    cols = edit_structure(TableState(), table, "merge_cols", (2, 0, 1, 2))
    assert cols == TableState(None, ((0, 0, 1, 2), (1, 0, 2, 2)))
    change = structure_correction(table, merged, CONTEXT, 0)
    assert (change.target_type, change.action) == ("table", "edit")
    assert change.new_value == {
        "header_rows": 1,
        "spans": [[0, 0, 1, 2], [1, 0, 2, 1], [1, 1, 2, 1]],
    }
    assert change.old_value == {
        "header_rows": 1,
        "n_rows": 3,
        "n_cols": 2,
        "spans": [[0, 0, 1, 2], [1, 0, 2, 1]],
    }
    # Changing the header rows keeps the merged cells in force.
    header = header_correction(table, 1, 0, CONTEXT, 0, state=merged)
    assert header is not None and header.new_value["spans"] == change.new_value["spans"]
    assert header.new_value["header_rows"] == 0


def test_grid_edits_of_a_split_cell_name_the_new_piece() -> None:
    original = _table()
    split_all = {("table", "p0-t0"): {"action": "edit", "new_value": {"spans": []}}}
    page = Page(id="p0", index=0, width=1, height=1, unit="pt", tables=[original])
    document = Document(
        document_id="d", source_name="d", source_path="d", sha256="0" * 64, pages=[page]
    )
    [table] = reviewed_tables(document, 0, split_all)
    assert table_state(split_all, "p0-t0") == TableState(spans=())
    shown = table_grid(table)
    assert shown.values.tolist() == [["Sales", ""], ["North", "12"], ["", "13"]]
    delta = {"edited_rows": {0: {"B": "2024"}, 2: {"A": "South"}}}
    made = grid_corrections(original, shown, delta, CONTEXT, 0, reviewed=table)
    assert [(c.target_id, c.old_value, c.new_value) for c in made] == [
        ("p0-t0-c0-1", "", "2024"),
        ("p0-t0-c2-0", "", "South"),
    ]


def test_merge_split_and_undo_in_the_tables_tab(app: AppTest, workspace: Workspace) -> None:
    at = open_page(app, "views/review.py", doc_id=OK_ID)
    at.text_input(key="range_p0-t0_0").input("Z9")
    at.button(key="merge_p0-t0_0").click().run()
    assert any("Name cells" in w.value for w in at.warning)
    at.text_input(key="range_p0-t0_0").input("B2:A2")
    at.button(key="merge_p0-t0_0").click().run()
    assert not at.exception
    assert _cells(workspace) == [
        ("p0-t0-c0-0", 0, 0, 1, "Item"),
        ("p0-t0-c0-1", 0, 1, 1, "Price"),
        ("p0-t0-c1-0", 1, 0, 2, "Tea 3.5O"),
    ]
    assert any("Merged cells: A2:B2" in c.value for c in at.caption)
    # The merged cell is edited as one; the grid redraws under the next version.
    at.session_state["ed_table_p0-t0_1"] = {
        "edited_rows": {1: {"B": "Tea 3.50"}},
        "added_rows": [],
        "deleted_rows": [],
    }
    at.run()
    assert _cells(workspace)[2] == ("p0-t0-c1-0", 1, 0, 2, "Tea 3.50")
    at.text_input(key="range_p0-t0_2").input("A2")
    at.button(key="split_p0-t0_2").click().run()
    assert [c[4] for c in _cells(workspace)] == ["Item", "Price", "Tea 3.50", "3.5O"]
    at.button(key="undo").click().run()  # the split undone: merged again
    assert _cells(workspace)[2] == ("p0-t0-c1-0", 1, 0, 2, "Tea 3.50")
    history = query(
        workspace,
        "SELECT target_type, action, undone FROM correction_history ORDER BY created_at",
    ).to_pylist()
    assert [tuple(h.values()) for h in history] == [
        ("table", "edit", False),
        ("cell", "edit", False),
        ("table", "edit", True),
        ("table", "undo", False),
    ]


def _cells(workspace: Workspace) -> list[tuple[str, int, int, int, str]]:
    rows = query(
        workspace,
        'SELECT cell_id, "row", col, col_span, text FROM reviewed_cells ORDER BY "row", col',
    ).to_pylist()
    return [tuple(r.values()) for r in rows]
