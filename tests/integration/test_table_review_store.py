"""Table structure corrections in the workspace: `reviewed_cells` (MIGRATION_6) lays out merged
and split cells exactly as the reviewed document does in Python, `table_records` and the exports
follow, and a state carries over to a reprocessed result only while the table keeps its shape."""

from __future__ import annotations

import random
import statistics
import time
from pathlib import Path
from typing import Any

import duckdb
import pytest

from extractors.document import Cell, Document, Page, PipelineInfo, Table
from extractors.stages.tables.merge import TableMergeStage
from pipelines.export import export_workspace
from pipelines.store.corrections import Correction, journal
from pipelines.store.database import query
from pipelines.store.loader import load_staged
from pipelines.store.reviewed import reviewed_document
from pipelines.store.rows import result_id_for
from pipelines.store.schema import MIGRATION_4, MIGRATIONS
from pipelines.store.staging import stage_bundle
from pipelines.store.table_structure import (
    StructureEdit,
    TableState,
    edit_spans,
    extracted_spans,
    shape_value,
)
from pipelines.store.workspace import Workspace
from tests.unit.test_table_structure import _table
from tests.unit.test_tables_merge import _document as _two_page_document

CONFIG = "c" * 64
KEYS = ("cell_id", "row", "col", "row_span", "col_span", "text", "is_header", "word_ids")


def _document() -> Document:
    page = Page(id="p0", index=0, width=612, height=792, unit="pt", tables=[_table()])
    return Document(
        document_id="d", source_name="d.pdf", source_path="/d.pdf", sha256="0" * 64, pages=[page]
    )


def _load(
    workspace: Workspace, doc: Document, config: str = CONFIG, at: str = "2026-12-01"
) -> None:
    doc.pipeline = PipelineInfo(profile="default", config_hash=config, started_at=at)
    stage_bundle(workspace, doc, f"run-{config[:4]}", "")
    load_staged(workspace)


def _correct(
    workspace: Workspace,
    target_type: str,
    target_id: str,
    new: Any,
    old: Any = None,
    load: bool = True,
) -> None:
    journal(
        workspace,
        Correction(
            document_id="d",
            result_id=result_id_for("d", CONFIG),
            target_type=target_type,  # type: ignore[arg-type]
            target_id=target_id,
            page_index=0,
            action="edit",
            old_value=old,
            new_value=new,
            reviewer="ana",
        ),
    )
    if load:
        load_staged(workspace)


def _sql_cells(workspace: Workspace, table_id: str = "t") -> list[dict[str, Any]]:
    """The reviewed cells of one table, in reading order."""
    return query(
        workspace,
        'SELECT * FROM reviewed_cells WHERE table_id = ? ORDER BY "row", col',
        [table_id],
    ).to_pylist()


def _agree(workspace: Workspace, doc: Document) -> list[dict[str, Any]]:
    """SQL and Python give the same reviewed cells; returns the SQL rows."""
    rows = _sql_cells(workspace)
    [table] = reviewed_document(workspace, doc).pages[0].tables
    python = [
        (c.id, c.row, c.col, c.row_span, c.col_span, c.text, c.is_header, c.word_ids)
        for c in sorted(table.cells, key=lambda c: (c.row, c.col))
    ]
    sql = [tuple(r[k] for k in KEYS) for r in rows]
    assert sql == python
    boxes = [c.bbox or [] for c in sorted(table.cells, key=lambda c: (c.row, c.col))]
    flat = [v for box in boxes for v in box]
    assert [r[k] for r in rows for k in ("x0", "y0", "x1", "y1")] == pytest.approx(flat)
    return rows


def test_merged_and_split_cells_match_the_reviewed_document(tmp_path: Path) -> None:
    workspace = Workspace.open(tmp_path / "ws")
    doc = _document()
    _load(workspace, doc)
    assert len(_agree(workspace, doc)) == 8  # nothing corrected: as extracted
    old = shape_value(_table(), 1)
    _correct(workspace, "table", "t", {"spans": [[0, 0, 1, 2], [1, 0, 2, 1]]}, old)
    rows = _agree(workspace, doc)
    assert [(r["cell_id"], r["text"], r["corrected"]) for r in rows[:2]] == [
        ("t-c0-0", "Sales 2024", True),
        ("t-c0-2", "", False),
    ]
    assert (rows[0]["corrected_by"], rows[0]["confidence"], rows[0]["is_header"]) == (
        "ana",
        1.0,
        True,
    )
    # Split everything, header rows 0, and type into the new lower piece of the region cell.
    _correct(workspace, "table", "t", {"header_rows": 0, "spans": []}, old)
    _correct(workspace, "cell", "t-c2-0", "South", "")
    rows = _agree(workspace, doc)
    assert [(r["cell_id"], r["text"]) for r in rows if r["col"] == 0] == [
        ("t-c0-0", "Sales"),
        ("t-c1-0", "North"),
        ("t-c2-0", "South"),
    ]
    # Two rows read as one (each column merged), then an edit of a covered cell joins in.
    _correct(workspace, "table", "t", {"spans": [[1, 0, 2, 1], [1, 1, 2, 1], [1, 2, 2, 1]]}, old)
    _correct(workspace, "cell", "t-c2-2", "z", "y")
    rows = _agree(workspace, doc)
    assert [r["text"] for r in rows if r["row"] == 1] == ["North", "12 13", "x z"]
    # Overlapping spans (a hand-written journal entry) leave the structure as extracted.
    _correct(workspace, "table", "t", {"spans": [[0, 0, 2, 1], [1, 0, 2, 1]]}, old)
    assert len(_agree(workspace, doc)) == 8
    # A round-2 header correction still applies.
    _correct(workspace, "table", "t", {"header_rows": 2}, {"header_rows": 1})
    rows = _agree(workspace, doc)
    assert [r["is_header"] for r in rows] == [True] * 6 + [False] * 2


def test_records_and_exports_follow_the_structure(tmp_path: Path) -> None:
    workspace = Workspace.open(tmp_path / "ws")
    doc = _two_page_document()
    TableMergeStage()(doc)
    _load(workspace, doc)
    # Tea and Cake are one row; on the next page Jam and its price are one cell.
    _correct(workspace, "table", "p0-t0", {"spans": [[1, 0, 2, 1], [1, 1, 2, 1]]})
    _correct(workspace, "table", "p1-t0", {"spans": [[1, 0, 1, 2]]})
    records = query(
        workspace, 'SELECT "row", cells, record FROM table_records ORDER BY "row"'
    ).to_pylist()
    assert [(r["row"], r["cells"]) for r in records] == [
        (1, ["Tea Cake", "3.50 4.00"]),
        (3, ["Jam 2.25"]),
    ]
    assert dict(records[1]["record"]) == {"Item": "Jam 2.25"}
    [csv_path] = export_workspace(workspace, tmp_path / "csv", "csv")
    assert csv_path.read_text().splitlines() == [
        "Item,Price",
        "Tea Cake,3.50 4.00",
        ",",
        "Jam 2.25,",
    ]
    [html_path] = export_workspace(workspace, tmp_path / "html", "html")
    html = html_path.read_text()
    assert '<td rowspan="2">Tea Cake</td>' in html and '<td colspan="2">Jam 2.25</td>' in html


def test_a_state_carries_over_only_to_a_table_of_the_same_shape(tmp_path: Path) -> None:
    workspace = Workspace.open(tmp_path / "ws")
    _load(workspace, _document())
    _correct(workspace, "table", "t", {"header_rows": 2}, {"header_rows": 1})  # round 2
    _correct(workspace, "table", "t", {"spans": [[0, 0, 1, 2]]}, shape_value(_table(), 1))
    _load(workspace, _document(), config="e" * 64, at="2026-12-02")  # another profile
    sql = "SELECT applies FROM correction_history ORDER BY created_at"
    assert query(workspace, sql).column(0).to_pylist() == [True, True]
    assert _sql_cells(workspace)[0]["text"] == "Sales 2024"
    smaller = _document()
    table = smaller.pages[0].tables[0]
    table.n_rows = 2
    table.cells = [c for c in table.cells if c.row < 2]
    _load(workspace, smaller, config="f" * 64, at="2026-12-03")
    # The round-2 correction recorded no shape: it applies while the table is there.
    assert query(workspace, sql).column(0).to_pylist() == [True, False]
    rows = _sql_cells(workspace)
    assert [(r["text"], r["is_header"]) for r in rows[:2]] == [("Sales", True), ("2024", True)]


def _random_table(rng: random.Random, index: int) -> Table:
    """A grid with random spanning cells, a few positions left without a cell, and boxes."""
    n_rows, n_cols = rng.randint(1, 5), rng.randint(1, 4)
    table_id = f"p0-t{index}"
    taken: set[tuple[int, int]] = set()
    cells = []
    for r in range(n_rows):
        for c in range(n_cols):
            if (r, c) in taken or rng.random() < 0.1:
                continue
            rows = min(rng.choice([1, 1, 1, 2]), n_rows - r)
            cols = min(rng.choice([1, 1, 1, 2, 3]), n_cols - c)
            if any((r + i, c + j) in taken for i in range(rows) for j in range(cols)):
                rows = cols = 1
            taken |= {(r + i, c + j) for i in range(rows) for j in range(cols)}
            cells.append(
                Cell(
                    id=f"{table_id}-c{r}-{c}",
                    row=r,
                    col=c,
                    row_span=rows,
                    col_span=cols,
                    text=rng.choice(["", "a", "b c", f"{r}.{c}"]),
                    is_header=r == 0 and rng.random() < 0.7,
                    bbox=[0.1 * c, 0.05 * r, 0.1 * (c + cols), 0.05 * (r + rows)],
                    word_ids=[f"p0-w{index}{r}{c}"],
                )
            )
    return Table(id=table_id, n_rows=n_rows, n_cols=n_cols, bbox=[0, 0, 1, 1], cells=cells)


def _random_state(rng: random.Random, table: Table) -> dict[str, Any]:
    spans = extracted_spans(table)
    for _ in range(rng.randint(1, 3)):
        r, c = rng.randrange(table.n_rows), rng.randrange(table.n_cols)
        rect = (r, c, rng.randint(1, table.n_rows - r), rng.randint(1, table.n_cols - c))
        edits: list[StructureEdit] = ["merge", "merge", "split", "merge_rows", "merge_cols"]
        edit = rng.choice(edits)
        spans = edit_spans(spans, edit, rect, table.n_rows, table.n_cols)
    header = rng.choice([None, 0, 1, 2])
    return TableState(header_rows=header, spans=spans).to_value()


def test_sql_and_python_lay_out_random_tables_alike(tmp_path: Path) -> None:
    rng = random.Random(12)
    tables = [_random_table(rng, i) for i in range(30)]
    page = Page(id="p0", index=0, width=612, height=792, unit="pt", tables=tables)
    doc = Document(
        document_id="d", source_name="d.pdf", source_path="/d.pdf", sha256="0" * 64, pages=[page]
    )
    workspace = Workspace.open(tmp_path / "ws")
    _load(workspace, doc)
    for table in tables:
        _correct(workspace, "table", table.id, _random_state(rng, table), load=False)
        for _ in range(rng.randint(0, 3)):  # text edits by cell id, new piece id or round-1 id
            r, c = rng.randrange(table.n_rows), rng.randrange(table.n_cols)
            target = rng.choice([f"{table.id}-c{r}-{c}", f"{table.id}:{r}:{c}"])
            _correct(workspace, "cell", target, rng.choice(["x", "y z", ""]), load=False)
    load_staged(workspace)
    reviewed = reviewed_document(workspace, doc).pages[0].tables
    every = query(workspace, 'SELECT * FROM reviewed_cells ORDER BY "row", col').to_pylist()
    restructured = 0
    for before, table in zip(tables, reviewed, strict=True):
        rows = [r for r in every if r["table_id"] == table.id]
        python = sorted(table.cells, key=lambda c: (c.row, c.col))
        assert [tuple(r[k] for k in KEYS) for r in rows] == [
            (c.id, c.row, c.col, c.row_span, c.col_span, c.text, c.is_header, c.word_ids)
            for c in python
        ], table.id
        assert [[r[k] for k in ("x0", "y0", "x1", "y1")] for r in rows] == [
            pytest.approx(c.bbox) if c.bbox else [None] * 4 for c in python
        ]
        restructured += extracted_spans(before) != extracted_spans(table)
    assert restructured >= 10  # the states did change structures


def _synthetic_workspace(con: duckdb.DuckDBPyConnection, step: int) -> None:
    """2,000 documents with one 20 x 5 table each (in memory); one document in `step` has a
    structure state and one a cell edit (0: none)."""
    for sql in MIGRATIONS:
        con.execute(sql)
    con.execute("""INSERT INTO results (result_id, document_id, started_at, loaded_at)
        SELECT 'r' || i, 'd' || i, now(), now() FROM range(2000) t(i)""")
    con.execute("""INSERT INTO table_rows (result_id, document_id, page_index, table_id, n_rows,
        n_cols, x0, y0, x1, y1, confidence, source, logical_table_id, repeated_header_rows)
        SELECT 'r' || i, 'd' || i, 0, 'p0-t0', 20, 5, 0, 0, 1, 1, 1, 'x', 'p0-t0', 0
        FROM range(2000) t(i)""")
    con.execute("""INSERT INTO cell_rows (result_id, document_id, page_index, table_id, "row", col,
        row_span, col_span, text, is_header, x0, y0, x1, y1, confidence, cell_id, word_ids,
        logical_row)
        SELECT 'r' || i, 'd' || i, 0, 'p0-t0', r, c, 1, 1, 'v' || r || c, r = 0, c * 0.2,
               r * 0.05, c * 0.2 + 0.2, r * 0.05 + 0.05, 0.9, 'p0-t0-c' || r || '-' || c, ['w'], r
        FROM range(2000) t(i), range(20) a(r), range(5) b(c)""")
    if step:
        con.execute(f"""INSERT INTO corrections SELECT 'k' || i, 'd' || i, 'r' || i, 'table',
            'p0-t0', 0, 'edit', '{{"n_rows": 20, "n_cols": 5}}',
            '{{"spans": [[0, 0, 1, 5], [3, 1, 2, 1]]}}', 'ana', now(), NULL, NULL, now()
            FROM range(0, 2000, {step}) t(i)""")
        con.execute(f"""INSERT INTO corrections SELECT 'e' || i, 'd' || i, 'r' || i, 'cell',
            'p0-t0-c1-1', 0, 'edit', '"v11"', '"fixed"', 'ana', now(), NULL, NULL, now()
            FROM range(5, 2000, {step}) t(i)""")
    views = MIGRATION_4[MIGRATION_4.index("CREATE OR REPLACE VIEW reviewed_cells") :]
    views = (
        views[: views.index("CREATE OR REPLACE VIEW documents")]
        + views[views.index("CREATE OR REPLACE VIEW table_records") :]
    )
    con.execute(
        views.replace("reviewed_cells", "reviewed_cells_m4").replace(
            "VIEW table_records", "VIEW table_records_m4"
        )
    )


@pytest.mark.bench
def test_bench_reviewed_cells_against_migration_4() -> None:
    """`pytest -m bench -s tests/integration/test_table_review_store.py`: medians of 7 reads."""
    for step in (0, 10):
        con = duckdb.connect()
        _synthetic_workspace(con, step)
        for what, sql in (
            ("reviewed_cells", "SELECT count(*), sum(length(text)) FROM {}"),
            ("table_records", "SELECT count(*) FROM {}"),
        ):
            old = _median_ms(con, sql.format(what + "_m4"))
            new = _median_ms(con, sql.format(what))
            print(f"step {step:>2} {what:<15} M4 {old:6.0f} ms  M6 {new:6.0f} ms  x{new / old:.2f}")


def _median_ms(con: duckdb.DuckDBPyConnection, sql: str) -> float:
    times = []
    for _ in range(7):
        start = time.perf_counter()
        con.execute(sql).fetchall()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)
