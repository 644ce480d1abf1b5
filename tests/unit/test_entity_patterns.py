"""Pattern entities and their normalisers: amounts, dates, identifiers, contacts, labelled
numbers, postal codes, the document locale and overlap resolution."""

from __future__ import annotations

import itertools
from decimal import Decimal

import pytest

from extractors.stages.entities.normalise import (
    currency_code,
    full_year,
    iso_date,
    numeric_date,
    parse_amount,
)
from extractors.stages.entities.patterns import (
    Locale,
    find_identifiers,
    find_labelled,
    find_patterns,
    find_phones,
    find_postal_codes,
    locale_of,
    resolve_overlaps,
)
from extractors.stages.entities.quantities import Match, find_dates, find_money, find_percent

MY = Locale(country="MY", currency="MYR", month_first=False, decimal_comma=False)
NONE = Locale()


def _values(matches: list[Match], label: str) -> list[str | None]:
    return [m.value for m in matches if m.label == label]


@pytest.mark.parametrize(
    ("raw", "decimal_comma", "expected"),
    [
        ("1.234,56", None, "1234.56"),
        ("1,234.56", None, "1234.56"),
        ("1 234,56", None, "1234.56"),
        ("1234,5", None, "1234.5"),
        ("9. 00", None, "9.00"),  # OCR split the amount at the decimal mark
        ("9 .00", None, "9.00"),
        ("1O.5O", None, "10.50"),  # O read for 0
        ("l2.00", None, "12.00"),  # l read for 1
        ("1,23,456.00", None, "123456.00"),  # Indian lakh grouping
        ("1.234", True, "1234"),
        ("1.234", False, "1.234"),
        ("12", None, "12"),
    ],
)
def test_parse_amount(raw: str, decimal_comma: bool | None, expected: str) -> None:
    amount = parse_amount(raw, decimal_comma)
    assert amount is not None
    assert amount.value == Decimal(expected)


@pytest.mark.parametrize("raw", ["12,34,5", "1.23.45", "abc", "12.3456,7", ""])
def test_parse_amount_rejects_malformed(raw: str) -> None:
    assert parse_amount(raw) is None


def test_lone_thousands_separator_is_less_sure() -> None:
    lone, clear = parse_amount("1.234"), parse_amount("1.234,00")
    assert lone is not None and clear is not None
    assert lone.confidence < clear.confidence


def test_amount_text_keeps_two_decimals() -> None:
    assert parse_amount("12").text() == "12.00"  # type: ignore[union-attr]
    assert parse_amount("1.5", decimal_comma=False).text() == "1.50"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("marker", "country", "code"),
    [
        ("€", None, "EUR"),
        ("RM", None, "MYR"),
        ("eur", None, "EUR"),
        ("$", "SG", "SGD"),
        ("$", None, "USD"),
        ("US$", "SG", "USD"),
        ("Rs.", None, "INR"),
        ("XYZ", None, None),
    ],
)
def test_currency_code(marker: str, country: str | None, code: str | None) -> None:
    assert currency_code(marker, country) == code


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("Totaal € 1.234,56", "1234.56 EUR"),
        ("Montant TTC : 1 234,56 €", "1234.56 EUR"),
        ("Total 1,234.56 USD", "1234.56 USD"),
        ("TOTAL RM9.00", "9.00 MYR"),
        ("ROUND TOTAL (RM): 9.00", "9.00 MYR"),
        ("CASH RM 1O.00", "10.00 MYR"),  # O/0 beside a currency
        ("Grand Total EUR 12. 50", "12.50 EUR"),  # space after the decimal mark
        ("Rs. 1,23,456.00", "123456.00 INR"),
        ("Summe 12,50 EUR", "12.50 EUR"),
    ],
)
def test_money_with_currency(text: str, value: str) -> None:
    assert value in _values(find_money(text, None, None), "MONEY")


def test_money_after_label_takes_the_document_currency() -> None:
    (labelled,) = resolve_overlaps(find_money("TOTAL : 9.00", "MY", "MYR"))
    assert (labelled.value, labelled.confidence) == ("9.00 MYR", 0.8)
    assert _values(find_money("TOTAL : 9.00", None, None), "MONEY") == ["9.00"]


def test_quantity_before_amount_is_not_a_thousands_group() -> None:
    assert _values(find_money("Total 2 100.00 RM", "MY", "MYR"), "MONEY")[0] == "100.00 MYR"


def test_bare_decimals_follow_the_documents_decimal_mark() -> None:
    text = "NO.53 55,57 JALAN\nTEA 3.50\nCAKE 4.00"
    values = _values(find_money(text, "MY", "MYR"), "MONEY")
    assert values == ["3.50 MYR", "4.00 MYR"]  # "55,57" is two house numbers
    assert _values(find_money("TEA 3.50", None, None), "MONEY") == []  # no currency known


def test_percent() -> None:
    assert _values(find_percent("GST 6% and TVA 20 % and 5,5%"), "PERCENT") == [
        "6%",
        "20%",
        "5.5%",
    ]


@pytest.mark.parametrize(
    ("text", "month_first", "value"),
    [
        ("2015-07-02", None, "2015-07-02"),
        ("02.07.2015", True, "2015-07-02"),  # dotted: day-first even in a US-style locale
        ("25/12/2018", True, "2018-12-25"),  # only valid day-first
        ("12/25/2018", False, "2018-12-25"),  # only valid month-first
        ("03/04/19", True, "2019-03-04"),
        ("03/04/19", False, "2019-04-03"),
        ("18 april 2014", None, "2014-04-18"),
        ("12 mars 2015", None, "2015-03-12"),
        ("3. Mai 2016", None, "2016-05-03"),
        ("Jan 5, 2019", None, "2019-01-05"),
        ("January 5th 2019", None, "2019-01-05"),
        ("05-JAN-19", None, "2019-01-05"),
        ("1er janvier 2020", None, "2020-01-01"),
        ("15 DEC 2018", None, "2018-12-15"),
        ("2O/12/2018", None, "2018-12-20"),  # O read for 0 in a date shape
        ("18 mei 2014", None, "2014-05-18"),
    ],
)
def test_dates(text: str, month_first: bool | None, value: str) -> None:
    assert _values(find_dates(f"Date: {text} 10:30", month_first), "DATE") == [value]


@pytest.mark.parametrize("text", ["31/04/2019", "29.02.2019", "13/13/2020", "1.2.3.4", "v2.10.1"])
def test_invalid_dates_are_rejected(text: str) -> None:
    assert find_dates(text, None) == []


def test_date_ambiguity_lowers_confidence() -> None:
    (sure,) = find_dates("25/12/2018", None)
    (by_locale,) = find_dates("03/04/2018", False)
    (unknown,) = find_dates("03/04/2018", None)
    (short,) = find_dates("03/04/18", False)
    assert sure.confidence > by_locale.confidence > unknown.confidence
    assert short.confidence < by_locale.confidence


def test_two_digit_years_pivot() -> None:
    assert full_year("19") == 2019
    assert full_year("69") == 2069
    assert full_year("70") == 1970
    assert numeric_date("1", "2", "99", False) == ("1999-02-01", 0.65)
    assert iso_date(2019, 2, 29) is None


def test_iban_checksum() -> None:
    good = find_identifiers("IBAN: NL91 ABNA 0417 1643 00 BIC: ABNANL2A")
    assert _values(good, "IBAN") == ["NL91ABNA0417164300"]
    assert _values(good, "BIC") == ["ABNANL2A"]
    assert _values(find_identifiers("IBAN: NL92 ABNA 0417 1643 00"), "IBAN") == []
    assert _values(find_identifiers("IBAN DE89370400440532013000"), "IBAN") == [
        "DE89370400440532013000"
    ]


def test_vat_numbers() -> None:
    valid = find_identifiers("USt-IdNr.: DE136695976")
    assert ("DE136695976", 0.95) in [(m.value, m.confidence) for m in valid if m.label == "VAT"]
    unvalidated = find_identifiers("BTW: NL123456789B01")
    assert max(m.confidence for m in unvalidated if m.label == "VAT") < 0.9
    assert _values(find_identifiers("GSTIN: 27AAPFU0939F1ZV"), "VAT")[0] == "27AAPFU0939F1ZV"


def test_email_and_url() -> None:
    found = find_identifiers("Mail Info@Example.NL or see www.example.nl/contact.")
    assert _values(found, "EMAIL") == ["info@example.nl"]
    assert _values(found, "URL") == ["http://www.example.nl/contact"]


def test_phones() -> None:
    assert _values(find_phones("TEL: 07-3514788", "MY"), "PHONE")[0] == "+6073514788"
    assert _values(find_phones("call +31 20 123 4567", None), "PHONE") == ["+31201234567"]
    # No country: a national number after a label keeps its digits, not an E.164 guess.
    assert _values(find_phones("Tel: 020 123 4567", None), "PHONE") == ["0201234567"]


def test_labelled_numbers() -> None:
    text = (
        "Invoice No: INV-2019-001\nFactuurnummer: 2019-0042\nRechnungsnummer RE-77A1\n"
        "N° facture : F2015-12\nOrder #: PO-88\nKvK 12345678\nInvoice Date: 12/05/2019"
    )
    found = find_labelled(text, None)
    assert _values(found, "INVOICE_NUMBER") == ["INV-2019-001", "2019-0042", "RE-77A1", "F2015-12"]
    assert _values(found, "ORDER_NUMBER") == ["PO-88"]
    assert _values(found, "COMPANY_NUMBER") == ["12345678"]
    # "Invoice Date: 12/05/2019" is no invoice number.
    assert "12/05/2019" not in _values(found, "INVOICE_NUMBER")


def test_malaysian_company_number() -> None:
    found = find_labelled("BOOK TA .K (TAMAN DAYA) SDN BHD (789417-W)", "MY")
    assert _values(found, "COMPANY_NUMBER") == ["789417-W"]


def test_postal_codes_need_a_country() -> None:
    assert _values(find_postal_codes("81100 JOHOR BAHRU", "MY"), "POSTAL_CODE") == ["81100"]
    assert _values(find_postal_codes("1012 AB Amsterdam", "NL"), "POSTAL_CODE") == ["1012 AB"]
    assert _values(find_postal_codes("London SW1A 1AA", "GB"), "POSTAL_CODE") == ["SW1A 1AA"]
    assert find_postal_codes("81100 JOHOR BAHRU", None) == []


def test_locale_of() -> None:
    loc = locale_of("BOOK TA .K SDN BHD\nTOTAL RM 9.00\nCASH 10.00")
    assert (loc.country, loc.currency, loc.month_first, loc.decimal_comma) == (
        "MY",
        "MYR",
        False,
        False,
    )
    us = locale_of("Acme Inc., Springfield, IL 62704\nTotal $12.00")
    assert (us.country, us.currency, us.month_first) == ("US", "USD", True)
    assert locale_of("hello world") == Locale()


def test_overlaps_keep_the_validated_match() -> None:
    weak = Match("MONEY", 0, 10, "1.00", 0.5, 2)
    strong = Match("IBAN", 5, 20, "NL..", 0.99, 9)
    apart = Match("DATE", 21, 30, "2019-01-01", 0.9, 6)
    assert resolve_overlaps([weak, strong, apart]) == [strong, apart]


def test_find_patterns_on_a_receipt() -> None:
    text = (
        "BOOK TA .K (TAMAN DAYA) SDN BHD (789417-W)\n81100 JOHOR BAHRU\nTEL: 07-3514788\n"
        "DATE: 25/12/2018 8:13:39 PM\nTOTAL: 9.00\nCASH RM 10.00\nGST 6% 0.54"
    )
    found = find_patterns(text)
    assert "2018-12-25" in _values(found, "DATE")
    assert {"9.00 MYR", "10.00 MYR", "0.54 MYR"} <= set(_values(found, "MONEY"))
    assert _values(found, "PERCENT") == ["6%"]
    assert _values(found, "PHONE") == ["+6073514788"]
    spans = sorted((m.start, m.end) for m in found)
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans))


def test_ocr_glued_time_and_compact_dates() -> None:
    assert _values(find_dates("08/02/20173:43:01PM", False), "DATE") == ["2017-02-08"]
    assert _values(find_dates("20180428/191204", False), "DATE") == ["2018-04-28"]
    assert find_dates("20181332", False) == []  # no 32nd day of a 13th month
    assert find_dates("1234567820180428", False) == []  # inside a longer number


def test_currency_column_head_sets_the_document_currency() -> None:
    assert locale_of("ITEM\nRM\n14.00\nNET TOTAL 14.85").currency == "MYR"
    assert locale_of("Amount (EUR)\n12,50").currency == "EUR"


def test_a_date_after_a_reference_label_stays_a_date() -> None:
    text = "Date\nRef.\n\n05/02/2018\n11:14:00"
    assert find_labelled(text, "MY") == []
    assert _values(find_patterns(text), "DATE") == ["2018-02-05"]


def test_a_ratio_under_a_reference_head_is_no_reference() -> None:
    assert find_labelled("(4.7)\n\nRef.\n1.1\n2.0", None) == []
    assert find_labelled("Ref. 12", None) == []
    assert _values(find_labelled("Our ref:\nAB-1234", None), "REFERENCE") == ["AB-1234"]


def test_short_digit_groups_are_no_phones() -> None:
    assert find_phones("about 338 000 km2 of land", "US") == []
