"""Rulings from PDF path objects: lines, stroked and filled rectangles, /Rotate."""

from __future__ import annotations

import io
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from fpdf import FPDF

from extractors.ingest import IngestOptions, open_document
from extractors.rulings import Ruling, extract_rulings

W, H = 600.0, 800.0


def _pdf(draw: object, path: Path, rotate: int = 0) -> Path:
    pdf = FPDF(unit="pt", format=(W, H))
    pdf.add_page()
    pdf.set_line_width(1)
    draw(pdf)  # type: ignore[operator]
    data = bytes(pdf.output())
    if rotate:
        doc = pdfium.PdfDocument(data)
        doc[0].set_rotation(rotate)
        buffer = io.BytesIO()
        doc.save(buffer)
        doc.close()
        data = buffer.getvalue()
    path.write_bytes(data)
    return path


def _rulings(path: Path) -> list[Ruling]:
    doc = pdfium.PdfDocument(str(path))
    try:
        return extract_rulings(doc[0])
    finally:
        doc.close()


def _sorted(rulings: list[Ruling]) -> list[tuple[str, float, float, float, float]]:
    return sorted(
        (r.orientation, round(r.x0, 3), round(r.y0, 3), round(r.x1, 3), round(r.y1, 3))
        for r in rulings
    )


def test_lines_and_stroked_rectangle(tmp_path: Path) -> None:
    def draw(pdf: FPDF) -> None:
        pdf.line(60, 100, 540, 100)  # horizontal
        pdf.line(300, 100, 300, 400)  # vertical
        pdf.line(60, 500, 200, 600)  # slanted: not a ruling
        pdf.rect(60, 600, 120, 80, style="D")  # four edges

    got = _sorted(_rulings(_pdf(draw, tmp_path / "a.pdf")))
    assert got == [
        ("h", 0.1, 0.125, 0.9, 0.125),
        ("h", 0.1, 0.75, 0.3, 0.75),
        ("h", 0.1, 0.85, 0.3, 0.85),
        ("v", 0.1, 0.75, 0.1, 0.85),
        ("v", 0.3, 0.75, 0.3, 0.85),
        ("v", 0.5, 0.125, 0.5, 0.5),
    ]


def test_filled_bars_and_areas(tmp_path: Path) -> None:
    def draw(pdf: FPDF) -> None:
        pdf.set_fill_color(0, 0, 0)
        pdf.rect(60, 200, 480, 1.5, style="F")  # a bar: one ruling along its middle
        pdf.rect(60, 300, 240, 40, style="F")  # a shaded area: its edges

    rulings = _rulings(_pdf(draw, tmp_path / "b.pdf"))
    bars = [r for r in rulings if r.width > 0]
    assert len(bars) == 1 and bars[0].filled and bars[0].orientation == "h"
    assert bars[0].y0 == pytest.approx(200.75 / H, abs=1e-4)
    assert bars[0].width == pytest.approx(1.5, abs=0.01)
    edges = _sorted([r for r in rulings if r.width == 0])
    assert [e[0] for e in edges] == ["h", "h", "v", "v"]
    assert edges[0][1:] == (0.1, 0.375, 0.5, 0.375)


def test_rotated_page_maps_to_presented_frame(tmp_path: Path) -> None:
    def draw(pdf: FPDF) -> None:
        pdf.line(60, 100, 540, 100)  # near the top of the unrotated page

    # /Rotate 90 turns the page clockwise: the top edge becomes the right edge.
    rulings = _rulings(_pdf(draw, tmp_path / "r.pdf", rotate=90))
    assert len(rulings) == 1
    r = rulings[0]
    assert r.orientation == "v"
    assert r.x0 == pytest.approx(1 - 100 / H, abs=1e-4)
    assert (r.y0, r.y1) == (pytest.approx(60 / W, abs=1e-4), pytest.approx(540 / W, abs=1e-4))


def test_ingest_carries_rulings(tmp_path: Path) -> None:
    def draw(pdf: FPDF) -> None:
        pdf.set_font("Helvetica", size=10)
        pdf.text(60, 90, "Rules below")
        pdf.line(60, 100, 540, 100)

    opened = open_document(_pdf(draw, tmp_path / "i.pdf"), IngestOptions())
    try:
        page = opened.pages[0]
        assert page.text_layer_usable
        assert [r.orientation for r in page.rulings] == ["h"]
    finally:
        opened.close()


def test_form_xobject_matrix_applies(tmp_path: Path) -> None:
    """A page placed as a form XObject, scaled by half and moved: its rule follows."""

    def draw(pdf: FPDF) -> None:
        pdf.line(60, 100, 540, 100)

    src = pdfium.PdfDocument(str(_pdf(draw, tmp_path / "src.pdf")))
    dest = pdfium.PdfDocument.new()
    form = src.page_as_xobject(0, dest).as_pageobject()
    form.transform(pdfium.PdfMatrix().scale(0.5, 0.5).translate(100, 50))
    page = dest.new_page(W, H)
    page.insert_obj(form)
    page.gen_content()
    buffer = io.BytesIO()
    dest.save(buffer)
    path = tmp_path / "form.pdf"
    path.write_bytes(buffer.getvalue())
    (r,) = _rulings(path)
    # x: 60..540 halved, +100; y: 700 (user space) halved, +50 = 400, i.e. 400 from the top.
    assert (r.orientation, r.width) == ("h", pytest.approx(0.5))
    assert r.x0 * W == pytest.approx(130, abs=0.1)
    assert r.x1 * W == pytest.approx(370, abs=0.1)
    assert r.y0 * H == pytest.approx(400, abs=0.1)


def _raw(pdf: FPDF, operators: str) -> None:
    """Content-stream operators as written (PDF user space: origin bottom left, in pt)."""
    pdf._out(operators)  # fpdf2 has no API for one path of several subpaths


def test_a_filled_path_of_several_pieces_is_not_one_bar(tmp_path: Path) -> None:
    """Generators fill a row border as one path of pieces (junction squares, short bars): each
    piece is its own shape, not one bar across the union of them (which crossed a spanning
    cell in camelot's twotables_2 and cut it in two)."""

    def draw(pdf: FPDF) -> None:
        # one path: a 1.4 pt junction square at x 60, a bar from 300 to 540 (y 700, 0.5 thick)
        _raw(pdf, "0 0 0 rg 60 700 1.4 0.5 re 300 700 240 0.5 re f")

    got = _sorted(_rulings(_pdf(draw, tmp_path / "pieces.pdf")))
    assert got == [("h", 0.5, 0.125, 0.9, 0.125)]  # the bar alone, from x 300 to 540


def test_white_boxes_on_a_white_page_are_not_rulings(tmp_path: Path) -> None:
    """White boxes behind cell texts show nothing; white cells on a black table do (their
    edges are the table's visible borders)."""

    def on_white(pdf: FPDF) -> None:
        _raw(pdf, "1 1 1 rg 100 600 200 30 re f")

    def on_black(pdf: FPDF) -> None:
        _raw(pdf, "0 0 0 rg 100 500 200 100 re f 1 1 1 rg 101 501 98 98 re f")

    assert _rulings(_pdf(on_white, tmp_path / "white.pdf")) == []
    carved = _sorted(_rulings(_pdf(on_black, tmp_path / "black.pdf")))
    white_cell = [
        r for r in carved if round(r[1] * W) in (101, 199) or round(r[2] * H) in (201, 299)
    ]
    assert len(white_cell) >= 4  # the white cell's four edges are borders on the black
