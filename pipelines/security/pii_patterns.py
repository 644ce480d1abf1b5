"""PII the entities stage does not look for, found in page text (pure functions).

Payment cards (Luhn via python-stdnum, plus a plausible issuer prefix and length), national
identifiers (checksummed with python-stdnum where it has the scheme, format-only for the UK
NINO), street lines of addresses in several languages, dates of birth after their label and
names or addresses after a form label ("Name:", "Address:"). Every finder returns `TextHit`s:
character offsets into the text it was given, never the value itself.

Identifiers with a weak check (one in ten or eleven random numbers passes: NL BSN, DE IdNr,
a bare Aadhaar, a bare SSN) count only after their label, so invoice numbers, phone numbers and
totals of the same length are not taken for them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Literal

from stdnum import luhn
from stdnum.de import idnr
from stdnum.es import dni, nie
from stdnum.fr import nir
from stdnum.in_ import aadhaar, pan
from stdnum.it import codicefiscale
from stdnum.my import nric
from stdnum.nl import bsn
from stdnum.us import ssn

from extractors.stages.entities.quantities import find_dates

PiiType = Literal[
    "PERSON", "EMAIL", "PHONE", "IBAN", "CARD", "ADDRESS", "NATIONAL_ID", "DATE_OF_BIRTH"
]
PII_TYPES: tuple[str, ...] = PiiType.__args__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class TextHit:
    type: PiiType
    start: int  # character offsets into the text searched
    end: int
    confidence: float
    detector: str  # which rule found it, e.g. "stdnum.nl.bsn"


def _digits(raw: str) -> str:
    return re.sub(r"\D", "", raw)


# --- Payment cards ----------------------------------------------------------------------------

# Issuer prefixes (inclusive ranges of the leading digits) and the lengths each scheme issues.
_CARD_SCHEMES: tuple[tuple[str, str, str, tuple[int, ...]], ...] = (
    ("visa", "4", "4", (13, 16, 19)),
    ("mastercard", "51", "55", (16,)),
    ("mastercard", "2221", "2720", (16,)),
    ("amex", "34", "34", (15,)),
    ("amex", "37", "37", (15,)),
    ("discover", "6011", "6011", (16, 17, 18, 19)),
    ("discover", "644", "649", (16, 17, 18, 19)),
    ("discover", "65", "65", (16, 17, 18, 19)),
    ("diners", "300", "305", (14, 16, 17, 18, 19)),
    ("diners", "36", "36", (14, 16, 17, 18, 19)),
    ("diners", "38", "39", (14, 16, 17, 18, 19)),
    ("jcb", "3528", "3589", (16, 17, 18, 19)),
    ("unionpay", "62", "62", (16, 17, 18, 19)),
    ("maestro", "50", "50", (13, 14, 15, 16, 17, 18, 19)),
    ("maestro", "56", "58", (13, 14, 15, 16, 17, 18, 19)),
    ("maestro", "67", "67", (13, 14, 15, 16, 17, 18, 19)),
    ("mir", "2200", "2204", (16,)),
    ("rupay", "60", "60", (16,)),
    ("rupay", "81", "82", (16,)),
)
# Printed groupings: 4-4-4-4(-3), Amex 4-6-5, Diners 4-6-4, or one unbroken run; one kind of
# separator throughout. Not inside a longer number, a decimal or a code.
_CARD = re.compile(
    r"(?<![\w.,/-])(?:"
    r"\d{4}(?P<s>[ -]?)\d{4}(?P=s)\d{4}(?P=s)\d{4}(?:(?P=s)\d{3})?"
    r"|\d{4}(?P<t>[ -]?)\d{6}(?P=t)\d{4,5}"
    r"|\d{13,19}"
    r")(?![\w/-]|[.,]\d| \d)"
)


def card_scheme(number: str) -> str | None:
    """The scheme whose prefix and length fit these digits, else None."""
    for scheme, low, high, lengths in _CARD_SCHEMES:
        head = number[: len(low)]
        if len(number) in lengths and low <= head <= high:
            return scheme
    return None


def find_cards(text: str) -> list[TextHit]:
    out = []
    for m in _CARD.finditer(text):
        number = _digits(m.group())
        scheme = card_scheme(number)
        if scheme and luhn.is_valid(number):
            out.append(TextHit("CARD", m.start(), m.end(), 0.95, f"stdnum.luhn.{scheme}"))
    return out


# --- National identifiers ---------------------------------------------------------------------


@dataclass(frozen=True)
class _IdRule:
    detector: str
    pattern: re.Pattern[str]
    valid: Callable[[str], bool]
    label: re.Pattern[str] | None = None  # required shortly before the value when set
    confidence: float = 0.9


def _num(body: str) -> re.Pattern[str]:
    """A number not inside a longer number or code."""
    return re.compile(rf"(?<![\w/-])(?:{body})(?![\w/-]|[.,]\d| \d)")


def _always(_: str) -> bool:
    return True


_SSN_LABEL = re.compile(r"(?i)\b(?:ssn|social\s+security(?:\s+(?:no|number|#))?)\b")
_BSN_LABEL = re.compile(r"(?i)\b(?:bsn|burgerservicenummer|sofi(?:-?nummer)?)\b")
_IDNR_LABEL = re.compile(
    r"(?i)(?:steuer-?\s?id|\bidnr\b|identifikationsnummer|steuerliche\s+id|\btin\b)"
)
_AADHAAR_LABEL = re.compile(r"(?i)\b(?:aadhaar|aadhar|uidai|uid)\b")
_ID_RULES: tuple[_IdRule, ...] = (
    # SSN: 3-2-4 is the printed form; stdnum rejects area 000/666/9xx and known fakes.
    _IdRule("stdnum.us.ssn", _num(r"\d{3} ?- ?\d{2} ?- ?\d{4}"), ssn.is_valid, None, 0.85),
    _IdRule("stdnum.us.ssn", _num(r"\d{3} \d{2} \d{4}|\d{9}"), ssn.is_valid, _SSN_LABEL),
    _IdRule(
        "stdnum.nl.bsn",
        _num(r"\d{4}\.?\d{2}\.?\d{3}|\d{3}[ .]\d{3}[ .]\d{3}"),
        bsn.is_valid,
        _BSN_LABEL,
    ),
    _IdRule("stdnum.de.idnr", _num(r"\d{2} ?\d{3} ?\d{3} ?\d{3}"), idnr.is_valid, _IDNR_LABEL),
    # NIR: sex, year, month, department (2A/2B in Corsica), commune, order, key mod 97.
    _IdRule(
        "stdnum.fr.nir",
        _num(r"[12] ?\d{2} ?(?:0[1-9]|1[0-2]|[2-9]\d) ?(?:\d{2}|2[AB]) ?\d{3} ?\d{3} ?\d{2}"),
        nir.is_valid,
    ),
    _IdRule("stdnum.es.dni", _num(r"\d{8}-?[A-Z]"), dni.is_valid, None, 0.85),
    _IdRule("stdnum.es.nie", _num(r"[XYZ]-?\d{7}-?[A-Z]"), nie.is_valid),
    _IdRule(
        "stdnum.it.codicefiscale",
        _num(r"[A-Z]{6}[0-9LMNP-V]{2}[A-EHLMPR-T][0-9LMNP-V]{2}[A-Z][0-9LMNP-V]{3}[A-Z]"),
        codicefiscale.is_valid,
        None,
        0.95,
    ),
    _IdRule("stdnum.in.aadhaar", _num(r"[2-9]\d{3} \d{4} \d{4}"), aadhaar.is_valid, None, 0.85),
    _IdRule("stdnum.in.aadhaar", _num(r"[2-9]\d{11}"), aadhaar.is_valid, _AADHAAR_LABEL),
    _IdRule("stdnum.in.pan", _num(r"[A-Z]{3}[ABCFGHLJPT][A-Z]\d{4}[A-Z]"), pan.is_valid),
    # NINO: stdnum has no module; the prefix rules (no D F I Q U V, no O second, no BG GB KN
    # NK NT TN ZZ) and the suffix A-D make the format specific enough.
    _IdRule(
        "format.gb.nino",
        _num(
            r"(?!BG|GB|KN|NK|NT|TN|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]"
            r" ?\d{2} ?\d{2} ?\d{2} ?[A-D]"
        ),
        _always,
        None,
        0.8,
    ),
    # MyKad: birth date and place of birth code are checked by stdnum.
    _IdRule("stdnum.my.nric", _num(r"\d{6}-\d{2}-\d{4}"), nric.is_valid, None, 0.85),
)
LABEL_REACH = 40  # characters before a value in which its label must stand


def find_national_ids(text: str) -> list[TextHit]:
    out = []
    for rule in _ID_RULES:
        for m in rule.pattern.finditer(text):
            if rule.label is not None and not rule.label.search(
                text, max(0, m.start() - LABEL_REACH), m.start()
            ):
                continue
            if rule.valid(re.sub(r"[\s.-]", "", m.group())):
                out.append(
                    TextHit("NATIONAL_ID", m.start(), m.end(), rule.confidence, rule.detector)
                )
    return out


# --- Addresses --------------------------------------------------------------------------------

# Number first, street word last (English): "221B Baker Street", "1600 Pennsylvania Ave NW".
_STREET_EN = re.compile(
    r"(?i)\b\d{1,5}[a-z]?,?\s+(?:[a-z][\w'.-]*\s+){0,4}?"
    r"(?:street|st|road|rd|avenue|ave|boulevard|blvd|lane|ln|drive|dr|court|ct|place|pl|way|"
    r"terrace|crescent|close|square|sq|highway|hwy|parkway|pkwy|circle|cir|row|walk|"
    r"suite|ste)\b"
)
# Street word first (Malay, French, Spanish, Italian, Portuguese); a number in the same line.
_STREET_FIRST = re.compile(
    r"(?i)(?<![\w])(?:jalan|jln|lorong|lrg|persiaran|lebuhraya|lebuh|taman|tmn|kampung|"
    r"rue|avenue|boulevard|bd|chemin|allée|impasse|quai|route|calle|avenida|avda|plaza|paseo|"
    r"carrer|via|viale|piazza|corso|largo|rua|travessa)\.?\s+\w"
)
# Compound street names with the house number after (German, Dutch): "Hauptstraße 5".
_STREET_SUFFIX = re.compile(
    r"(?i)\b[a-zäöüß][\wäöüß.-]*(?:straße|strasse|str\.|gasse|allee|platz|damm|ufer|"
    r"straat|laan|plein|gracht|kade|singel|dijk|steeg|(?<=\w{3})(?:str|weg|ring|hof|pad))"
    r"\s+\d{1,4}[a-z]?\b"
)
# Post boxes: "P.O. Box 10380", "Postfach 12 34", "Postbus 123", "BP 45", "Apartado 12".
_PO_BOX = re.compile(
    r"(?i)(?<![\w])(?:p\.?\s?o\.?\s?box|post\s?office\s+box|postfach|postbus|bo[iî]te\s+postale|"
    r"b\.?p\.|apartado(?:\s+de\s+correos)?|casella\s+postale)\s*\d"
)
_HAS_NUMBER = re.compile(r"\d")
MAX_ADDRESS_LINE_WORDS = 16  # longer lines are prose that mentions a street: keep the match
ORG_WORDS = (
    r"inc|ltd|llc|corp|corporation|company|co|gmbh|ag|bv|nv|sarl|sdn|bhd|plc|pte|pvt|"
    r"department|dept|division|group|university|institut|institute|committee|council|office|"
    r"services|association|foundation|bank|hospital|center|centre|trading|enterprises?|"
    r"hardware|store|supermarket|mart|restaurant|restoran|kedai|perniagaan|forschung|"
    r"industries|laboratories|labs"
)
_ORG_WORD = re.compile(rf"(?i)(?<![\w])(?:{ORG_WORDS})(?![\w])\.?")


def has_org_word(text: str) -> bool:
    """Whether `text` names a company or an institution ("Sdn Bhd", "GmbH", "Department")."""
    return _ORG_WORD.search(text) is not None


def _street_match(body: str) -> re.Match[str] | None:
    found = _STREET_EN.search(body) or _STREET_SUFFIX.search(body) or _PO_BOX.search(body)
    if found is None and _HAS_NUMBER.search(body):
        found = _STREET_FIRST.search(body)
    return found


def find_street_lines(text: str) -> list[TextHit]:
    """Street and post-box lines: the line where it is short (from after the last company
    word before the street: "ACME Inc. 666 Fifth Ave."), else the street match alone."""
    out = []
    for line in re.finditer(r"[^\n]+", text):
        body = line.group()
        match = _street_match(body)
        if match is None:
            continue
        start, end = line.start() + match.start(), line.start() + match.end()
        if len(body.split()) <= MAX_ADDRESS_LINE_WORDS:
            orgs = [m.end() for m in _ORG_WORD.finditer(body, 0, match.start())]
            start, end = line.start() + (orgs[-1] if orgs else 0), line.end()
        out.append(TextHit("ADDRESS", start, end, 0.7, "street"))
    return out


# --- Values after a label ---------------------------------------------------------------------

_NAME_LABEL = (
    r"(?:full\s+|first\s+|last\s+|family\s+|given\s+|maiden\s+)?name|surname|patient|employee|"
    r"applicant|insured|attn|attention|contact(?:\s+person)?|signed\s+by|signature|"
    r"prepared\s+by|submitted\s+by|approved\s+by|requested\s+by|naam|voornaam|achternaam|"
    r"vorname|nachname|nom|pr[ée]nom|nombre|apellidos?|nome|cognome|to|from|cc|bcc"
)
_ADDRESS_LABEL = (
    r"(?:home\s+|street\s+|postal\s+|mailing\s+)?address|adres|adresse|direcci[óo]n|indirizzo"
)
_DOB_LABEL = (
    r"date\s+of\s+birth|birth\s*date|d\.?o\.?b\.?|born(?:\s+on)?|geboortedatum|geburtsdatum|"
    r"geb\.|date\s+de\s+naissance|n[ée]e?\s+le|fecha\s+de\s+nacimiento|data\s+di\s+nascita"
)
# A label that names something other than a person: "Company name", "Item name", "File name".
_NOT_PERSON_LABEL = re.compile(
    r"(?i)\b(?:company|item|product|file|user|brand|vendor|store|shop|business|firm|"
    r"organi[sz]ation|project|bank|account|brand|trade|street|city|country|program|event|"
    r"plan|drug|test|study|document|form)\s+$"
)
_LABELLED = re.compile(
    rf"(?i)(?<![\w])(?P<l>{_NAME_LABEL}|{_ADDRESS_LABEL}|{_DOB_LABEL})\s*[:\-]\s*"
    r"(?P<v>[^\n]*\S)"
)
_NAME_TOKEN = re.compile(r"(?:[A-Z][a-zA-Z'’-]*\.?|[a-z]{1,3}|[A-Z]\.)(?:,)?")
# Values a form label is followed by that are no name or address.
_FILLER = re.compile(r"(?i)\s*(?:attached|below|above|none|n/?a|yes|no|same|see\s+\w+)\.?\s*")
MAX_NAME_TOKENS = 5
# Words the small NER model takes for (part of) a name on forms and receipts: labels beside the
# name ("Email", "Tel"), salutations, numbers, addresses; never a name themselves.
_NOT_NAME_WORD = re.compile(
    r"(?i)e-?mail|mail|tel|phone|fax|mobile|name|date|to|from|cc|attn|signature|signed|by|dear|"
    r"mr|mrs|ms|dr|prof|sir|madam|total|cashier|customer|thank|you|.*[\d@].*|\W*"
)


def not_a_name_word(text: str) -> bool:
    return _NOT_NAME_WORD.fullmatch(text.strip(".,:;()")) is not None


def looks_like_name(value: str) -> bool:
    """One to five capitalised tokens (particles such as "van", "de" allowed), no digits, no
    organisation or filler words."""
    tokens = value.replace(",", " ").split()
    if not 1 <= len(tokens) <= MAX_NAME_TOKENS or has_org_word(value) or _FILLER.fullmatch(value):
        return False
    if any(ch.isdigit() for ch in value) or not any(t[:1].isupper() for t in tokens):
        return False
    return all(_NAME_TOKEN.fullmatch(t) for t in tokens)


def label_type(label: str) -> PiiType | None:
    """What a form label announces: PERSON, ADDRESS or DATE_OF_BIRTH, else None."""
    if re.fullmatch(rf"(?i)\s*(?:{_DOB_LABEL})\s*[:\-]?\s*", label):
        return "DATE_OF_BIRTH"
    if re.search(rf"(?i)(?<![\w])(?:{_ADDRESS_LABEL})\s*[:\-]?\s*$", label):
        return None if re.search(r"(?i)e-?mail|web|ip\s+address", label) else "ADDRESS"
    match = re.search(rf"(?i)(?<![\w])(?:{_NAME_LABEL})\s*[:\-]?\s*$", label)
    if match and not _NOT_PERSON_LABEL.search(label[: match.start()]):
        return "PERSON"
    return None


def labelled_value(label: str, value: str) -> tuple[PiiType, int, int] | None:
    """The PII a label announces in `value`: (type, start, end) within `value`, or None."""
    kind = label_type(label)
    if kind == "PERSON" and looks_like_name(value):
        return kind, 0, len(value)
    if kind == "ADDRESS" and any(ch.isalpha() for ch in value) and not _FILLER.fullmatch(value):
        return kind, 0, len(value)
    if kind == "DATE_OF_BIRTH":
        dates = sorted(find_dates(value, None), key=lambda d: d.start)
        if dates and dates[0].start <= 2:
            return kind, dates[0].start, dates[0].end
    return None


# The next label on the same line ends a value: "Name: Ann Lee  Tel: 555 0100".
_NEXT_LABEL = re.compile(r"\s+[A-Za-z][\w .]{0,20}:")


def find_labelled(text: str) -> list[TextHit]:
    """Names, addresses and dates of birth after their label on the same line."""
    out = []
    for line in re.finditer(r"[^\n]+", text):
        for m in _LABELLED.finditer(line.group()):
            value = _NEXT_LABEL.split(m.group("v"), maxsplit=1)[0]
            found = labelled_value(line.group()[: m.start("v")], value)
            if found is None:
                continue
            kind, start, end = found
            at = line.start() + m.start("v")
            confidence = 0.9 if kind == "DATE_OF_BIRTH" else 0.75
            out.append(TextHit(kind, at + start, at + end, confidence, f"label.{kind.lower()}"))
    return out


def find_text_pii(text: str) -> Iterator[TextHit]:
    """Every finder of this module over one page's text."""
    yield from find_cards(text)
    yield from find_national_ids(text)
    yield from find_street_lines(text)
    yield from find_labelled(text)
