"""Finders for amounts of money, percentages and dates in page text (pure functions).

Each finder returns `Match`es with character offsets into the text it was given, a normalised
value and a confidence; `patterns.find_patterns` runs them all and resolves overlaps.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from extractors.stages.entities.normalise import (
    MONTH_PATTERN,
    currency_code,
    full_year,
    iso_date,
    month_number,
    numeric_date,
    parse_amount,
)


@dataclass(frozen=True)
class Match:
    label: str
    start: int
    end: int
    value: str | None
    confidence: float
    priority: int  # which of two overlapping matches wins (validated values rank highest)


# A number as printed. Loose digits admit OCR look-alikes (O for 0, l/I for 1) and a space
# beside the decimal mark; used only where a currency or an amount label says "number".
_DIG_LOOSE = r"[\dOoIl]"


def _number(dig: str, fraction: bool) -> str:
    # Western grouping in threes, or Indian lakh grouping (1,23,456).
    integer = rf"(?:\d{{1,2}}(?:,\d\d)+,\d{{3}}|\d{dig}{{0,2}}(?:[.,'’\u202f\u00a0 ]?{dig}{{3}})*)"
    frac = rf"(?: ?[.,] ?{dig}{{1,2}})"
    return rf"(?<![\d.,]){integer}{frac}{'' if fraction else '?'}(?![\d]|[.,]\d)"


NUM_LOOSE = _number(_DIG_LOOSE, fraction=False)
NUM_DECIMAL = _number(r"\d", fraction=True)
_SYMBOLS = r"US\$|S\$|A\$|C\$|HK\$|NZ\$|R\$|[€£¥₹₩₽₺₫₱฿$]"
_CODES = (
    r"(?<![A-Za-z])(?:EUR|USD|GBP|INR|MYR|SGD|CHF|JPY|CNY|AUD|CAD|HKD|IDR|THB|PHP|VND|KRW|SEK|"
    r"NOK|DKK|PLN|CZK|HUF|RON|BGN|TRY|RUB|ZAR|BRL|MXN|NZD|AED|SAR|RM|Rs\.?|RS\.?|[Ee]uros?|EURO)"
    r"(?![A-Za-z])"
)
CURRENCY = rf"(?:{_SYMBOLS}|{_CODES})"
_MONEY = re.compile(
    rf"(?P<cb>{CURRENCY})[ ():]{{0,3}}(?P<nb>{NUM_LOOSE})"
    rf"|(?P<na>{NUM_LOOSE}) ?(?P<ca>{CURRENCY})"
)
# Labels after which a decimal number is an amount even without a currency beside it.
_AMOUNT_LABEL = re.compile(
    r"(?i)(?<![a-z])(?:grand\s*total|sub\s*-?\s*total|total(?:\s*amount)?|amount(?:\s*due)?|"
    r"balance(?:\s*due)?|cash|change|rounding|nett?|tax|gst|vat|btw|mwst|ust|tva|totaal|bedrag|"
    r"te\s+betalen|montant(?:\s*t\.?t\.?c\.?)?|net\s+[àa]\s+payer|summe|gesamt(?:betrag)?|"
    r"rechnungsbetrag|endbetrag|zu\s+zahlen|betrag|importe)(?![a-z])"
    rf"[^\d\n]{{0,25}}?(?:\n[^\d\n]{{0,10}}?)?(?P<n>{_number(_DIG_LOOSE, fraction=True)})"
)
_PERCENT = re.compile(
    rf"(?P<n>{_number(r'[0-9]', fraction=False)}) ?(?:%|(?i:percent|procent|pour\s*cent|prozent))"
)


def _has_digits(text: str) -> bool:
    return sum(ch.isdigit() for ch in text) * 2 >= len(re.sub(r"\W", "", text))


def _trim_spaced_thousands(start: int, raw: str) -> tuple[int, str]:
    """A space groups thousands before a decimal comma (`1 234,56`) or with no decimals
    (`1 234 €`); before a decimal dot (`2 100.00`) the `2` is a quantity, so the amount starts
    after the last space."""
    fraction = re.search(r" ?[.,] ?[\dOoIl]{1,2}$", raw)
    if fraction is None or "," in fraction.group():
        return start, raw
    cut = max(raw.rfind(ch, 0, fraction.start()) for ch in " \u00a0\u202f") + 1
    return (start + cut, raw[cut:]) if cut > 0 else (start, raw)


def decimal_comma(text: str) -> bool | None:
    """Whether the text writes decimals with a comma (`12,50`) rather than a dot (`12.50`)."""
    comma = len(re.findall(r"(?<![\d,.])\d+,\d{2}(?![\d,.])", text))
    dot = len(re.findall(r"(?<![\d,.])\d+\.\d{2}(?![\d,.])", text))
    if comma == dot:
        return None
    return comma > dot


# A currency standing alone as a column head: "(RM)", "Amount (EUR)", a line "RM".
_CURRENCY_HEAD = re.compile(rf"\((?P<c>{CURRENCY})\)|^[ \t]*(?P<l>{CURRENCY})[ \t]*$", re.M)


def document_currency(text: str, country: str | None) -> str | None:
    """The currency of the text's explicit amounts and currency column heads (the most
    frequent one)."""
    counts = Counter(
        currency_code(m.group("cb") or m.group("ca"), country) for m in _MONEY.finditer(text)
    )
    counts.update(
        currency_code(m.group("c") or m.group("l"), country) for m in _CURRENCY_HEAD.finditer(text)
    )
    counts.pop(None, None)
    return counts.most_common(1)[0][0] if counts else None


def _money(value: str, currency: str | None) -> str:
    return f"{value} {currency}" if currency else value


def find_money(text: str, country: str | None, currency: str | None) -> list[Match]:
    """Amounts with a currency beside them (before or after), amounts after an amount label
    (in the document's currency), and other two-decimal numbers where the document has one."""
    comma = decimal_comma(text)
    out: list[Match] = []
    for m in _MONEY.finditer(text):
        group = "nb" if m.group("nb") else "na"
        start, raw = _trim_spaced_thousands(m.start(group), m.group(group))
        amount = parse_amount(raw, comma)
        code = currency_code(m.group("cb") or m.group("ca"), country)
        if amount is None or code is None or not _has_digits(raw):
            continue
        begin = m.start() if group == "nb" else start
        out.append(
            Match("MONEY", begin, m.end(), _money(amount.text(), code), 0.9 * amount.confidence, 6)
        )
    for m in _AMOUNT_LABEL.finditer(text):
        start, raw = _trim_spaced_thousands(m.start("n"), m.group("n"))
        amount = parse_amount(raw, comma)
        if amount is not None and _has_digits(raw):
            confidence = (0.8 if currency else 0.6) * amount.confidence
            out.append(
                Match("MONEY", start, m.end("n"), _money(amount.text(), currency), confidence, 5)
            )
    if currency:
        for m in re.finditer(NUM_DECIMAL, text):
            start, raw = _trim_spaced_thousands(m.start(), m.group())
            amount = parse_amount(raw, comma)
            mark = re.search(r"([.,]) ?\d{2}$", raw)
            # Only the document's own decimal mark: "55,57" in an address of a dot-decimal
            # receipt is two house numbers.
            if amount is None or mark is None:
                continue
            if comma is None or (mark.group(1) == ",") == comma:
                out.append(Match("MONEY", start, m.end(), _money(amount.text(), currency), 0.5, 2))
    return out


def find_percent(text: str) -> list[Match]:
    out: list[Match] = []
    for m in _PERCENT.finditer(text):
        amount = parse_amount(m.group("n"), decimal_comma(text))
        if amount is not None:
            value = format(amount.value.normalize(), "f")
            out.append(Match("PERCENT", m.start(), m.end(), f"{value}%", 0.9, 5))
    return out


_DATE_END = r"(?!\d|[.,/:-]\d)"
_ISO = re.compile(
    rf"(?<![\d./-])(?P<y>[12]\d{{3}})(?P<s>[-/.])(?P<m>\d{{1,2}})(?P=s)"
    rf"(?P<d>\d{{1,2}}){_DATE_END}"
)
_NUMERIC = re.compile(
    rf"(?<![\d./-])(?P<a>[\dO]{{1,2}}) ?(?P<s>[./-]) ?(?P<b>[\dO]{{1,2}}) ?(?P=s) ?"
    # OCR glues the time to the year: "08/02/20173:43:01PM".
    rf"(?P<y>[\dO]{{4}}(?=\d{{1,2}}:\d\d)|[\dO]{{4}}{_DATE_END}|[\dO]{{2}}{_DATE_END})"
)
# "20180428" as a whole token (receipt printers): valid dates only, and less surely.
_COMPACT = re.compile(r"(?<![\w.,/-])(?P<y>(?:19|20)\d\d)(?P<m>[01]\d)(?P<d>[0-3]\d)(?![\w.,]|-\d)")
_MON = rf"(?P<mon>{MONTH_PATTERN})\.?(?![a-zà-ÿ])"
_DAY_MONTH_YEAR = re.compile(
    rf"(?i)(?<![\w.])(?P<d>\d{{1,2}})(?:st|nd|rd|th|er|e|\.)?[ \-/.]{{0,2}}{_MON}"
    rf"[ \-/.,]{{0,3}}(?P<y>\d{{4}}|'?\d{{2}}){_DATE_END}"
)
_MONTH_DAY_YEAR = re.compile(
    rf"(?i)(?<![\w.]){_MON}[ \-]{{1,2}}(?P<d>\d{{1,2}})(?:st|nd|rd|th)?,?[ \-]{{1,2}}"
    rf"(?P<y>\d{{4}}|'\d{{2}}){_DATE_END}"  # "Jan 19 10:30" is no year 2010
)
_OCR_DATE = str.maketrans({"O": "0"})


def find_dates(text: str, month_first: bool | None) -> list[Match]:
    """Dates as ISO 8601: `2015-07-02`, `02.07.2015`, `7/2/15`, `18 april 2014`, `3. Mai 2016`,
    `12 mars 2015`, `Jan 5, 2019`, `05-JAN-19`. Day-first or month-first by validity, then by
    `month_first` (the locale's convention); doubt lowers the confidence."""
    out: list[Match] = []
    for m in _ISO.finditer(text):
        value = iso_date(int(m.group("y")), int(m.group("m")), int(m.group("d")))
        if value:
            out.append(Match("DATE", m.start(), m.end(), value, 0.95, 6))
    for m in _COMPACT.finditer(text):
        value = iso_date(int(m.group("y")), int(m.group("m")), int(m.group("d")))
        if value:
            out.append(Match("DATE", m.start(), m.end(), value, 0.6, 5))
    for m in _NUMERIC.finditer(text):
        parts = [m.group(k).translate(_OCR_DATE) for k in ("a", "b", "y")]
        if sum(ch == "O" for ch in m.group()) > 1:
            continue
        found = numeric_date(parts[0], parts[1], parts[2], month_first, m.group("s") == ".")
        if found:
            out.append(Match("DATE", m.start(), m.end(), found[0], found[1], 6))
    for pattern in (_DAY_MONTH_YEAR, _MONTH_DAY_YEAR):
        for m in pattern.finditer(text):
            month = month_number(m.group("mon"))
            year = m.group("y").lstrip("'")
            value = iso_date(full_year(year), month, int(m.group("d"))) if month else None
            if value:
                confidence = 0.95 if len(year) == 4 else 0.85
                out.append(Match("DATE", m.start(), m.end(), value, confidence, 6))
    return out
