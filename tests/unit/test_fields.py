"""Receipt and invoice fields (`fields.invoice`) on generated pages in five idioms."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import pytest

from extractors.document import Block, Cell, DocField, Document, Entity, Line, Page, Table, Word
from extractors.stage import DocumentStage, build_stage
from extractors.stages.fields.checks import cross_check
from extractors.stages.fields.labels import find_labels
from extractors.stages.fields.rows import page_rows, scan_rows
from extractors.stages.fields.values import find_amounts, find_row_dates

ROW_HEIGHT = 0.02


def _line(page: int, n: int, text: str, x0: float, y: float, height: float) -> Line:
    words = []
    x = x0
    for k, token in enumerate(text.split()):
        width = 0.012 * len(token)
        words.append(Word(id=f"p{page}-w{n}-{k}", text=token, bbox=[x, y, x + width, y + height]))
        x += width + 0.01
    return Line(id=f"p{page}-l{n}", text=text, bbox=[x0, y, x, y + height], words=words)


def page_of(
    rows: Sequence[str | tuple[str, str]], index: int = 0, heights: dict[int, float] | None = None
) -> Page:
    """A page with one block per column: each row is a text at the left margin, or a (left,
    right) pair whose right part sits in a second block at x = 0.65 (a receipt's amounts)."""
    left: list[Line] = []
    right: list[Line] = []
    y = 0.05
    for n, row in enumerate(rows):
        height = (heights or {}).get(n, ROW_HEIGHT)
        texts = (row, "") if isinstance(row, str) else row
        if texts[0]:
            left.append(_line(index, n, texts[0], 0.05, y, height))
        if texts[1]:
            right.append(_line(index, 1000 + n, texts[1], 0.65, y, height))
        y += height * 1.4
    blocks = [Block(id=f"p{index}-b0", bbox=[0, 0, 0.6, 1], lines=left, order=0)]
    if right:
        blocks.append(Block(id=f"p{index}-b1", bbox=[0.6, 0, 1, 1], lines=right, order=1))
    return Page(id=f"p{index}", index=index, width=600, height=800, unit="px", blocks=blocks)


def document_of(*pages: Page, doc_type: str = "receipt") -> Document:
    return Document(
        document_id="d",
        source_name="d.png",
        source_path="d.png",
        sha256="0",
        doc_type=doc_type,
        pages=list(pages),
    )


def run(document: Document) -> dict[str, DocField]:
    stage = build_stage("fields.invoice")
    assert isinstance(stage, DocumentStage)
    stage(document)
    return {f.name: f for f in document.fields if f.item is None}


def values(document: Document) -> dict[str, str | None]:
    return {name: f.value for name, f in run(document).items()}


RECEIPT: list[str | tuple[str, str]] = [
    "TAN WOON YANN",
    "MR D.I.Y. (JOHOR) SDN BHD",
    "(CO.REG : 933109-X)",
    "LOT 1851-A & 1851-B, JALAN KPB 6,",
    "43300 SERI KEMBANGAN, SELANGOR",
    "TEL: 03-8961 2233",
    "-INVOICE-",
    ("CHOPPING BOARD", "19.00"),
    ("AIR PRESSURE SPRAYER", "14.92"),
    ("Total Qty: 2", "33.92"),
    ("TOTAL RM", "33.92"),
    ("ROUNDING ADJUSTMENT", "-0.02"),
    ("Rounding", "RM 33.90"),
    ("CASH", "50.00"),
    ("CHANGE", "16.10"),
    "12-01-19 21:13 SH01 ZK09",
    "GST SUMMARY",
    ("Total:", "31.98 1.92"),
]


def test_receipt_fields() -> None:
    got = values(document_of(page_of(RECEIPT)))
    assert got["vendor_name"] == "MR D.I.Y. (JOHOR) SDN BHD"
    assert (
        got["vendor_address"] == "LOT 1851-A & 1851-B, JALAN KPB 6, 43300 SERI KEMBANGAN, SELANGOR"
    )
    assert got["total"] == "33.90"  # rounded: the amount paid, not 33.92 nor the tax summary's
    assert got["date"] == "2019-01-12"  # day-first in Malaysia
    assert got["currency"] == "MYR"


def test_fields_carry_words_boxes_and_evidence() -> None:
    document = document_of(page_of(RECEIPT))
    total = run(document)["total"]
    words = {w.id: w for w in document.pages[0].words()}
    assert total.word_ids and all(w in words for w in total.word_ids)
    assert "33.90" in " ".join(words[w].text for w in total.word_ids)
    assert total.bbox is not None and total.page == 0
    assert "rounded" in total.evidence and 0 < total.confidence <= 1


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        (  # Dutch, decimal comma, currency before the amount
            [
                "Bakkerij De Gouden Korenschoof B.V.",
                "Kerkstraat 12",
                "1017 GC Amsterdam",
                "FACTUUR",
                ("Factuurnummer", "F2014-0381"),
                ("Factuurdatum", "18 april 2014"),
                ("Vervaldatum", "2 mei 2014"),
                ("Subtotaal", "€ 1.020,30"),
                ("BTW 21%", "€ 214,26"),
                ("Totaal incl. BTW", "€ 1.234,56"),
            ],
            {
                "vendor_name": "Bakkerij De Gouden Korenschoof B.V.",
                "invoice_number": "F2014-0381",
                "date": "2014-04-18",
                "due_date": "2014-05-02",
                "subtotal": "1020.30",
                "tax": "214.26",
                "total": "1234.56",
                "currency": "EUR",
            },
        ),
        (  # French, currency after the amount, spaced thousands
            [
                "Atelier Lumière SARL",
                "14 rue des Lilas",
                "75011 Paris",
                "FACTURE",
                ("Facture N° FA-2015-117", ""),
                ("Date de facture : 02/07/2015", ""),
                ("Total HT", "1 028,80 €"),
                ("TVA 20 %", "205,76 €"),
                ("Montant TTC", "1 234,56 €"),
            ],
            {
                "vendor_name": "Atelier Lumière SARL",
                "invoice_number": "FA-2015-117",
                "date": "2015-07-02",
                "subtotal": "1028.80",
                "tax": "205.76",
                "total": "1234.56",
                "currency": "EUR",
            },
        ),
        (  # German, dotted date, EUR code
            [
                "Müller & Söhne GmbH",
                "Hauptstraße 5",
                "10115 Berlin",
                "Rechnung",
                ("Rechnungsnummer: 2015-0042", ""),
                ("Rechnungsdatum: 02.07.2015", ""),
                ("Nettobetrag", "1.037,44 EUR"),
                ("MwSt. 19%", "197,11 EUR"),
                ("Rechnungsbetrag", "1.234,55 EUR"),
            ],
            {
                "vendor_name": "Müller & Söhne GmbH",
                "invoice_number": "2015-0042",
                "date": "2015-07-02",
                "subtotal": "1037.44",
                "tax": "197.11",
                "total": "1234.55",
                "currency": "EUR",
            },
        ),
        (  # Indian, lakh grouping, rupee sign
            [
                "Sharma Textiles Pvt. Ltd.",
                "Plot 7, Sector 18, Noida 201301",
                "TAX INVOICE",
                ("Invoice No: INV/2019/552", ""),
                ("Date: 05-Jan-2019", ""),
                ("Taxable Value", "₹ 1,04,500.00"),
                ("IGST 18%", "₹ 18,810.00"),
                ("Grand Total", "₹ 1,23,310.00"),
            ],
            {
                "vendor_name": "Sharma Textiles Pvt. Ltd.",
                "invoice_number": "INV/2019/552",
                "date": "2019-01-05",
                "subtotal": "104500.00",
                "tax": "18810.00",
                "total": "123310.00",
                "currency": "INR",
            },
        ),
        (  # English, US dates, due date, customer block to skip
            [
                "INVOICE",
                "Brightline Consulting LLC",
                "400 Market Street, Suite 12",
                "San Francisco, CA 94103",
                "Bill To:",
                "Acme Corporation",
                ("Invoice #: 10-2291", ""),
                ("Invoice Date: 03/04/2021", ""),
                ("Due Date: 04/03/2021", ""),
                ("Subtotal", "$1,100.00"),
                ("Tax", "$90.75"),
                ("Amount Due", "$1,190.75"),
            ],
            {
                "vendor_name": "Brightline Consulting LLC",
                "invoice_number": "10-2291",
                "date": "2021-03-04",
                "due_date": "2021-04-03",
                "total": "1190.75",
                "currency": "USD",
            },
        ),
    ],
)
def test_invoices_in_five_idioms(
    rows: list[str | tuple[str, str]], expected: dict[str, str]
) -> None:
    got = values(document_of(page_of(rows), doc_type="invoice"))
    for name, value in expected.items():
        assert got.get(name) == value, name


def test_checks_that_add_up_leave_the_document_alone() -> None:
    document = document_of(
        page_of([("Subtotal", "$10.00"), ("Tax", "$0.80"), ("Total", "$10.80")]),
        doc_type="invoice",
    )
    fields = run(document)
    assert not document.review_reasons
    assert not any(f.flags for f in fields.values())


def test_a_failed_sum_flags_the_amounts_and_the_document() -> None:
    document = document_of(
        page_of([("Subtotal", "$10.00"), ("Tax", "$0.80"), ("Total", "$12.80")]),
        doc_type="invoice",
    )
    fields = run(document)
    assert all("sum" in fields[n].flags for n in ("subtotal", "tax", "total"))
    assert any("is not total 12.80" in r for r in document.review_reasons)


def test_due_date_before_date_and_implausible_years() -> None:
    fields = [
        DocField(name="date", value="2021-05-01", confidence=0.9),
        DocField(name="due_date", value="2021-04-01", confidence=0.9),
        DocField(name="total", value="5.00", confidence=0.9),
    ]
    reasons = cross_check(fields, today=dt.date(2022, 1, 1))
    assert fields[1].flags == ["due_date"] and fields[1].confidence < 0.9
    assert any("before the date" in r for r in reasons)
    old = [DocField(name="date", value="1901-01-01"), DocField(name="total", value="1.00")]
    assert any("implausible" in r for r in cross_check(old, today=dt.date(2022, 1, 1)))
    assert cross_check([DocField(name="date", value="2021-01-01")]) == ["no total found"]


def test_line_items_from_a_table() -> None:
    page = page_of(["Brightline Consulting LLC", "INVOICE", ("Total", "$300.00")])
    header = ["Description", "Qty", "Unit price", "Amount"]
    body = [["Design work", "2", "100.00", "200.00"], ["Hosting", "1", "100.00", "100.00"]]
    cells = [
        Cell(
            row=r,
            col=c,
            text=text,
            is_header=r == 0,
            bbox=[0.1 * c, 0.5 + 0.02 * r, 0.1 * c + 0.09, 0.51 + 0.02 * r],
        )
        for r, row in enumerate([header, *body])
        for c, text in enumerate(row)
    ]
    page.tables = [Table(id="p0-t0", n_rows=3, n_cols=4, bbox=[0, 0.5, 0.4, 0.56], cells=cells)]
    document = document_of(page, doc_type="invoice")
    run(document)
    items = [f for f in document.fields if f.item is not None]
    assert {(f.item, f.name, f.value) for f in items} >= {
        (0, "item_description", "Design work"),
        (0, "item_quantity", "2.00"),
        (0, "item_unit_price", "100.00"),
        (0, "item_amount", "200.00"),
        (1, "item_description", "Hosting"),
        (1, "item_amount", "100.00"),
    }
    assert not document.review_reasons  # 200 + 100 = 300


def test_no_fields_on_documents_of_other_types_or_without_a_total() -> None:
    assert run(document_of(page_of([("Total", "$3.00")]), doc_type="report")) == {}
    assert run(document_of(page_of(["Dear Sir,", "We met on 3 May 2019."]), doc_type="other")) == {}
    # an untyped bill still gets its fields; an untyped page whose only amount has no label
    # (a fallback total on a receipt) gets none
    assert (
        run(document_of(page_of([("TOTAL", "RM 3.00")]), doc_type="other"))["total"].value == "3.00"
    )
    top: list[str | tuple[str, str]] = [f"Text {n}" for n in range(14)]  # amount in lower half
    assert run(document_of(page_of([*top, ("Shapes", "4.50")]), doc_type="other")) == {}


def test_rerun_replaces_its_own_fields_only() -> None:
    document = document_of(page_of(RECEIPT))
    document.fields = [DocField(name="po_number", value="X1", source="review")]
    document.entities = [Entity(id="e0", label="ORG", text="x")]
    run(document)
    run(document)
    names = [f.name for f in document.fields]
    assert names.count("total") == 1 and "po_number" in names


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("Sub Total (RM): 106.10", "subtotal"),
        ("Total Incl, GST@6% RM 37.10", "total"),
        ("Total Sales (Excluding GST) : 31.03", "subtotal"),
        ("Tatal Sales (Inclusive of GST) : 32.70", "total"),
        ("Total Qty: 2", "ignore"),
        ("Totaal te betalen", "total"),
        ("Zwischensumme", "subtotal"),
        ("Date d'échéance", "due_date"),
    ],
)
def test_label_precedence(text: str, field: str) -> None:
    assert find_labels(text)[0].field == field


def test_amount_and_date_values() -> None:
    amounts = find_amounts("1.234,56 € and 12% and RM 7 and code 12345", comma=True, country="MY")
    assert [(a.value, a.currency) for a in amounts] == [("1234.56", "EUR"), ("7.00", "MYR")]
    assert [d.value for d in find_row_dates("HC03-7-15 12/01/2019 10:22", False)] == ["2019-01-12"]
    two_digit = find_row_dates("12-01-19", month_first=None)
    assert [d.value for d in two_digit] == ["2019-01-12"]
    assert [d.value for d in find_row_dates("04/03/2021", month_first=True)] == ["2021-04-03"]


def test_letterhead_beside_the_title_and_number() -> None:
    rows: list[str | tuple[str, str]] = [
        ("Northwind Office Supply Ltd.", "INVOICE"),
        ("12 Harbour Road", "Invoice no. INV-2026-0412"),
        ("Bristol BS1 5TT", "Date 14 November 2026"),
        ("VAT GB 123 4567 89", "Due 14 December 2026"),
        "Bill to",
        "Folio Analytics GmbH",
        ("Total due", "£663.35"),
    ]
    got = values(document_of(page_of(rows), doc_type="invoice"))
    assert got["vendor_name"] == "Northwind Office Supply Ltd."
    assert got["vendor_address"] == "12 Harbour Road Bristol BS1 5TT"
    assert (got["invoice_number"], got["date"], got["due_date"]) == (
        "INV-2026-0412",
        "2026-11-14",
        "2026-12-14",
    )
    assert (got["total"], got["currency"]) == ("663.35", "GBP")


def test_scan_rows_hands_matches_back_per_row() -> None:
    page = page_of(["Total 3.00", "Date 01/02/2020 x", "nothing"])
    rows = page_rows(page)
    found = scan_rows(rows, lambda text: find_amounts(text, None, None))
    assert [[(rows[n].text[v.start : v.end], v.value) for v in f] for n, f in enumerate(found)] == [
        [("3.00", "3.00")],
        [],
        [],
    ]


def test_a_sender_line_gives_the_name_without_the_address() -> None:
    rows: list[str | tuple[str, str]] = [
        "Müller & Söhne GmbH · Hauptstraße 5 · 10115 Berlin",
        "Kunde AG",
        "Rechnung",
        ("Rechnungsbetrag", "1.234,56 €"),
    ]
    got = values(document_of(page_of(rows), doc_type="invoice"))
    assert got["vendor_name"] == "Müller & Söhne GmbH"


def _receipt(top: list[str | tuple[str, str]]) -> list[str | tuple[str, str]]:
    return [*top, "-INVOICE-", ("ITEM", "9.00"), ("TOTAL RM", "9.00"), "12-01-19 21:13"]


def test_a_branch_in_parentheses_under_the_name_belongs_to_the_name() -> None:
    got = values(document_of(page_of(_receipt([
        "CHECKERS HYPERMARKET SDN BHD", "(JALAN KLANG LAMA)",
        "LOT 2942, JLN SERI SENTOSA 8,", "58000 KUALA LUMPUR.",
    ]))))  # fmt: skip
    assert got["vendor_name"] == "CHECKERS HYPERMARKET SDN BHD (JALAN KLANG LAMA)"
    assert got["vendor_address"] == "LOT 2942, JLN SERI SENTOSA 8, 58000 KUALA LUMPUR."


def test_a_tax_number_printed_in_groups_is_passed_over_before_the_address() -> None:
    got = values(document_of(page_of(_receipt([
        "TIMELESS KITCHENETTE SDN BHD", "GST Reg no : 0000 6771 0976",
        "Lot 50, Floor T2, Sky Avenue", "69000 Pahang Malaysia", "Guest Check",
    ]))))  # fmt: skip
    assert got["vendor_address"] == "Lot 50, Floor T2, Sky Avenue 69000 Pahang Malaysia"


@pytest.mark.parametrize("phone_row", ["T: 03-20937358", "Careline : 1800 88 1231"])
def test_a_phone_numbers_label_is_not_part_of_the_address(phone_row: str) -> None:
    document = document_of(page_of(_receipt([
        "BENS INDEPENDENT GROCER SDN BHD", "Lot 6, Jalan Batai",
        f"50490 Kuala Lumpur {phone_row}",
    ])))  # fmt: skip
    words = document.pages[0].blocks[0].lines[2].words
    first = next(k for k, w in enumerate(words) if w.text[0].isdigit() and k > 0)
    phone = words[first:]
    document.entities.append(Entity(
        id="e0", label="PHONE", text=" ".join(w.text for w in phone), page=0,
        bbox=phone[0].bbox, confidence=0.9, source="entities.patterns",
        word_ids=[w.id for w in phone],
    ))  # fmt: skip
    got = values(document)
    assert got["vendor_address"] == "Lot 6, Jalan Batai 50490 Kuala Lumpur"


def test_a_street_abbreviated_jl_is_an_address_not_a_name() -> None:
    got = values(document_of(page_of(_receipt([
        "K3-113, JL IBRAHIM SULTAN", "80300 JOHOR BAHRU", "H/P: 019-7521215",
    ]))))  # fmt: skip
    assert got["vendor_name"] != "K3-113, JL IBRAHIM SULTAN"


def test_the_address_ends_with_its_country() -> None:
    got = values(document_of(page_of(_receipt([
        "POPULAR BOOK CO. (M) SDN BHD", "No 8, Jalan 7/118B, Desa Tun Razak",
        "56000 Kuala Lumpur, Malaysia", "SUNWAY VELOCITY", "Tel : 03-9201 6281",
    ]))))  # fmt: skip
    address = "No 8, Jalan 7/118B, Desa Tun Razak 56000 Kuala Lumpur, Malaysia"
    assert got["vendor_address"] == address


def test_a_rounding_adjustment_row_leads_to_the_rounded_total_under_it() -> None:
    got = values(document_of(page_of([
        "BANH MI CAFE SDN BHD", "No. 1 Jalan Puteri 7/10", "-INVOICE-", ("ITEM", "21.30"),
        ("Total (Excluding GST):", "21.30"), ("Total (Inclusive of GST):", "23.26"),
        ("Rounding Adj:", "-0.01"), ("TOTAL:", "23.25"), ("CASH", "50.00"),
        "29-10-2017 18:31",
    ])))  # fmt: skip
    assert got["total"] == "23.25"


def test_a_timestamped_date_goes_before_an_unlabelled_one_and_expiry_dates_are_none() -> None:
    got = values(document_of(page_of([
        "13 MAR 2018", "POPULAR BOOK CO. (M) SDN BHD", "No 8, Jalan 7/118B",
        "-INVOICE-", "14-03-18 21:49 SH03 ZJ20", "Card Expiry: 30/09/17",
        ("ITEM", "9.00"), ("TOTAL RM", "9.00"),
    ])))  # fmt: skip
    assert got["date"] == "2018-03-14"
    expiry_first = values(document_of(page_of([
        "SHOP SDN BHD", "Card Expiry: 30/09/18", "01/03/18 Slip 0010104733",
        ("ITEM", "9.00"), ("TOTAL RM", "9.00"),
    ])))  # fmt: skip
    assert expiry_first["date"] == "2018-03-01"


def test_a_greeting_is_no_name_and_a_labelled_company_number_does_not_continue_one() -> None:
    got = values(document_of(page_of(_receipt([
        "TQFOR SHOPPING WITH myNEWS.com", "PAGOH REST AND SERVICE AREA",  # "THANK YOU" misread
        "LOT R1, KWS REHAT & RAWAT PAGOH,", "84600 PAGOH, JOHOR",
    ]))))  # fmt: skip
    assert got["vendor_name"] == "PAGOH REST AND SERVICE AREA"
    got = values(document_of(page_of(_receipt([
        "Timeless Kitchenette Sdn Bhd", "Company rto : 1174703-K", "Lot 50, Floor T2",
    ]))))  # fmt: skip
    assert got["vendor_name"] == "Timeless Kitchenette Sdn Bhd"
