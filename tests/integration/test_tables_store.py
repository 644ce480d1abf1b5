"""Tables in the workspace: logical tables across pages, the wide `table_records` view with
review corrections applied, and the CSV/HTML exports."""

from __future__ import annotations

from pathlib import Path

from extractors.document import PipelineInfo
from extractors.stages.tables.merge import TableMergeStage
from pipelines.export import export_workspace
from pipelines.store.corrections import Correction, journal
from pipelines.store.database import query
from pipelines.store.loader import load_staged
from pipelines.store.rows import result_id_for
from pipelines.store.staging import stage_bundle
from pipelines.store.workspace import Workspace
from tests.unit.test_tables_merge import _document


def _loaded(tmp_path: Path) -> Workspace:
    workspace = Workspace.open(tmp_path / "ws")
    doc = _document()
    doc.pipeline = PipelineInfo(profile="default", config_hash="c" * 64, started_at="2026-12-01")
    TableMergeStage()(doc)
    stage_bundle(workspace, doc, "run-1", "")
    load_staged(workspace)
    return workspace


def test_table_records_join_the_parts_under_the_header_names(tmp_path: Path) -> None:
    workspace = _loaded(tmp_path)
    rows = query(
        workspace,
        "SELECT table_id, \"row\", page_index, cells, record['Price'] AS price "
        'FROM table_records ORDER BY "row"',
    ).to_pylist()
    assert [(r["table_id"], r["row"], r["page_index"], r["price"]) for r in rows] == [
        ("p0-t0", 1, 0, "3.50"),
        ("p0-t0", 2, 0, "4.00"),
        ("p0-t0", 3, 1, "2.25"),
    ]
    assert rows[2]["cells"] == ["Jam", "2.25"]
    parts = query(
        workspace,
        "SELECT table_id, logical_table_id, continues, repeated_header_rows FROM tables "
        "ORDER BY table_id",
    ).to_pylist()
    assert [tuple(p.values()) for p in parts] == [
        ("p0-t0", "p0-t0", None, 0),
        ("p1-t0", "p0-t0", "p0-t0", 1),
    ]


def test_a_cell_correction_reaches_the_records_and_the_exports(tmp_path: Path) -> None:
    workspace = _loaded(tmp_path)
    journal(
        workspace,
        Correction(
            document_id="d",
            result_id=result_id_for("d", "c" * 64),
            target_type="cell",
            target_id="p1-t0-c1-1",
            page_index=1,
            action="edit",
            old_value="2.25",
            new_value="2.75",
            reviewer="ana",
        ),
    )
    load_staged(workspace)
    price = query(workspace, "SELECT record['Price'] AS p FROM table_records WHERE \"row\" = 3")
    assert price.column("p").to_pylist() == ["2.75"]
    [csv_path] = export_workspace(workspace, tmp_path / "csv", "csv")
    assert csv_path.name == "d-p0-t0.csv"
    assert csv_path.read_text().splitlines() == ["Item,Price", "Tea,3.50", "Cake,4.00", "Jam,2.75"]
    [html_path] = export_workspace(workspace, tmp_path / "html", "html")
    text = html_path.read_text()
    assert "<h2>Table p0-t0 (page 1, 2)</h2>" in text and "<td>2.75</td>" in text
    [md_path] = export_workspace(workspace, tmp_path / "md", "markdown")
    markdown = md_path.read_text()
    assert markdown.count("| Item | Price |") == 1 and "| Jam | 2.75 |" in markdown
