"""A ruled table that runs over two PDF pages, its header repeated on the second, through the
pipeline: `tables.pdf` finds both parts and `tables.merge` joins them into one logical table."""

from __future__ import annotations

from pathlib import Path

from fpdf import FPDF

from extractors.stages.tables.merge import logical_tables
from pipelines.execution.config import PipelineConfig, StageSpec
from pipelines.execution.pipeline import Pipeline
from pipelines.table_formats import grid

CONFIG = PipelineConfig(
    name="tables-pages",
    stages=[
        StageSpec(kind="order.reading"),
        StageSpec(kind="tables.pdf"),
        StageSpec(kind="tables.merge"),
    ],
)
HEADER = ["Date", "Item", "Amount"]
XS = [72.0, 180.0, 400.0, 540.0]


def _table_page(pdf: FPDF, top: float, rows: list[list[str]], intro: str | None) -> None:
    pdf.add_page()
    if intro:
        pdf.text(72, 90, intro)
    ys = [top + 22.0 * i for i in range(len(rows) + 1)]
    for y in ys:
        pdf.line(XS[0], y, XS[-1], y)
    for x in XS:
        pdf.line(x, ys[0], x, ys[-1])
    for r, row in enumerate(rows):
        for c, text in enumerate(row):
            pdf.text(XS[c] + 6, ys[r] + 15, text)
    pdf.text(300, 760, str(pdf.page_no()))  # a page number under the table does not end it


def _two_page_pdf(path: Path, intro_second: str | None = None) -> Path:
    pdf = FPDF(unit="pt", format=(612, 792))
    pdf.set_font("Helvetica", size=10)
    pdf.set_line_width(0.8)
    first = [HEADER, *([f"2026-01-{d:02d}", f"Item {d}", f"{d * 10}.00"] for d in range(1, 25))]
    second = [HEADER, *([f"2026-02-{d:02d}", f"Item {d}", f"{d * 5}.50"] for d in range(1, 6))]
    _table_page(pdf, 200.0, first, "Statement of account for January and February 2026")
    _table_page(pdf, 60.0 if intro_second is None else 120.0, second, intro_second)
    path.write_bytes(bytes(pdf.output()))
    return path


def test_a_table_over_two_pages_is_one_logical_table(tmp_path: Path) -> None:
    document = Pipeline(CONFIG).process(_two_page_pdf(tmp_path / "t.pdf"))
    assert [len(p.tables) for p in document.pages] == [1, 1]
    second = document.pages[1].tables[0]
    assert second.continues == document.pages[0].tables[0].id
    assert second.repeated_header_rows == 1
    [table] = logical_tables(document)
    rows = grid(table)
    assert rows[0] == HEADER
    assert len(rows) == 1 + 24 + 5
    assert rows[24] == ["2026-01-24", "Item 24", "240.00"]
    assert rows[25] == ["2026-02-01", "Item 1", "5.50"]
    assert table.pages == [0, 1]


def test_text_before_the_second_table_keeps_two_tables(tmp_path: Path) -> None:
    path = _two_page_pdf(
        tmp_path / "t.pdf",
        intro_second="A second statement, for the savings account, follows here.",
    )
    document = Pipeline(CONFIG).process(path)
    assert document.pages[1].tables[0].continues is None
    assert len(logical_tables(document)) == 2
