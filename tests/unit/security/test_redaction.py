"""Redaction: type tokens in every text of the copy (words, lines, cells, entities, fields,
relation evidence, Markdown), none of the PII left in the JSON bytes, the original untouched,
black boxes over the PII words of a page image and nothing else painted."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from extractors.document import Cell, DocField, Document, Entity, Relation, Table
from pipelines.export import document_markdown, document_tables_html
from pipelines.security.pii import PiiReport, detect_pii
from pipelines.security.redaction import (
    redact_document,
    redact_page_image,
    render_redacted_pages,
)
from tests.unit.security.test_pii import make_document

PII = [
    "Jordan Ellis",
    "Jordan",
    "Ellis",
    "jordan.ellis@example.org",
    "JORDAN.ELLIS@EXAMPLE.ORG",
    "7946 0958",
    "+442079460958",
    "NL91 ABNA 0417 1643 00",
    "NL91ABNA0417164300",
    "4111 1111 1111 1111",
    "Baker Street",
    "NW1 6XE",
    "536-90-4399",
]


# Blocks of lines with one value of each kind (the email in capitals: its entity's value is
# lower case, and must go too).
PII_BLOCKS = [
    ["Patient name: Jordan Ellis", "SSN 536-90-4399"],
    ["Email JORDAN.ELLIS@EXAMPLE.ORG", "Tel +44 20 7946 0958"],
    ["IBAN NL91 ABNA 0417 1643 00", "Card 4111 1111 1111 1111"],
    ["221B Baker Street", "London NW1 6XE"],
]


def _document() -> Document:
    doc = make_document([*PII_BLOCKS, ["Amount", "Ellis, J. 12.50"]])
    page = doc.pages[0]
    email = next(w for w in page.words() if "@" in w.text)
    amount_line = list(page.lines())[-1]
    page.tables = [
        Table(
            id="t0",
            bbox=[0.0, 0.5, 1.0, 0.8],
            n_rows=1,
            n_cols=2,
            cells=[
                Cell(row=0, col=0, text=email.text, word_ids=[email.id]),
                Cell(
                    row=0, col=1, text="Ellis, J.", word_ids=[w.id for w in amount_line.words[:2]]
                ),
            ],
        )
    ]
    doc.entities = [
        Entity(
            id="e0",
            label="EMAIL",
            text=email.text,
            value="jordan.ellis@example.org",
            page=0,
            word_ids=[email.id],
        ),
        Entity(id="e1", label="MONEY", text="12.50", value="12.50", page=0, word_ids=[]),
    ]
    doc.relations = [
        Relation(
            id="r0", label="person_org", head="e0", tail="e1", evidence="Jordan Ellis paid 12.50"
        )
    ]
    doc.fields = [DocField(name="customer", value="Jordan Ellis", page=0, evidence="name")]
    return doc


@pytest.fixture(scope="module")
def redacted() -> tuple[Document, Document, PiiReport]:
    doc = _document()
    report = detect_pii(doc)
    return doc, redact_document(doc, report), report


def test_no_pii_left_in_the_json_markdown_or_html(
    redacted: tuple[Document, Document, PiiReport],
) -> None:
    original, copy, _ = redacted
    exports = [
        copy.to_json(indent=1).encode(),
        document_markdown(copy).encode(),
        document_tables_html(copy).encode(),
    ]
    for data in exports:
        leaked = [value for value in PII if value.encode().lower() in data.lower()]
        assert leaked == []
    assert b"12.50" in exports[0] and b"Patient name:" in exports[1]  # the rest stays
    assert "Jordan Ellis" in original.to_json()  # the original is not touched


def test_tokens_replace_words_consistently(redacted: tuple[Document, Document, PiiReport]) -> None:
    _, copy, _ = redacted
    lines = [line.text for line in copy.pages[0].lines()]
    assert lines[0] == "Patient name: [PERSON] [PERSON]"
    assert lines[2] == "Email [EMAIL]"
    assert lines[-1] == "[PERSON], J. 12.50"  # punctuation around a word stays
    for line in copy.pages[0].lines():
        assert line.text == " ".join(w.text for w in line.words)
    cells = [c.text for c in copy.pages[0].tables[0].cells]
    assert cells == ["[EMAIL]", "[PERSON], J."]
    email = copy.entities[0]
    assert (email.text, email.value) == ("[EMAIL]", "[EMAIL]")
    assert copy.relations[0].evidence == "[PERSON] paid 12.50"
    assert copy.fields[0].value == "[PERSON]"


def test_page_image_is_black_over_pii_words_only(
    redacted: tuple[Document, Document, PiiReport],
) -> None:
    original, _, report = redacted
    page = original.pages[0]
    image = np.full((1000, 800, 3), 255, np.uint8)
    out = redact_page_image(image, page, report.findings)
    assert image.min() == 255  # a copy; the input is left as it is
    pii_ids = set(report.word_types())
    for word in page.words():
        x0, y0, x1, y1 = word.bbox
        inside = out[int(y0 * 1000) + 3 : int(y1 * 1000) - 3, int(x0 * 800) + 3 : int(x1 * 800) - 3]
        assert inside.size
        if word.id in pii_ids:
            assert inside.max() == 0, word.text
        else:
            assert inside.min() == 255, word.text


def test_render_redacted_pages_from_the_stored_file(
    tmp_path: Path, redacted: tuple[Document, Document, PiiReport]
) -> None:
    original, _, report = redacted
    path = tmp_path / "page.png"
    Image.new("RGB", (400, 500), "white").save(path)
    [(index, image)] = list(render_redacted_pages(path, original, report))
    assert index == 0 and image.shape == (500, 400, 3)
    email = next(w for w in original.pages[0].words() if "@" in w.text)
    x = int((email.bbox[0] + email.bbox[2]) / 2 * 400)
    y = int((email.bbox[1] + email.bbox[3]) / 2 * 500)
    assert image[y, x].tolist() == [0, 0, 0]
    assert image[495, 395].tolist() == [255, 255, 255]
