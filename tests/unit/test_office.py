"""Office files: sniffing by content, DOCX/XLSX/PPTX structure, pictures through the OCR path,
and readable failures. Fixtures are written by the same libraries Folio reads them with."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import docx
import openpyxl
import pptx
import pytest
from docx.enum.section import WD_SECTION
from docx.shared import Inches
from openpyxl.comments import Comment
from pptx.util import Inches as PptxInches
from pptx.util import Pt

from extractors.document import Document, Line, Page
from extractors.ingest import IngestError, IngestOptions, open_document, sniff_media_type
from extractors.office import DOCX, PPTX, XLSX
from extractors.office.xlsx_reader import regions
from extractors.stage import LINES, PageContext, PageStage, register
from pipelines.execution.config import PipelineConfig, StageSpec, load_profile
from pipelines.execution.pipeline import Pipeline
from pipelines.export import document_markdown
from tests.conftest import text_image


def _picture(lines: list[str], size: tuple[int, int] = (700, 160)) -> io.BytesIO:
    data = io.BytesIO()
    text_image(lines, size=size, font_size=40).save(data, format="PNG")
    data.seek(0)
    return data


def make_docx(path: Path, picture: bool = True) -> Path:
    document = docx.Document()
    document.add_heading("Quarterly report", level=1)
    document.add_paragraph("Revenue grew in every region this quarter.")
    document.add_paragraph("North", style="List Bullet")
    document.add_paragraph("South", style="List Bullet")
    table = document.add_table(rows=3, cols=3)
    for r, row in enumerate([["Region", "Q1", "Q2"], ["North", "10", "12"], ["South", "7", ""]]):
        for c, text in enumerate(row):
            table.cell(r, c).text = text
    table.cell(2, 1).merge(table.cell(2, 2))  # "7" spans two columns
    if picture:
        document.add_picture(_picture(["INVOICE 4711"]), width=Inches(4))
    document.add_section(WD_SECTION.NEW_PAGE)
    document.add_paragraph("Appendix text on its own section.")
    document.save(str(path))
    return path


def make_xlsx(path: Path) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Sales"
    for row in [["Year", "Units"], [2024, 120], [2025, 135.0]]:
        sheet.append(row)
    sheet["E1"] = "Notes"  # a second region, separated by empty columns
    sheet["E2"] = "merged note"
    sheet.merge_cells("E2:F3")
    sheet["A2"].comment = Comment("Checked by audit", "Ann")
    other = book.create_sheet("Empty")
    other["A1"] = None
    hidden = book.create_sheet("Lookup")
    hidden["A1"] = "secret"
    hidden.sheet_state = "hidden"
    book.save(str(path))
    return path


def make_pptx(path: Path) -> Path:
    deck = pptx.Presentation()
    slide = deck.slides.add_slide(deck.slide_layouts[1])  # title and content
    assert slide.shapes.title is not None
    slide.shapes.title.text = "Roadmap 2027"
    body = slide.placeholders[1].text_frame
    body.text = "Ship the workbench"
    body.add_paragraph().text = "Review Office files"
    second = deck.slides.add_slide(deck.slide_layouts[6])  # blank
    frame = second.shapes.add_table(
        2, 2, PptxInches(1), PptxInches(1), PptxInches(4), PptxInches(1)
    )
    for r, row in enumerate([["Owner", "Task"], ["Ann", "Tables"]]):
        for c, text in enumerate(row):
            frame.table.cell(r, c).text = text
    box = second.shapes.add_textbox(PptxInches(1), PptxInches(3), PptxInches(4), PptxInches(1))
    box.text_frame.text = "Below the table"
    box.text_frame.paragraphs[0].runs[0].font.size = Pt(20)
    second.shapes.add_picture(_picture(["SLIDE 42"]), PptxInches(5), PptxInches(4))
    deck.save(str(path))
    return path


def _open(path: Path) -> list[Any]:
    with open_document(path, IngestOptions()) as opened:
        return [page.native for page in opened.pages]


# --- sniffing and failures ----------------------------------------------------------------------


def test_office_types_come_from_the_package_not_the_name(tmp_path: Path) -> None:
    files = {
        DOCX: make_docx(tmp_path / "a.docx"),
        XLSX: make_xlsx(tmp_path / "b.xlsx"),
        PPTX: make_pptx(tmp_path / "c.pptx"),
    }
    for media_type, path in files.items():
        misnamed = path.rename(tmp_path / f"{path.stem}.pdf")
        assert sniff_media_type(misnamed) == media_type


def test_a_zip_that_is_no_office_package_is_unsupported(tmp_path: Path) -> None:
    path = tmp_path / "archive.docx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("readme.txt", "hello")
    with pytest.raises(IngestError, match=r"not a supported file type \(detected: application/zip"):
        open_document(path, IngestOptions())


def test_truncated_and_damaged_office_files_fail_with_a_reason(tmp_path: Path) -> None:
    good = make_docx(tmp_path / "good.docx").read_bytes()
    truncated = tmp_path / "truncated.docx"
    truncated.write_bytes(good[: len(good) // 2])
    with pytest.raises(IngestError, match="corrupt Office file"):
        open_document(truncated, IngestOptions())
    broken = tmp_path / "broken.docx"  # a valid package whose main part is not XML
    with zipfile.ZipFile(io.BytesIO(good)) as src, zipfile.ZipFile(broken, "w") as dst:
        for item in src.infolist():
            data = b"<w:document" if item.filename == "word/document.xml" else src.read(item)
            dst.writestr(item, data)
    with pytest.raises(IngestError, match="corrupt DOCX file"):
        open_document(broken, IngestOptions())


def _ole(stream_name: str) -> bytes:
    """Enough of an OLE compound file for sniffing: magic plus a directory entry name."""
    header = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504
    return header + stream_name.encode("utf-16-le") + b"\x00" * 64


def test_password_protected_and_legacy_office_files_fail_with_a_reason(tmp_path: Path) -> None:
    encrypted = tmp_path / "secret.docx"
    encrypted.write_bytes(_ole("EncryptionInfo") + _ole("EncryptedPackage"))
    with pytest.raises(IngestError, match="password-protected Office file"):
        open_document(encrypted, IngestOptions())
    legacy = tmp_path / "old.doc"
    legacy.write_bytes(_ole("WordDocument"))
    with pytest.raises(IngestError, match="legacy binary Office file"):
        open_document(legacy, IngestOptions())


# --- structure ------------------------------------------------------------------------------


def test_docx_sections_headings_lists_tables_and_pictures(tmp_path: Path) -> None:
    first, second = _open(make_docx(tmp_path / "report.docx"))
    kinds = [(b.kind, b.text.split("\n")[0]) for b in first.blocks]
    assert kinds == [
        ("title", "Quarterly report"),
        ("text", "Revenue grew in every region this quarter."),
        ("list", "North"),
        ("list", "South"),
        ("table", "Region"),
        ("figure", ""),
    ]
    tops = [b.bbox[1] for b in first.blocks]
    assert tops == sorted(tops) and all(0 <= v <= 1 for b in first.blocks for v in b.bbox)
    (table,) = first.tables
    assert table.id == first.blocks[4].id and (table.n_rows, table.n_cols) == (3, 3)
    cells = {(c.row, c.col): c for c in table.cells}
    assert cells[(2, 1)].text == "7" and cells[(2, 1)].col_span == 2 and (2, 2) not in cells
    assert [c.is_header for c in table.cells if c.row == 0] == [True] * 3
    assert not any(c.is_header for c in table.cells if c.row > 0)
    assert len(first.images) == 1 and first.images[0].block_id == first.blocks[5].id
    assert [b.text for b in second.blocks] == ["Appendix text on its own section."]


def test_docx_words_split_their_line_box_in_order(tmp_path: Path) -> None:
    (page, _) = _open(make_docx(tmp_path / "r.docx"))
    line = page.blocks[1].lines[0]
    xs = [w.bbox[0] for w in line.words]
    assert [w.text for w in line.words] == line.text.split() and xs == sorted(xs)
    assert line.bbox[0] <= xs[0] and line.words[-1].bbox[2] <= line.bbox[2] + 1e-9


def test_xlsx_one_page_per_visible_sheet_with_regions_as_tables(tmp_path: Path) -> None:
    sales, empty = _open(make_xlsx(tmp_path / "book.xlsx"))
    assert [b.text for b in sales.blocks if b.kind == "title"] == ["Sales"]
    assert [b.text for b in empty.blocks] == ["Empty"] and not empty.tables  # hidden sheet left out
    numbers, notes = sales.tables
    grid = {(c.row, c.col): c.text for c in numbers.cells}
    assert grid == {(0, 0): "Year", (0, 1): "Units", (1, 0): "2024", (1, 1): "120",
                    (2, 0): "2025", (2, 1): "135"}  # fmt: skip
    assert numbers.bbox[2] < notes.bbox[0]  # side by side, as on the sheet
    merged = next(c for c in notes.cells if c.text == "merged note")
    assert (merged.row_span, merged.col_span) == (2, 2)
    assert any("Checked by audit" in b.text for b in sales.blocks)


def test_regions_are_connected_groups_of_cells() -> None:
    # An L-shape and a cell inside its rectangle are one table; a diagonal neighbour is not.
    cells = {(1, 1), (1, 2), (1, 3), (2, 1), (3, 1), (3, 3), (6, 1), (7, 2)}
    assert regions(cells) == [(1, 1, 3, 3), (6, 1, 6, 1), (7, 2, 7, 2)]


def test_pptx_slides_titles_lists_tables_pictures(tmp_path: Path) -> None:
    first, second = _open(make_pptx(tmp_path / "deck.pptx"))
    assert [(b.kind, b.text) for b in first.blocks] == [
        ("title", "Roadmap 2027"),
        ("list", "Ship the workbench\nReview Office files"),  # bulleted by the slide master
    ]
    assert [b.kind for b in second.blocks] == ["table", "text", "figure"]
    (table,) = second.tables
    assert [c.text for c in table.cells] == ["Owner", "Task", "Ann", "Tables"]
    assert [c.is_header for c in table.cells] == [True, True, False, False]
    assert second.blocks[1].bbox[1] > table.bbox[3]  # the text box sits below the table
    assert len(second.images) == 1


# --- through the pipeline -----------------------------------------------------------------------


@register
class PictureProbeStage(PageStage):  # type: ignore[type-arg]
    """Stands in for OCR: one line per picture naming its pixel size."""

    kind = "test.picture_probe"
    seen: ClassVar[list[tuple[int, int]]] = []

    def annotate(self, batch: Sequence[PageContext], predictions: Sequence[Any]) -> None:
        for ctx in batch:
            h, w = ctx.image.shape[:2]
            PictureProbeStage.seen.append((w, h))
            ctx.scratch[LINES] = [Line(id="l0", text=f"{w}x{h}", bbox=[0.1, 0.1, 0.9, 0.5])]


def test_only_pictures_go_through_the_page_stages(tmp_path: Path) -> None:
    config = PipelineConfig(
        name="t", stages=[StageSpec(kind="test.picture_probe"), StageSpec(kind="order.reading")]
    )
    PictureProbeStage.seen.clear()
    document = Pipeline(config).process(make_docx(tmp_path / "r.docx"))
    assert document.status == "ok" and len(document.pages) == 2
    assert PictureProbeStage.seen == [(700, 160)]  # the picture, at its own resolution
    first, second = document.pages
    figure = next(b for b in first.blocks if b.kind == "figure")
    assert [ln.text for ln in figure.lines] == ["700x160"]
    x0, y0, x1, y1 = figure.lines[0].bbox  # mapped from the picture into its figure box
    fx0, fy0, fx1, fy1 = figure.bbox
    assert fx0 < x0 < x1 < fx1 and fy0 < y0 < y1 < fy1
    assert (first.text_source, second.text_source) == ("mixed", "native")
    line_ids = [ln.id for ln in first.lines()]
    assert line_ids == [f"p0-l{i}" for i in range(len(line_ids))]
    again = Document.from_json(document.to_json())
    assert again.pages[0].tables[0].cells[0].text == "Region"
    markdown = document_markdown(document)
    assert "## Quarterly report" in markdown and "- North" in markdown
    assert "| Region | Q1 | Q2 |" in markdown


def test_pictures_are_read_by_real_ocr(tmp_path: Path) -> None:
    document = Pipeline(load_profile("text")).process(make_pptx(tmp_path / "deck.pptx"))
    assert document.status == "ok"
    figure = next(b for b in document.pages[1].blocks if b.kind == "figure")
    assert "42" in figure.text and all(ln.source == "ocr.ppocr" for ln in figure.lines)
    assert document.pages[0].blocks[0].text == "Roadmap 2027"


def test_a_page_without_pictures_never_renders(tmp_path: Path) -> None:
    document = Pipeline(load_profile("default")).process(make_xlsx(tmp_path / "book.xlsx"))
    assert document.status == "ok"
    assert document.pipeline is not None and document.pipeline.timings_ms.get("render", 0) == 0
    assert all(isinstance(page, Page) and page.text_source == "native" for page in document.pages)


def test_strict_open_xml_is_read_like_transitional(tmp_path: Path) -> None:
    from extractors.office.strict import _STRICT, _TRANSITIONAL

    good = make_docx(tmp_path / "t.docx", picture=False)
    strict = tmp_path / "strict.docx"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(strict, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            for strict_uri, transitional in reversed(_TRANSITIONAL):
                data = data.replace(b"http://schemas.openxmlformats.org/" + transitional,
                                    _STRICT + strict_uri)  # fmt: skip
            dst.writestr(item, data)
    with pytest.raises(KeyError):
        docx.Document(str(strict))  # python-docx alone does not know Strict
    first, _ = _open(strict)
    assert [b.kind for b in first.blocks][:3] == ["title", "text", "list"]


def test_chart_data_becomes_a_table_after_its_figure(tmp_path: Path) -> None:
    from pptx.chart.data import CategoryChartData
    from pptx.enum.chart import XL_CHART_TYPE

    deck = pptx.Presentation()
    slide = deck.slides.add_slide(deck.slide_layouts[6])
    data = CategoryChartData()
    data.categories = ["East", "West"]
    data.add_series("Units", (2.4000000000000004, 7))
    frame = slide.shapes.add_chart(
        XL_CHART_TYPE.COLUMN_CLUSTERED, PptxInches(1), PptxInches(1), PptxInches(6), PptxInches(4),
        data,
    )  # fmt: skip
    frame.chart.has_title = True
    frame.chart.chart_title.text_frame.text = "Units by region"
    deck.save(str(tmp_path / "chart.pptx"))
    (page,) = _open(tmp_path / "chart.pptx")
    assert [b.kind for b in page.blocks] == ["figure", "caption", "table"]
    assert page.blocks[1].text == "Units by region"
    grid = {(c.row, c.col): c.text for c in page.tables[0].cells}
    assert grid == {(0, 0): "", (0, 1): "Units", (1, 0): "East", (1, 1): "2.4",
                    (2, 0): "West", (2, 1): "7"}  # fmt: skip


@pytest.mark.parametrize("seed", range(12))
def test_damaged_bytes_fail_with_a_reason_never_a_crash(tmp_path: Path, seed: int) -> None:
    import random

    maker = (make_docx, make_xlsx, make_pptx)[seed % 3]
    data = bytearray(maker(tmp_path / f"x{seed}.{('docx', 'xlsx', 'pptx')[seed % 3]}").read_bytes())
    rng = random.Random(seed)
    for _ in range(30):  # flips inside compressed parts: zlib, CRC and XML errors
        data[rng.randrange(64, len(data))] = rng.randrange(256)
    path = tmp_path / "damaged.bin"
    path.write_bytes(bytes(data))
    try:
        with open_document(path, IngestOptions()) as opened:
            for page in opened.pages:
                page.render()
    except IngestError as error:
        assert str(error)


def test_docx_list_numbers_resume_after_an_interruption(tmp_path: Path) -> None:
    document = docx.Document()
    for text, style in [("First", "List Number"), ("Second", "List Number"),
                        ("A bullet", "List Bullet"), ("Third", "List Number")]:  # fmt: skip
        document.add_paragraph(text, style=style)
    document.save(str(tmp_path / "lists.docx"))
    (page,) = _open(tmp_path / "lists.docx")
    assert [(b.kind, b.text) for b in page.blocks] == [
        ("list", "1. First"),
        ("list", "2. Second"),
        ("list", "A bullet"),
        ("list", "3. Third"),
    ]


def test_office_evaluation_counts_words_and_tables_not_markup() -> None:
    from pipelines.evaluation.evaluate_office import count_tables, markdown_words

    reference = (
        "## Title\n\n- [x] Done item\n\n<!-- image -->\n\n[link text](https://example.com/x)\n\n"
        "| a | b |\n| - | - |\n| 1 | 2 |\n\ntext &lt;m:oMath&gt;\n\n| c |\n| - |\n"
    )
    words = markdown_words(reference)
    assert words["title"] == 1 and words["done"] == 1 and words["link"] == 1
    assert not {"x", "image", "https", "example"} & set(words) and words["omath"] == 1
    assert count_tables(reference) == 2
