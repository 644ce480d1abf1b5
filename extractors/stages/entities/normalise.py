"""Normalisers for what the pattern finders match: amounts, currencies and dates.

Each returns a normalised value (a decimal string, an ISO 4217 code, an ISO 8601 date) or None
when the text is not a valid instance, plus how sure it is where the text leaves room for doubt
(a day-first/month-first date, a two-digit year, a lone thousands separator).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

# OCR reads digits inside numbers as look-alike letters; fixed only where the context says
# "this is a number" (a currency beside it, a date shape), never in free text.
_OCR_DIGITS = str.maketrans({"O": "0", "o": "0", "D": "0", "I": "1", "l": "1", "|": "1"})
_SPACES = re.compile(r"[\s\u00a0\u202f]+")

# Currency markers -> ISO 4217. "$" alone is resolved by country (see `dollar_for`).
CURRENCY_SYMBOLS: dict[str, str] = {
    "€": "EUR",
    "£": "GBP",
    "¥": "JPY",
    "₹": "INR",
    "₩": "KRW",
    "₽": "RUB",
    "₺": "TRY",
    "₫": "VND",
    "₱": "PHP",
    "฿": "THB",
    "R$": "BRL",
    "US$": "USD",
    "S$": "SGD",
    "A$": "AUD",
    "C$": "CAD",
    "HK$": "HKD",
    "NZ$": "NZD",
    "RM": "MYR",
    "RS": "INR",
    "RS.": "INR",
    "EURO": "EUR",
    "EUROS": "EUR",
    "FR.": "CHF",
    "SFR": "CHF",
}
ISO_CURRENCIES = frozenset(
    [
        "EUR",
        "USD",
        "GBP",
        "INR",
        "MYR",
        "SGD",
        "CHF",
        "JPY",
        "CNY",
        "AUD",
        "CAD",
        "HKD",
        "IDR",
        "THB",
        "PHP",
        "VND",
        "KRW",
        "SEK",
        "NOK",
        "DKK",
        "PLN",
        "CZK",
        "HUF",
        "RON",
        "BGN",
        "TRY",
        "RUB",
        "ZAR",
        "BRL",
        "MXN",
        "NZD",
        "AED",
        "SAR",
        "ISK",
    ]
)
_DOLLARS = {"US": "USD", "SG": "SGD", "AU": "AUD", "CA": "CAD", "HK": "HKD", "NZ": "NZD"}


def dollar_for(country: str | None) -> str:
    return _DOLLARS.get(country or "", "USD")


def currency_code(marker: str, country: str | None = None) -> str | None:
    """ISO 4217 code of a currency marker as printed (`€`, `RM`, `eur`, `US$`, `$`)."""
    key = _SPACES.sub("", marker).upper()
    if key == "$":
        return dollar_for(country)
    if key in ISO_CURRENCIES:
        return key
    return CURRENCY_SYMBOLS.get(key)


@dataclass(frozen=True)
class Amount:
    value: Decimal
    confidence: float  # lower when the separators leave room for doubt

    def text(self) -> str:
        """Two decimals at least (`9.00`), more only where the document printed more."""
        exponent = self.value.as_tuple().exponent
        places = -exponent if isinstance(exponent, int) and exponent < -2 else 2
        return f"{self.value:.{places}f}"


def parse_amount(raw: str, decimal_comma: bool | None = None) -> Amount | None:
    """A printed number as a decimal: `1.234,56`, `1,234.56`, `1 234,56`, `9. 00`, `1O.5O`.

    The last separator followed by one or two digits is the decimal mark; separators before
    three-digit groups are thousands marks. A lone `1.234` or `1,234` is read by
    `decimal_comma` (the document's convention) and otherwise as thousands, less surely.
    """
    text = _SPACES.sub(" ", raw.strip()).translate(_OCR_DIGITS)
    text = re.sub(r"\s*([.,])\s*(?=\d{1,2}$)", r"\1", text)  # OCR: "9. 00" -> "9.00"
    if not text or not re.fullmatch(r"\d[\d.,' ’]*", text) or not text[-1].isdigit():
        return None
    confidence = 1.0
    seps = [(i, ch) for i, ch in enumerate(text) if not ch.isdigit()]
    integer, fraction = text, ""
    if seps:
        pos, mark = seps[-1]
        tail = text[pos + 1 :]
        others = {ch for _, ch in seps[:-1]}
        if mark in ".," and len(tail) in (1, 2) and mark not in others:
            integer, fraction = text[:pos], tail
        elif len(tail) == 3 and mark in ".," and len(seps) == 1:
            # "1.234" / "1,234": thousands unless the document writes decimals that way round
            # and only three decimals would make sense; keep thousands, but less surely.
            confidence = 0.7
            if decimal_comma is (mark == ","):
                integer, fraction = text[:pos], tail
        elif mark in ".," and len(tail) != 3:
            return None
    groups = re.split(r"[.,' ’]", integer)
    lakh = re.fullmatch(r"\d{1,2}(?:,\d\d)+,\d{3}", integer)
    if (
        len(groups) > 1
        and not lakh
        and (not 1 <= len(groups[0]) <= 3 or any(len(g) != 3 for g in groups[1:]))
    ):
        return None
    try:
        value = Decimal("".join(groups) + ("." + fraction if fraction else ""))
    except InvalidOperation:
        return None
    return Amount(value, confidence)


# Month names and abbreviations in English, Dutch, German, French, Spanish and Italian.
_MONTH_NAMES: dict[int, tuple[str, ...]] = {
    1: (
        "january",
        "jan",
        "januari",
        "januar",
        "jänner",
        "janvier",
        "janv",
        "enero",
        "ene",
        "gennaio",
        "gen",
    ),
    2: (
        "february",
        "feb",
        "februari",
        "februar",
        "février",
        "fevrier",
        "févr",
        "fevr",
        "fév",
        "febrero",
        "febbraio",
    ),
    3: ("march", "mar", "maart", "mrt", "märz", "maerz", "mär", "mars", "marzo"),
    4: ("april", "apr", "avril", "avr", "abril", "abr", "aprile"),
    5: ("may", "mei", "mai", "mayo", "maggio", "mag"),
    6: ("june", "jun", "juni", "juin", "junio", "giugno", "giu"),
    7: ("july", "jul", "juli", "juillet", "juil", "julio", "luglio", "lug"),
    8: ("august", "aug", "augustus", "août", "aout", "agosto", "ago"),
    9: ("september", "sep", "sept", "septembre", "septiembre", "settembre", "set"),
    10: ("october", "oct", "oktober", "okt", "octobre", "octubre", "ottobre", "ott"),
    11: ("november", "nov", "novembre", "noviembre"),
    12: (
        "december",
        "dec",
        "dezember",
        "dez",
        "décembre",
        "decembre",
        "déc",
        "diciembre",
        "dic",
        "dicembre",
    ),
}
MONTHS: dict[str, int] = {name: m for m, names in _MONTH_NAMES.items() for name in names}
# Longest first, so the regex alternation prefers "september" over "sep".
MONTH_PATTERN = "|".join(sorted((re.escape(n) for n in MONTHS), key=len, reverse=True))
TWO_DIGIT_PIVOT = 70  # "69" -> 2069, "70" -> 1970 (the POSIX convention)


def full_year(raw: str) -> int:
    year = int(raw)
    if len(raw) == 2:
        year += 2000 if year < TWO_DIGIT_PIVOT else 1900
    return year


def iso_date(year: int, month: int, day: int) -> str | None:
    """`YYYY-MM-DD`, or None when no such day exists (31 April, 29 February 2019)."""
    if not 1000 <= year <= 2999:
        return None
    try:
        return dt.date(year, month, day).isoformat()
    except ValueError:
        return None


def month_number(name: str) -> int | None:
    return MONTHS.get(name.lower().rstrip("."))


def numeric_date(
    a: str, b: str, year: str, month_first: bool | None, dotted: bool = False
) -> tuple[str, float] | None:
    """A `a/b/year` date: day-first or month-first by validity, then by the locale's convention
    (`month_first`: True for US-style, False for day-first, None when unknown; `dotted` dates
    are day-first wherever they are written). An order chosen
    only by convention is less sure; a two-digit year costs a little more."""
    x, y, full = int(a), int(b), full_year(year)
    dmy, mdy = iso_date(full, y, x), iso_date(full, x, y)
    value: str | None
    if dmy and mdy and dmy != mdy:
        value = mdy if month_first and not dotted else dmy
        confidence = 0.9 if dotted else 0.75 if month_first is not None else 0.6
    elif dmy or mdy:
        value, confidence = (dmy or mdy), 0.95
        if mdy and not dmy and (month_first is False or dotted):
            confidence = 0.8  # valid only month-first in a day-first locale
    else:
        return None
    if len(year) == 2:
        confidence -= 0.1
    return (value, round(confidence, 2)) if value else None
