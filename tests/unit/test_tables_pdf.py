"""`tables.pdf` on PDFs written here with fpdf2: ruled, borderless, spanning header, two text
rows in one ruled band, and dense two-column text that must stay text."""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from pathlib import Path

import pypdfium2 as pdfium
from fpdf import FPDF

import extractors.stages.tables.pdf  # noqa: F401  (registers tables.pdf)
from extractors.document import Document, Table
from pipelines.execution.config import PipelineConfig, StageSpec
from pipelines.execution.pipeline import Pipeline

W, H = 612.0, 792.0
CONFIG = PipelineConfig(
    name="tables-test", stages=[StageSpec(kind="order.reading"), StageSpec(kind="tables.pdf")]
)


def _run(tmp_path: Path, draw: Callable[[FPDF], None]) -> Document:
    pdf = FPDF(unit="pt", format=(W, H))
    pdf.add_page()
    pdf.set_font("Helvetica", size=10)
    pdf.set_line_width(0.8)
    draw(pdf)
    path = tmp_path / "t.pdf"
    path.write_bytes(bytes(pdf.output()))
    return Pipeline(CONFIG).process(path)


def _grid(table: Table) -> list[list[str]]:
    rows = [["" for _ in range(table.n_cols)] for _ in range(table.n_rows)]
    for c in table.cells:
        rows[c.row][c.col] = c.text
    return rows


def _ruled(pdf: FPDF, xs: Sequence[float], ys: Sequence[float]) -> None:
    for y in ys:
        pdf.line(xs[0], y, xs[-1], y)
    for x in xs:
        pdf.line(x, ys[0], x, ys[-1])


def _put(pdf: FPDF, x: float, y: float, text: str) -> None:
    pdf.text(x, y, text)  # baseline at y


def _check_word_ids(document: Document) -> None:
    page = document.pages[0]
    words = {w.id: w.text for w in page.words()}
    for table in page.tables:
        for cell in table.cells:
            assert " ".join(words[i] for i in cell.word_ids) == cell.text


def test_ruled_table(tmp_path: Path) -> None:
    rows = [["Fruit", "Quantity", "Price"], ["Green apple", "3", "1.20"], ["Pear", "12", "0.80"],
            ["Plum", "7", "2.05"]]  # fmt: skip
    xs, ys = [100, 250, 350, 450], [100, 120, 140, 160, 180]

    def draw(pdf: FPDF) -> None:
        _put(pdf, 100, 80, "Prices of fruit in the market this week.")
        _ruled(pdf, xs, ys)
        for r, row in enumerate(rows):
            for c, text in enumerate(row):
                _put(pdf, xs[c] + 4, ys[r] + 14, text)

    doc = _run(tmp_path, draw)
    (table,) = doc.pages[0].tables
    assert table.source == "tables.pdf:ruled"
    assert (table.n_rows, table.n_cols) == (4, 3)
    assert _grid(table) == rows
    assert [c.is_header for c in table.cells if c.row == 0] == [True] * 3
    assert not any(c.is_header for c in table.cells if c.row > 0)
    _check_word_ids(doc)
    blocks = [b for b in doc.pages[0].blocks if b.kind == "table"]
    assert [b.id for b in blocks] == [table.block_id]


def test_borderless_table(tmp_path: Path) -> None:
    rows = [
        ["City", "Population", "Area", "Founded"],
        ["New York", "8,336,817", "783.8", "1624"],
        ["Los Angeles", "3,979,576", "1,302", "1781"],
        ["Chicago", "2,693,976", "606.1", "1833"],
        ["San Diego", "1,423,851", "964.5", "1769"],
    ]
    xs = [80, 220, 330, 430]

    def draw(pdf: FPDF) -> None:
        _put(pdf, 80, 90, "The largest cities of the country, with their population and area.")
        for r, row in enumerate(rows):
            for c, text in enumerate(row):
                _put(pdf, xs[c], 130 + 16 * r, text)
        _put(pdf, 80, 260, "Source: a census of some year, rounded where the text says so.")

    doc = _run(tmp_path, draw)
    (table,) = doc.pages[0].tables
    assert table.source == "tables.pdf:aligned"
    assert _grid(table) == rows  # multi-word cells keep their spaces
    _check_word_ids(doc)


def test_spanning_header(tmp_path: Path) -> None:
    def draw(pdf: FPDF) -> None:
        pdf.line(100, 100, 400, 100)
        pdf.line(200, 120, 400, 120)  # under "Sales" only
        for y in (140, 160, 180):
            pdf.line(100, y, 400, y)
        for x in (100, 200, 400):
            pdf.line(x, 100, x, 180)
        pdf.line(300, 120, 300, 180)  # no border inside the "Sales" cell
        _put(pdf, 104, 134, "Region")
        _put(pdf, 280, 114, "Sales")
        _put(pdf, 204, 134, "2022")
        _put(pdf, 304, 134, "2023")
        for r, (name, a, b) in enumerate([("North", "10", "12"), ("South", "8", "9")]):
            _put(pdf, 104, 154 + 20 * r, name)
            _put(pdf, 204, 154 + 20 * r, a)
            _put(pdf, 304, 154 + 20 * r, b)

    doc = _run(tmp_path, draw)
    (table,) = doc.pages[0].tables
    assert (table.n_rows, table.n_cols) == (4, 2 + 1)
    sales = next(c for c in table.cells if c.text == "Sales")
    assert (sales.row, sales.col, sales.col_span, sales.row_span) == (0, 1, 2, 1)
    region = next(c for c in table.cells if c.text == "Region")
    assert (region.row, region.row_span) == (0, 2)
    assert _grid(table)[2:] == [["North", "10", "12"], ["South", "8", "9"]]


def test_two_text_rows_in_one_ruled_band(tmp_path: Path) -> None:
    def draw(pdf: FPDF) -> None:
        _ruled(pdf, [100, 200, 300, 400], [100, 120, 160])
        for c, text in enumerate(["Item", "Low", "High"]):
            _put(pdf, 104 + 100 * c, 114, text)
        for r, row in enumerate([["Alpha", "1.5", "2.5"], ["Beta", "3.5", "4.5"]]):
            for c, text in enumerate(row):
                _put(pdf, 104 + 100 * c, 134 + 16 * r, text)

    doc = _run(tmp_path, draw)
    (table,) = doc.pages[0].tables
    assert _grid(table) == [["Item", "Low", "High"], ["Alpha", "1.5", "2.5"],
                            ["Beta", "3.5", "4.5"]]  # fmt: skip


def test_wrapped_label_in_a_ruled_band_stays_with_its_values(tmp_path: Path) -> None:
    """A label that wraps ("Murder and nonnegligent" / "manslaughter") inside a band of
    several text rows is one row, with the values printed beside its last line."""
    body = [["Robbery", "1.5", "2.5"], ["Murder and", "", ""], ["manslaughter", "3.5", "4.5"],
            ["Arson", "5.5", "6.5"]]  # fmt: skip

    def draw(pdf: FPDF) -> None:
        _ruled(pdf, [100, 200, 300, 400], [100, 120, 190])
        for c, text in enumerate(["Offense", "Low", "High"]):
            _put(pdf, 104 + 100 * c, 114, text)
        for r, row in enumerate(body):
            for c, text in enumerate(row):
                if text:
                    _put(pdf, 104 + 100 * c, 134 + 14 * r, text)

    doc = _run(tmp_path, draw)
    (table,) = doc.pages[0].tables
    assert _grid(table) == [["Offense", "Low", "High"], ["Robbery", "1.5", "2.5"],
                            ["Murder and manslaughter", "3.5", "4.5"],
                            ["Arson", "5.5", "6.5"]]  # fmt: skip


def test_wrapped_label_in_a_borderless_table_stays_with_its_values(tmp_path: Path) -> None:
    rows = [["Offense", "Total", "Male", "Female"], ["Robbery", "102.1", "90.0", "12.1"],
            ["Offenses against the", "", "", ""], ["family and children", "92.4", "68.9", "23.4"],
            ["Arson", "9.8", "8.1", "1.7"], ["Fraud", "173.7", "98.4", "75.3"]]  # fmt: skip
    xs = [80, 260, 340, 420]

    def draw(pdf: FPDF) -> None:
        for r, row in enumerate(rows):
            for c, text in enumerate(row):
                if text:
                    _put(pdf, xs[c], 130 + 14 * r, text)

    doc = _run(tmp_path, draw)
    (table,) = doc.pages[0].tables
    assert table.source == "tables.pdf:aligned"
    assert _grid(table) == [rows[0], rows[1], ["Offenses against the family and children",
                            "92.4", "68.9", "23.4"], rows[4], rows[5]]  # fmt: skip


def test_dense_two_column_text_has_no_table(tmp_path: Path) -> None:
    sentence = "the model reads every page of a document and finds the text in it while keeping "
    words = (sentence + "the order of columns and paragraphs intact for later stages").split(" ")

    def draw(pdf: FPDF) -> None:
        for line in range(40):
            for x0 in (60, 320):
                text, n = "", line * 3 + x0
                while pdf.get_string_width(text + " " + words[n % len(words)]) < 230:
                    text = (text + " " + words[n % len(words)]).strip()
                    n += 1
                _put(pdf, x0, 80 + 14 * line, text)

    doc = _run(tmp_path, draw)
    assert doc.pages[0].tables == []
    assert all(b.kind != "table" for b in doc.pages[0].blocks)


def test_caption_list_and_header_structure(tmp_path: Path) -> None:
    """A caption above and a note below stay out; a label centred over two columns spans
    them; the stub head spans the header rows; a bulleted list beside is no table."""

    def draw(pdf: FPDF) -> None:
        _put(pdf, 80, 100, "Table 2. Sales by region and year")
        _put(pdf, 80, 122, "Region")
        _put(pdf, 80, 134, "name")
        _put(pdf, 262, 122, "Units sold")  # centred over the two year columns
        for c, year in enumerate(["2022", "2023"]):
            _put(pdf, 240 + 60 * c, 134, year)
        rows = [["North", "10", "12"], ["South", "8", "9"], ["East", "7", "11"]]
        for r, row in enumerate(rows):
            for c, text in enumerate(row):
                _put(pdf, [80, 240, 300][c], 150 + 14 * r, text)
        _put(pdf, 80, 200, "Source: the sales office.")
        for r, item in enumerate(["first point of the list", "second point", "third one"]):
            _put(pdf, 80, 300 + 14 * r, "-")
            _put(pdf, 100, 300 + 14 * r, item)

    doc = _run(tmp_path, draw)
    (table,) = doc.pages[0].tables
    assert table.source == "tables.pdf:aligned"
    texts = {c.text for c in table.cells}
    assert not any(t.startswith(("Table 2", "Source")) for t in texts)
    head = next(c for c in table.cells if c.text == "Units sold")
    assert (head.row, head.col, head.col_span) == (0, 1, 2)
    stub = next(c for c in table.cells if c.text == "Region name")
    assert (stub.row, stub.col, stub.row_span) == (0, 0, 2)
    assert all(c.is_header == (c.row < 2) for c in table.cells)
    assert _grid(table)[2:] == [["North", "10", "12"], ["South", "8", "9"], ["East", "7", "11"]]


def test_body_rows_ruled_only_above_and_below(tmp_path: Path) -> None:
    """Column rules only in the header: each body value still gets its own column."""

    def draw(pdf: FPDF) -> None:
        xs = [100, 200, 300, 400]
        for y in (100, 120, 140, 160):
            pdf.line(100, y, 400, y)
        for x in xs:
            pdf.line(x, 100, x, 120)
        pdf.line(100, 100, 100, 160)
        pdf.line(400, 100, 400, 160)
        for c, text in enumerate(["Name", "Low", "High"]):
            _put(pdf, xs[c] + 4, 114, text)
        for r, row in enumerate([["Alpha", "1.5", "2.5"], ["Beta", "3.5", "4.5"]]):
            for c, text in enumerate(row):
                _put(pdf, xs[c] + 4, 134 + 20 * r, text)

    doc = _run(tmp_path, draw)
    (table,) = doc.pages[0].tables
    assert _grid(table) == [
        ["Name", "Low", "High"],
        ["Alpha", "1.5", "2.5"],
        ["Beta", "3.5", "4.5"],
    ]
    assert all(c.col_span == 1 for c in table.cells)


def test_turned_page_reads_the_table_upright(tmp_path: Path) -> None:
    """/Rotate 90: the table stands on its side in the presented page; rows stay rows (the
    order of the words in "Green apple" tells which way the text reads)."""
    rows = [["Fruit", "Quantity", "Price"], ["Green apple", "3", "1.20"], ["Pear", "12", "0.80"]]
    xs, ys = [100, 250, 350, 450], [100, 120, 140, 160]
    pdf = FPDF(unit="pt", format=(W, H))
    pdf.add_page()
    pdf.set_font("Helvetica", size=10)
    _ruled(pdf, xs, ys)
    for r, row in enumerate(rows):
        for c, text in enumerate(row):
            _put(pdf, xs[c] + 4, ys[r] + 14, text)
    source = pdfium.PdfDocument(bytes(pdf.output()))
    source[0].set_rotation(90)
    buffer = io.BytesIO()
    source.save(buffer)
    source.close()
    path = tmp_path / "turned.pdf"
    path.write_bytes(buffer.getvalue())
    doc = Pipeline(CONFIG).process(path)
    (table,) = doc.pages[0].tables
    assert _grid(table) == rows


def test_open_outer_columns_join_the_ruled_grid(tmp_path: Path) -> None:
    """Rules only between the inner columns; row rules run across the stub and last column."""

    def draw(pdf: FPDF) -> None:
        for y in (100, 120, 140, 160):
            pdf.line(80, y, 460, y)
        for x in (200, 300, 400):
            pdf.line(x, 100, x, 160)
        for r, row in enumerate([["", "Finland", "Sweden", "Norway"], ["1996", "3.7", "1.6", "1.7"],
                                 ["2000", "5.0", "3.9", "3.9"]]):  # fmt: skip
            for c, text in enumerate(row):
                _put(pdf, [84, 204, 304, 404][c], 114 + 20 * r, text)

    doc = _run(tmp_path, draw)
    (table,) = doc.pages[0].tables
    assert table.source == "tables.pdf:ruled"
    assert _grid(table) == [["", "Finland", "Sweden", "Norway"], ["1996", "3.7", "1.6", "1.7"],
                            ["2000", "5.0", "3.9", "3.9"]]  # fmt: skip


def test_line_numbered_transcript_is_no_table(tmp_path: Path) -> None:
    lines = ["IN THE SUPREME COURT", "JOHN DOE, Petitioner", "v. No. 07-1315", "RICHARD ROE",
             "Washington, D.C.", "The above matter came on for oral argument"]  # fmt: skip

    def draw(pdf: FPDF) -> None:
        for n, text in enumerate(lines, start=1):
            _put(pdf, 80, 100 + 24 * n, str(n))
            _put(pdf, 140, 100 + 24 * n, text)

    assert _run(tmp_path, draw).pages[0].tables == []


def test_ruled_group_of_text_aligned_columns(tmp_path: Path) -> None:
    """One rule between the stub and a block of three unruled value columns."""
    rows = [["Offense", "Total", "Male", "Female"], ["Robbery", "102.1", "90.0", "12.1"],
            ["Burglary", "240.9", "205.0", "35.9"], ["Arson", "9.8", "8.1", "1.7"]]  # fmt: skip

    def draw(pdf: FPDF) -> None:
        _ruled(pdf, [80, 200, 440], [100, 120, 190])
        for r, row in enumerate(rows):
            y = 114 if r == 0 else 134 + 16 * (r - 1)
            for c, text in enumerate(row):
                _put(pdf, [84, 210, 290, 370][c], y, text)

    doc = _run(tmp_path, draw)
    (table,) = doc.pages[0].tables
    assert table.source == "tables.pdf:ruled"
    assert _grid(table) == rows
