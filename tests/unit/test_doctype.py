"""`classify.doctype` on generated documents: one of each type in several languages, layout and
entity cues, the confidence, and the stage writing the document."""

from __future__ import annotations

import pytest

from extractors.document import Block, Document, Entity, Line, Page, Table, Word
from extractors.stages.doctype import TYPES, DocTypeStage, classify, features


def _document(
    text: str, width: float = 612, height: float = 792, pages: int = 1, tables: int = 0
) -> Document:
    made = []
    for index in range(pages):
        lines = []
        for n, row in enumerate(text.strip().split("\n")):
            words = [
                Word(id=f"p{index}-w{n}-{k}", text=w, bbox=[0.1, 0.01 * n, 0.2, 0.01 * n])
                for k, w in enumerate(row.split())
            ]
            lines.append(Line(id=f"p{index}-l{n}", text=row, bbox=[0.1, 0, 0.9, 0.01], words=words))
        page = Page(
            id=f"p{index}",
            index=index,
            width=width,
            height=height,
            unit="pt",
            blocks=[Block(id=f"p{index}-b0", bbox=[0, 0, 1, 1], lines=lines)],
        )
        page.tables = [
            Table(id=f"p{index}-t{t}", n_rows=2, n_cols=2, bbox=[0, 0, 1, 1]) for t in range(tables)
        ]
        made.append(page)
    return Document(document_id="d", source_name="d", source_path="d", sha256="0", pages=made)


RECEIPT = """KEDAI MAKAN SDN BHD
TEL 03-1234567
CASHIER: ALI
2 TEH TARIK 4.00
1 NASI LEMAK 3.50
TOTAL 7.50
CASH 10.00
CHANGE 2.50
THANK YOU PLEASE COME AGAIN"""
INVOICE_NL = """Factuur
Factuurnummer: 2019-0042
Factuurdatum: 18 april 2014
Vervaldatum: 18 mei 2014
Omschrijving Aantal Prijs Bedrag
Consultancy 10 95,00 950,00
Totaal excl. BTW 950,00
BTW 21% 199,50
Totaal 1.149,50
IBAN NL91 ABNA 0417 1643 00"""
INVOICE_DE = """Rechnung Nr. RE-2016-77
Rechnungsdatum: 3. Mai 2016
Zahlbar bis 17. Mai 2016, fällig ohne Abzug
Rechnungsbetrag 1.234,56 EUR inkl. MwSt
USt-IdNr. DE136695976"""
FORM = """APPLICATION FORM
Name:
Date of birth:
Address:
Phone:
[ ] Yes [ ] No
Signature:
Date:"""
LETTER = """Dear Mrs Jansen,
Thank you for your letter of 3 March in which you asked about the delivery of the goods that
we sent to your office last month. We have looked into the matter and we are sorry to hear
that the parcel arrived late and that part of the order was missing when it was opened.
A replacement has been sent to you today and it should arrive within three working days.
Yours sincerely,
Peter de Vries"""
LETTER_FR = """Madame, Monsieur,
Nous avons bien reçu votre demande du 12 mars et nous vous remercions de votre intérêt pour
nos services. Vous trouverez ci-joint la documentation que vous avez demandée ainsi que nos
conditions générales. Nous restons à votre disposition pour tout renseignement complémentaire.
Veuillez agréer nos salutations distinguées, cordialement,
Marie Dupont"""
CONTRACT = """SERVICE AGREEMENT
This Agreement is made between the parties named below (hereinafter the Parties).
WHEREAS the Supplier shall provide the services described in Article 2 of this contract;
1. The Supplier shall deliver the services in accordance with the terms and conditions.
2. Either party may terminate this agreement by written notice; termination shall not affect
liability incurred before it. This agreement shall be governed by the laws of England.
IN WITNESS WHEREOF the parties have signed this agreement."""
REPORT = """Annual Report 2012
1 Introduction
This report presents the results of the survey carried out among member states in 2012.
2 Methodology
The analysis is based on statistics collected by the national offices, see Table 1 and
Figure 2 for an overview of the results per region and per quarter of the fiscal year.
3 Results
Summary of the main findings and conclusions of the analysis are given in the appendix."""


@pytest.mark.parametrize(
    ("text", "kind", "layout"),
    [
        (RECEIPT, "receipt", {"width": 220, "height": 800}),
        (RECEIPT, "receipt", {}),
        (INVOICE_NL, "invoice", {"tables": 1}),
        (INVOICE_DE, "invoice", {}),
        (FORM, "form", {}),
        (LETTER, "letter", {}),
        (LETTER_FR, "letter", {}),
        (CONTRACT, "contract", {"pages": 3}),
        (REPORT, "report", {"pages": 5, "tables": 2}),
        ("x y z", "other", {}),
    ],
)
def test_types(text: str, kind: str, layout: dict[str, float]) -> None:
    document = _document(text, **layout)  # type: ignore[arg-type]
    found, confidence, probs = classify(document)
    assert found == kind, probs
    assert set(probs) == set(TYPES)
    assert abs(sum(probs.values()) - 1) < 1e-9
    assert confidence == max(probs.values())


def test_layout_and_entities_move_the_scores() -> None:
    tall = features(_document(RECEIPT, width=220, height=800))
    assert tall["tall"] == 1.0 and features(_document(RECEIPT))["tall"] == 0.0
    plain = _document("Number 2019-7 for the work done\nTotal 950.00")
    _, _, before = classify(plain)
    plain.entities = [
        Entity(id="e0", label="INVOICE_NUMBER", text="2019-7", page=0),
        Entity(id="e1", label="MONEY", text="950.00", page=0),
    ]
    _, _, after = classify(plain)
    assert after["invoice"] > before["invoice"]


def test_a_clear_document_is_surer_than_a_mixed_one() -> None:
    _, clear, _ = classify(_document(RECEIPT, width=220, height=800))
    _, mixed, _ = classify(_document(RECEIPT + "\n" + LETTER))
    assert clear > mixed


def test_stage_writes_type_and_confidence() -> None:
    document = _document(REPORT, pages=10, tables=1)
    stage = DocTypeStage()
    stage(document)
    assert document.doc_type == "report"
    assert document.doc_type_confidence is not None and 0 < document.doc_type_confidence <= 1
