"""forms.acroform: filled widgets of a hand-written AcroForm PDF as entities and links."""

from __future__ import annotations

from pathlib import Path

import pytest

from extractors.document import Block, Document, Page
from extractors.ingest import IngestOptions, open_document
from extractors.stages.forms.acroform import AcroFormStage, read_widgets
from tests.forms_fixtures import acroform_pdf


@pytest.fixture
def pdf(tmp_path: Path) -> Path:
    return acroform_pdf(tmp_path / "filled.pdf")


def _document(path: Path) -> Document:
    """The PDF as the pipeline sees it before the form stages: its text layer in one block."""
    with open_document(path, IngestOptions()) as opened:
        source = opened.pages[0]
        lines = list(source.text_lines or [])
        page = Page(
            id="p0",
            index=0,
            width=source.width,
            height=source.height,
            unit="pt",
            text_source="pdf",
            blocks=[Block(id="p0-b0", bbox=[0, 0, 1, 1], lines=lines)],
        )
    return Document(
        document_id="doc-acro",
        source_name=path.name,
        source_path=str(path),
        sha256="0" * 64,
        media_type="application/pdf",
        pages=[page],
    )


def test_widgets_read_with_names_values_states_and_boxes(pdf: Path) -> None:
    widgets = {(w.name, w.export): w for w in read_widgets(pdf)}
    name = widgets[("name", "")]
    assert (name.kind, name.value, name.tooltip) == ("text", "Jane Doe", "Full name")
    # /Rect [150 695 350 715] on a 612 x 792 page, origin top-left
    assert name.box == pytest.approx((150 / 612, 77 / 792, 350 / 612, 97 / 792), abs=2e-3)
    assert widgets[("agree", "Yes")].checked and not widgets[("newsletter", "Yes")].checked
    radio = {export: w.checked for (n, export), w in widgets.items() if n == "size"}
    assert radio == {"S": False, "M": True, "L": False}


def test_a_pdf_without_a_form_has_no_widgets(tmp_path: Path) -> None:
    from fpdf import FPDF

    doc = FPDF()
    doc.add_page()
    doc.set_font("helvetica", size=12)
    doc.cell(text="Name: Jane")
    path = tmp_path / "plain.pdf"
    doc.output(str(path))
    assert read_widgets(path) == []


def test_stage_writes_keys_values_checkboxes_and_links(pdf: Path) -> None:
    document = _document(pdf)
    AcroFormStage()(document)
    by_id = {e.id: e for e in document.entities}
    pairs = {
        (r.label, by_id[r.head].text, by_id[r.tail].text, by_id[r.tail].value)
        for r in document.relations
    }
    assert ("key_value", "Full name:", "Jane Doe", "Jane Doe") in pairs
    assert ("key_value", "City:", "Springfield", "Springfield") in pairs
    assert ("key_value", "Size:", "M", "M") in pairs
    assert ("checkbox_label", "Yes", "I agree to the terms", "agree") in pairs
    boxes = {
        (by_id[r.tail].text, by_id[r.head].value)
        for r in document.relations
        if r.label == "checkbox_label"
    }
    assert ("I agree to the terms", "true") in boxes
    assert ("Send me the newsletter", "false") in boxes
    key = next(e for e in document.entities if e.text == "Full name:")
    assert key.label == "KEY" and key.word_ids and key.value == "name"
    assert all(e.source == "forms.acroform" for e in document.entities)


def test_stage_skips_images_and_unreadable_files(tmp_path: Path) -> None:
    document = Document(
        document_id="d",
        source_name="x.pdf",
        source_path=str(tmp_path / "missing.pdf"),
        sha256="0" * 64,
        media_type="application/pdf",
    )
    AcroFormStage()(document)
    assert document.entities == []
    document.media_type = "image/png"
    AcroFormStage()(document)
    assert document.entities == []
