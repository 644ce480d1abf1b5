"""Pattern entities in page text: contacts, bank and tax identifiers, document numbers after
their labels, postal codes in a known country, plus the quantities of `quantities`.

`find_patterns(text, context)` returns non-overlapping `Match`es (character offsets into `text`);
`locale_of(text)` reads the country, currency and number conventions a document's text implies.
Identifiers with a checksum (IBAN, EU VAT, GSTIN, BIC country) are validated with python-stdnum
and phone numbers with phonenumbers; a validated value ranks above anything it overlaps.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import phonenumbers
from stdnum import bic as stdnum_bic
from stdnum import iban as stdnum_iban
from stdnum.eu import vat as eu_vat
from stdnum.in_ import gstin as stdnum_gstin

from extractors.stages.entities.quantities import (
    Match,
    decimal_comma,
    document_currency,
    find_dates,
    find_money,
    find_percent,
)

# Country cues: legal forms, names, tax words, phone prefixes. The best-supported one wins.
_COUNTRY_CUES: dict[str, re.Pattern[str]] = {
    country: re.compile(pattern)
    for country, pattern in {
        "MY": r"(?i)\bsdn\.? ?bhd\b|\bbhd\b|malaysia|selangor|kuala lumpur|johor|\bMYR\b|"
        r"(?-i:\bRM\b)|\+60|\bjalan\b|\bjln\b|\btaman\b|darul|petaling",
        "SG": r"(?i)singapore|\bpte\.? ltd\b|\bSGD\b|S\$|\+65",
        "IN": r"(?i)\bindia\b|\bgstin\b|₹|\bINR\b|\brs\. ?\d|pvt\.? ltd|private limited|mumbai|"
        r"delhi|bengaluru|bangalore|\+91",
        "NL": r"(?i)nederland|netherlands|\bb\.v\.|\bbtw\b|factuur|\bkvk\b|amsterdam|rotterdam|"
        r"\+31",
        "BE": r"(?i)belgi[eëq]|\bbvba\b|\bbv ?ba\b|\+32",
        "DE": r"(?i)deutschland|germany|\bgmbh\b|ust-?id|rechnung|\bmwst\b|straße|strasse|\+49",
        "FR": r"(?i)\bfrance\b|\bsarl\b|\bs\.a\.s\.|\btva\b|facture|\bttc\b|siret|\+33",
        "GB": r"(?i)united kingdom|\bU\.?K\.?\b|£|\bGBP\b|vat reg|\+44",
        "US": r"(?i)\busa\b|united states|\binc\.|(?-i:\b[A-Z]{2} \d{5}(?:-\d{4})?\b)|\+1[ -]\d{3}",
    }.items()
}
_COUNTRY_CURRENCY = {
    "MY": "MYR",
    "SG": "SGD",
    "IN": "INR",
    "NL": "EUR",
    "BE": "EUR",
    "DE": "EUR",
    "FR": "EUR",
    "GB": "GBP",
    "US": "USD",
}


@dataclass(frozen=True)
class Locale:
    """What a document's text implies about where it is from and how it writes numbers."""

    country: str | None = None  # ISO 3166 alpha-2
    currency: str | None = None  # ISO 4217: the explicit amounts' currency, else the country's
    month_first: bool | None = None  # numeric dates month-first (US) or day-first
    decimal_comma: bool | None = None


def locale_of(text: str) -> Locale:
    counts = Counter({c: len(p.findall(text)) for c, p in _COUNTRY_CUES.items()})
    country, hits = counts.most_common(1)[0] if counts else (None, 0)
    country = country if hits else None
    currency = document_currency(text, country) or _COUNTRY_CURRENCY.get(country or "")
    month_first = None if country is None else country == "US"
    return Locale(country, currency, month_first, decimal_comma(text))


_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}(?![\w-])")
_URL = re.compile(r"(?i)\b(?:https?://|www\.)[^\s<>\"']*[^\s<>\"'.,;:)\]]")
_IBAN = re.compile(r"\b(?P<v>[A-Z]{2}[0-9O]{2}(?: ?[0-9A-Z]){11,30})")
_BIC = re.compile(
    r"(?i)\b(?:bic|swift)(?:[ /-]*(?:code|bic))?\s*[:.]?\s*(?P<v>(?-i:[A-Z]{6}[A-Z0-9]{2}"
    r"(?:[A-Z0-9]{3})?))\b"
)
_EU_VAT = re.compile(
    r"\b(?P<v>(?:AT|BE|BG|CY|CZ|DE|DK|EE|EL|ES|FI|FR|HR|HU|IE|IT|LT|LU|LV|MT|NL|PL|PT|RO|SE|SI|"
    r"SK|XI)[ .-]?[0-9A-Z](?:[ .-]?[0-9A-Z]){7,13})"
)
_GSTIN = re.compile(r"\b(?P<v>\d{2}[A-Z]{5}\d{4}[A-Z][0-9A-Z][Z2][0-9A-Z])\b")
_TAX_LABEL = re.compile(
    r"(?i)\b(?:vat|btw|tva|iva|p\.? ?iva|gst|ust|mwst|ust-?id(?:-?nr)?|tax)"
    r"(?:[ .-]*(?:reg(?:istration)?|identification))?\.?"
    r"(?:[ .-]*(?:id|no|nr|number|nummer|n[°º]))?\.?\s*[:#]?\s*"
    r"(?P<v>[A-Z]{0,3}[0-9][0-9A-Z.-]{6,16})\b"
)
_NUMBER_WORD = r"(?:no|nr|num(?:ber|éro|ero)?|nummer|n[°º]|#)"
_SEP = r"[ \t]*(?:\.|:|#|-)?[ \t]*(?:\.|:|#)?[ \t]*\n?[ \t]*"  # the value may start the next line
_VALUE = r"(?P<v>(?=[A-Za-z0-9\-/_.]*\d)[A-Za-z0-9][A-Za-z0-9\-/_.]*[A-Za-z0-9])"
_LABELLED: tuple[tuple[str, str, float], ...] = (
    (
        "INVOICE_NUMBER",
        rf"(?:tax\s+)?invoice\s*{_NUMBER_WORD}|inv\.?\s*{_NUMBER_WORD}|(?:cash\s+)?bill\s*"
        rf"{_NUMBER_WORD}|receipt\s*{_NUMBER_WORD}|factuur\s*{_NUMBER_WORD}|factuurnummer|"
        rf"factuurnr|rechnungs?\s*{_NUMBER_WORD}|rechnungsnummer|rechnungsnr|n[°º]\s*(?:de\s+)?"
        rf"facture|num[ée]ro\s+de\s+facture|facture\s*n[°º]|doc(?:ument)?\s*{_NUMBER_WORD}",
        0.85,
    ),
    (
        "ORDER_NUMBER",
        rf"order\s*{_NUMBER_WORD}|p\.?o\.?\s*{_NUMBER_WORD}|purchase\s+order(?:\s*{_NUMBER_WORD})?|"
        rf"bestel(?:nummer|nr|ling\s*{_NUMBER_WORD})|ordernummer|bestellnummer|bestell\s*nr|"
        rf"auftrags?(?:nummer|\s*nr)|n[°º]\s*(?:de\s+)?commande|num[ée]ro\s+de\s+commande",
        0.8,
    ),
    (
        "REFERENCE",
        r"(?:our|your)\s+ref(?:erence)?|ref(?:erence)?\s*(?:no|nr|#)?|referentie|(?:betalings)?"
        r"kenmerk|referenz|r[ée]f[ée]rence|customer\s*(?:no|id|number)|kundennummer|"
        r"klantnummer",
        0.7,
    ),
    (
        "COMPANY_NUMBER",
        rf"kvk(?:[\s-]*{_NUMBER_WORD})?|chamber\s+of\s+commerce|company\s*(?:reg(?:istration)?\.?"
        rf"\s*)?{_NUMBER_WORD}|co\.?\s*reg(?:istration)?\.?\s*{_NUMBER_WORD}|handelsregister|"
        r"\bhr[ab]\b|siren|siret|\brcs\b|\bcin\b|\broc\s*no|\bcrn\b|\bbrn\b",
        0.8,
    ),
)
_LABELLED_RE = [
    (label, re.compile(rf"(?i)(?<![a-z])(?:{pattern}){_SEP}{_VALUE}"), conf)
    for label, pattern, conf in _LABELLED
]
# Malaysian companies print their registration number after the legal form: "SDN BHD (789417-W)".
_MY_COMPANY = re.compile(r"(?i)\b(?:sdn\.?\s*)?bhd\.?\s*[(\[]?(?P<v>\d{5,8}-? ?[A-Z])[)\]]?")
_PHONE_LABEL = re.compile(
    r"(?i)\b(?:tel|phone|telephone|telefoon|telefon|t[ée]l[ée]phone|t[ée]l|fax|mobile|mob|hp|"
    r"gsm)\.?\s*(?:no|nr)?\.?\s*[:.]?\s*(?P<v>\+?\(?\d[\d ()\-./]{5,18}\d)"
)
# Digit runs shaped like a phone number; phonenumbers decides which are valid (its own
# PhoneNumberMatcher is several times slower on long pages).
_PHONE_CANDIDATE = re.compile(
    r"(?<![\w+.,/-])\+?\(?\d(?:\d|[ .-]\(?(?=\d)|\)[ .-]?(?=\d)){6,20}(?![\w/]|[.,:]\d)"
)
_POSTAL: dict[str, re.Pattern[str]] = {
    "NL": re.compile(r"\b(?P<v>[1-9]\d{3} ?(?!SA|SD|SS)[A-Z]{2})\b"),
    "GB": re.compile(r"\b(?P<v>[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2})\b"),
    "US": re.compile(r"\b[A-Z]{2},? (?P<v>\d{5}(?:-\d{4})?)\b"),
    "IN": re.compile(r"(?i)(?:pin(?:code)?\s*[:-]?\s*|[a-z]\s*[-–,]\s*)(?P<v>[1-9]\d{2} ?\d{3})\b"),
}
_FIVE_DIGIT = re.compile(r"(?<![\d.,/-])(?P<v>\d{5})(?=[ ,]+[A-ZÄÖÜÉ][A-Za-zÄÖÜäöüßéèà-]{2,})")
_FIVE_DIGIT_COUNTRIES = frozenset({"DE", "FR", "MY", "ES", "IT"})


def _compact(raw: str) -> str:
    return re.sub(r"[\s.-]", "", raw).upper()


def _longest_valid(raw: str, valid: Callable[[str], bool], shortest: int) -> str | None:
    """The longest prefix of `raw`, cut at a space, whose compact form validates: a greedy
    match may run on into the next word."""
    ends = [i for i, ch in enumerate(raw) if ch == " " and i > 0] + [len(raw)]
    for end in reversed(ends):
        compact = _compact(raw[:end])
        if len(compact) < shortest:
            break
        if valid(compact):
            return raw[:end]
    return None


def find_identifiers(text: str) -> list[Match]:
    """Email, URL, IBAN, BIC, EU VAT numbers and Indian GSTIN."""
    out = [
        Match("EMAIL", m.start(), m.end(), m.group().lower(), 0.95, 9)
        for m in _EMAIL.finditer(text)
    ]
    for m in _URL.finditer(text):
        value = m.group() if "://" in m.group() else "http://" + m.group()
        out.append(Match("URL", m.start(), m.end(), value, 0.9, 8))
    for m in _IBAN.finditer(text):
        raw = m.group("v")
        good = _longest_valid(raw, stdnum_iban.is_valid, 15)
        if good is None and "O" in raw[2:4]:  # OCR: "NLO2..." (letters never stand there)
            good = _longest_valid(
                raw[:2] + raw[2:4].replace("O", "0") + raw[4:], stdnum_iban.is_valid, 15
            )
        if good is not None:
            value = _compact(raw[:2] + raw[2:4].replace("O", "0") + good[4:])
            out.append(Match("IBAN", m.start(), m.start() + len(good), value, 0.99, 9))
    for m in _BIC.finditer(text):
        if stdnum_bic.is_valid(m.group("v")):
            out.append(Match("BIC", m.start("v"), m.end("v"), m.group("v"), 0.9, 8))
    for m in _EU_VAT.finditer(text):
        good = _longest_valid(m.group("v"), eu_vat.is_valid, 8)
        if good is not None:
            out.append(Match("VAT", m.start(), m.start() + len(good), _compact(good), 0.95, 9))
    for m in _GSTIN.finditer(text):
        valid = stdnum_gstin.is_valid(m.group("v"))
        out.append(
            Match(
                "VAT", m.start(), m.end(), m.group("v"), 0.95 if valid else 0.6, 9 if valid else 4
            )
        )
    for m in _TAX_LABEL.finditer(text):  # unvalidated: ranks below any validated match
        out.append(Match("VAT", m.start("v"), m.end("v"), _compact(m.group("v")), 0.6, 3))
    return out


# A value shaped like a date, a time or a plain decimal is not the number a label announces
# ("Ref. 05/02/2018" after a column of labels, "Ref." heading a table column of ratios).
_NOT_A_DOCUMENT_NUMBER = re.compile(
    r"\d{1,4}[./-]\d{1,2}[./-]\d{2,4}|\d{1,2}:\d\d(?::\d\d)?|\d{1,3}(?:[.,]\d+)?"
)


def find_labelled(text: str, country: str | None) -> list[Match]:
    """Invoice, order and reference numbers and company numbers after their labels."""
    out: list[Match] = []
    for label, pattern, confidence in _LABELLED_RE:
        for m in pattern.finditer(text):
            if _NOT_A_DOCUMENT_NUMBER.fullmatch(m.group("v")):
                continue
            out.append(Match(label, m.start("v"), m.end("v"), m.group("v").upper(), confidence, 7))
    if country in (None, "MY"):
        for m in _MY_COMPANY.finditer(text):
            value = re.sub(r"[\s]", "", m.group("v")).upper()
            out.append(Match("COMPANY_NUMBER", m.start("v"), m.end("v"), value, 0.7, 6))
    return out


def find_phones(text: str, country: str | None) -> list[Match]:
    """Phone numbers as E.164: international ones always, national ones where the country is
    known; numbers after a phone label otherwise keep their digits (no E.164 without a country)."""
    out: list[Match] = []
    for m in _PHONE_CANDIDATE.finditer(text):
        raw = m.group().rstrip(" (-./")
        if sum(ch.isdigit() for ch in raw) < 7:
            continue  # "(338 000 km2": shorter than any subscriber number with its area code
        if raw.startswith("+") or country:
            try:
                number = phonenumbers.parse(raw, None if raw.startswith("+") else country)
            except phonenumbers.NumberParseException:
                continue
            if phonenumbers.is_valid_number(number):
                e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
                out.append(Match("PHONE", m.start(), m.start() + len(raw), e164, 0.9, 6))
    for m in _PHONE_LABEL.finditer(text):
        raw = m.group("v").rstrip(" (-./")
        digits = re.sub(r"\D", "", raw)
        if len(digits) >= 7:
            value = ("+" + digits) if raw.startswith("+") else digits
            out.append(Match("PHONE", m.start("v"), m.start("v") + len(raw), value, 0.6, 5))
    return out


def find_postal_codes(text: str, country: str | None) -> list[Match]:
    """Postal codes only where the country is known, so their shape is unambiguous."""
    out: list[Match] = []
    pattern = _POSTAL.get(country or "")
    if pattern is None and country in _FIVE_DIGIT_COUNTRIES:
        pattern = _FIVE_DIGIT
    if pattern is not None:
        for m in pattern.finditer(text):
            value = re.sub(r"\s+", " ", m.group("v")).upper()
            out.append(Match("POSTAL_CODE", m.start("v"), m.end("v"), value, 0.75, 4))
    return out


def resolve_overlaps(matches: list[Match]) -> list[Match]:
    """Keep the best of overlapping matches: higher priority, then longer, then surer."""
    ranked = sorted(matches, key=lambda m: (-m.priority, -(m.end - m.start), -m.confidence))
    kept: list[Match] = []
    for match in ranked:
        if match.end > match.start and all(
            match.end <= k.start or match.start >= k.end for k in kept
        ):
            kept.append(match)
    return sorted(kept, key=lambda m: (m.start, m.end))


def find_patterns(text: str, locale: Locale | None = None) -> list[Match]:
    """Every pattern entity in `text`, overlaps resolved. `locale` is the document's (read from
    all of its pages); without one it is read from `text`."""
    loc = locale or locale_of(text)
    matches = [
        *find_identifiers(text),
        *find_labelled(text, loc.country),
        *find_phones(text, loc.country),
        *find_postal_codes(text, loc.country),
        *find_money(text, loc.country, loc.currency),
        *find_percent(text),
        *find_dates(text, loc.month_first),
    ]
    return resolve_overlaps(matches)
