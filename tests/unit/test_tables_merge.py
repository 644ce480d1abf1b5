"""Tables that continue across pages: when two parts join, repeated headers, logical tables and
their Markdown/CSV/HTML forms."""

from __future__ import annotations

from extractors.document import Block, Cell, Document, Line, Page, Table, Word
from extractors.stages.tables.merge import TableMergeStage, logical_tables, repeated_header_rows
from pipelines.table_formats import to_csv, to_html, to_markdown


def _table(page: int, rows: list[list[str]], top: float, header: bool = True) -> Table:
    tid = f"p{page}-t0"
    cells = [
        Cell(
            id=f"{tid}-c{r}-{c}",
            row=r,
            col=c,
            text=text,
            is_header=header and r == 0,
            bbox=[0.1 + 0.4 * c, top + 0.05 * r, 0.5 + 0.4 * c, top + 0.05 * (r + 1)],
        )
        for r, row in enumerate(rows)
        for c, text in enumerate(row)
    ]
    bottom = top + 0.05 * len(rows)
    return Table(
        id=tid,
        block_id=f"p{page}-b1",
        n_rows=len(rows),
        n_cols=2,
        cells=cells,
        bbox=[0.1, top, 0.9, bottom],
    )


def _block(page: int, n: int, kind: str, text: str, top: float) -> Block:
    line = Line(
        id=f"p{page}-l{n}",
        text=text,
        bbox=[0.1, top, 0.9, top + 0.02],
        words=[Word(id=f"p{page}-w{n}", text=text, bbox=[0.1, top, 0.9, top + 0.02])],
    )
    return Block(
        id=f"p{page}-b{n}",
        kind=kind,
        order=n,
        bbox=[0.1, top, 0.9, top + 0.02],  # type: ignore[arg-type]
        lines=[line] if text else [],
    )


def _document(after_first: str = "7", second_rows: list[list[str]] | None = None) -> Document:
    first = _table(0, [["Item", "Price"], ["Tea", "3.50"], ["Cake", "4.00"]], top=0.6)
    second = _table(1, second_rows or [["Item", "Price"], ["Jam", "2.25"]], top=0.1)
    pages = [
        Page(
            id="p0",
            index=0,
            width=612,
            height=792,
            unit="pt",
            tables=[first],
            blocks=[
                _block(0, 0, "text", "Price list for the season", 0.1),
                _block(0, 1, "table", "", 0.6),
                _block(0, 2, "text", after_first, 0.95),
            ],
        ),
        Page(
            id="p1",
            index=1,
            width=612,
            height=792,
            unit="pt",
            tables=[second],
            blocks=[
                _block(1, 0, "header", "Price list (continued)", 0.02),
                _block(1, 1, "table", "", 0.1),
                _block(
                    1, 2, "text", "All prices include tax and are valid until the end of May.", 0.5
                ),
            ],
        ),
    ]
    return Document(
        document_id="d", source_name="d.pdf", source_path="/d.pdf", sha256="0" * 64, pages=pages
    )


def test_a_table_ending_its_page_continues_on_the_next_without_its_repeated_header() -> None:
    doc = _document()
    TableMergeStage()(doc)
    second = doc.pages[1].tables[0]
    assert (second.continues, second.repeated_header_rows) == ("p0-t0", 1)
    [table] = logical_tables(doc)
    assert table.id == "p0-t0" and table.pages == [0, 1]
    assert [[c.text for c in row] for row in table.rows] == [
        ["Item", "Price"],
        ["Tea", "3.50"],
        ["Cake", "4.00"],
        ["Jam", "2.25"],
    ]


def test_a_continuation_without_a_repeated_header_keeps_all_its_rows() -> None:
    doc = _document(second_rows=[["Jam", "2.25"], ["Honey", "5.00"]])
    TableMergeStage()(doc)
    assert doc.pages[1].tables[0].repeated_header_rows == 0
    assert logical_tables(doc)[0].n_rows == 5


def test_text_after_the_table_means_it_ended_there() -> None:
    doc = _document(after_first="These prices were agreed with the suppliers in March.")
    TableMergeStage()(doc)
    assert doc.pages[1].tables[0].continues is None
    assert len(logical_tables(doc)) == 2


def test_different_columns_do_not_merge() -> None:
    doc = _document()
    moved = doc.pages[1].tables[0]
    for cell in moved.cells:
        assert cell.bbox is not None
        cell.bbox = [cell.bbox[0] + 0.1, cell.bbox[1], cell.bbox[2] + 0.1, cell.bbox[3]]
    TableMergeStage()(doc)
    assert moved.continues is None


def test_repeated_header_rows_match_on_normalised_text() -> None:
    head = _table(0, [["Item", "Price"], ["Tea", "1"]], top=0.1)
    part = _table(1, [[" item ", "PRICE"], ["Jam", "2"]], top=0.1, header=False)
    assert repeated_header_rows(head, part) == 1
    other = _table(1, [["Jam", "2"]], top=0.1, header=False)
    assert repeated_header_rows(head, other) == 0


def test_formats_keep_spans_and_headers() -> None:
    table = Table(
        id="p0-t0",
        n_rows=3,
        n_cols=2,
        bbox=[0, 0, 1, 1],
        cells=[
            Cell(id="a", row=0, col=0, col_span=2, text="Sales | 2026", is_header=True),
            Cell(id="b", row=1, col=0, row_span=2, text="North"),
            Cell(id="c", row=1, col=1, text="1,200"),
            Cell(id="d", row=2, col=1, text="<5"),
        ],
    )
    doc = Document(
        document_id="d",
        source_name="d.pdf",
        source_path="/d",
        sha256="0" * 64,
        pages=[Page(id="p0", index=0, width=1, height=1, unit="pt", tables=[table])],
    )
    [logical] = logical_tables(doc)
    assert to_markdown(logical) == [
        "| Sales \\| 2026 |  |",
        "|---|---|",
        "| North | 1,200 |",
        "|  | <5 |",
    ]
    assert to_csv(logical) == 'Sales | 2026,\nNorth,"1,200"\n,<5\n'
    html = to_html(logical)
    assert '<thead>\n<tr><th colspan="2">Sales | 2026</th></tr>\n</thead>' in html
    assert '<tr><td rowspan="2">North</td><td>1,200</td></tr>' in html
    assert "<tr><td>&lt;5</td></tr>" in html
