"""The vendor (issuer) of a receipt or invoice and its address, from the top of the first page.

The vendor is the business that issued the document: on receipts the name printed at the top
(often with a legal form, SDN BHD, LTD, GMBH, B.V.), on invoices the letterhead, not the
customer block under "Bill to" / "Factuur aan" / "Rechnung an". Its address is the run of rows
under the name, in the same column, up to the first contact, tax or document line.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import median

from extractors.stages.fields.rows import Row, split_row, sub_row
from extractors.stages.fields.values import find_row_dates

# Rows from the top of the first page that may hold the vendor's name.
VENDOR_ROWS = 12
ADDRESS_ROWS = 6
MAX_SKIPPED = 4  # rows between the name and the address (company number, branch, time)

_LEGAL_FORM = re.compile(
    r"(?i)(?<![a-z])(?:sdn\.?\s*bhd|bhd|berhad|s/b|enterprise|trading|restaurant|restoran|"
    r"ltd|limited|plc|llc|llp|inc|corp(?:oration)?|company|co\.|gmbh|ag|kg|ohg|e\.k|ug|"
    r"b\.?v\.?|n\.?v\.?|v\.?o\.?f|s\.a\.?r?\.?l?|sas|s\.p\.a|srl|pvt|private|pte|"
    r"store|mart|market|supermarket|shop|cafe|caf[ée]|bakery|hardware|pharmacy|stationery|"
    r"book(?:store|shop)?|kedai|perniagaan|syarikat|industries|services|solutions|"
    r"hotel|food|station|motor|electrical|trading|agency|& ?co|enterprises)(?![a-z])"
)
# Rows that are not a name: document titles, greetings, contact and tax lines, labels.
_NOT_A_NAME = re.compile(
    r"(?i)(?<![a-z])(?:tax\s+invoice|invoice|receipt|factuur|rechnung|facture|quotation|"
    r"bill|cash\s+sale|official|welcome|thank|please|visit\s+us|shopping\s+with|"
    r"tel|fax|phone|email|e-mail|www|http|gst|sst|"
    r"vat|btw|ust|tva|reg(?:istration)?\.?\s*no|co\.?\s*reg|company\s+no|kvk|iban|date|"
    r"page|no\s*:|cashier|table|order)(?![a-z])"
)
# Rows after which the customer, not the vendor, is named.
_CUSTOMER = re.compile(
    r"(?i)(?<![a-z])(?:bill(?:ed)?\s+to|invoice\s+to|sold\s+to|ship(?:ped)?\s+to|deliver(?:y|ed)?\s+"
    r"to|customer|client|buyer|factuur\s+aan|klant|rechnung\s+an|rechnungsempf[äa]nger|kunde|"
    r"factur[ée]\s+[àa]|destinataire|to\s*:)(?![a-z])"
)
# "Van:" (Dutch), "Von:" (German), "De :" (French): the colon tells them from a name's "Van der".
_FROM = re.compile(r"(?i)^(?:from|seller|supplier|vendor|van|von|de|fournisseur|verkoper)\s*:\s*")
_ADDRESS_STOP = re.compile(
    r"(?i)(?<![a-z])(?:te[l1]|telephone|fax|phone|mobile|h/?p|email|e-mail|www|http|gst|sst|vat|"
    r"btw|ust|tva|(?:tax\s*)?invoice|receipt|factuur|rechnung|facture|date|cashier|kvk|iban|"
    r"bank|cash\s*bill|guest\s*check|roc|"
    r"(?:co(?:mpany)?\.?\s*)?reg(?:istration)?\.?\s*no|company\s*no)(?![a-z])|"
    r"\d{9,}"
)
# A row that only holds a company or tax number: "(CO.REG : 933109-X)", "JM0325955-V",
# "822737-X BHD", "GST No :002108047369".
_REGISTRATION = re.compile(
    r"(?i)^\(?\s*(?:(?:co(?:mpany)?[.-]?\s*)?reg(?:istration)?\.?\s*(?:no)?|roc\s*no|"
    r"(?:co(?:mpany)?|br)\.?\s*no\.?|"
    r"(?:gst|sst|vat)\s*(?:id|no|reg(?:istration)?)?\.?\s*(?:no)?)?[\s.:]*"
    r"\(?[A-Z]{0,3}\d{5,12}\s*-?\s*[A-Z]?\s*\)?(?:\s*(?:sdn\.?\s*)?bhd\.?)?\s*$"
)
# A company number printed after the name: "(CO.REG : 933109-X)", "(81109-A)".
_TRAILING_NUMBER = re.compile(
    r"\s*(?:[(\[]\s*co(?:mpany)?\.?\s*(?:reg|no)[^)\]]*|[(\[]?\s*[a-z]?\d{4,9}\s*-?\s*[a-z])\s*[)\]]?\s*$",
    re.I,
)
_ADDRESS_CUE = re.compile(
    r"(?i)(?<![a-z])(?:jalan|jln|jl|lorong|taman|seksyen|section|no[.:]?\s*[a-z]?\d|lot|flr|fl|lvl|level|blk|block|street|st\.|road|rd\.?|avenue|ave|"
    r"lane|floor|suite|unit|building|straat|weg|laan|plein|stra(?:ss|ß)e|str\.|platz|rue|"
    r"avenue|boulevard|bd|chemin|place|nagar|sector|marg)(?![a-z])|\b\d{5,6}\b|"
    r"\b[1-9]\d{3} ?[A-Z]{2}\b|^\d{1,4}[A-Z]?\s*[,.]"
)


# A branch printed in parentheses under the name: "(JALAN KLANG LAMA)", "(SETIA ALAM)".
_BRANCH = re.compile(r"^\((?:[^\W\d_]+[ .&'-]*){1,5}\)$")

_LEADING_LEGAL_FORM = re.compile(
    r"(?i)^(?:[\w.)]+\s+)?(?:\(\w\)\s*)?(?:co\.|company|sdn\.?\s*bhd|bhd|berhad|s/b|enterprise|"
    r"trading|ltd|limited|plc|llc|inc|corp|gmbh|ag|b\.?v\.?|n\.?v\.?|s\.a\.|sarl|pvt|private|pte)"
    r"(?![a-z])"
)


@dataclass(frozen=True)
class Vendor:
    name_rows: Sequence[Row]
    name: str
    confidence: float
    address_rows: tuple[Row, ...]


def _letters(text: str) -> int:
    return sum(ch.isalpha() for ch in text)


def _customer_rows(rows: Sequence[Row]) -> set[int]:
    """Rows of the customer block: the label row and up to four rows under it that start near
    the label's left edge."""
    out: set[int] = set()
    for n, row in enumerate(rows):
        m = _CUSTOMER.search(row.text)
        if not m:
            continue
        label_words = row.words_in(m.start(), m.end())
        left = label_words[0].bbox[0] if label_words else row.left
        out.add(n)
        for below in rows[n + 1 : n + 5]:
            if any(abs(w.bbox[0] - left) < 0.1 for w in below.words):
                out.add(below.number)
    return out


def name_score(row: Row, position: int, typical_height: float) -> float:
    text = _TRAILING_NUMBER.sub("", row.text.strip())
    letters = _letters(text)
    if letters < 3 or letters < 0.5 * len(text.replace(" ", "")):
        return 0.0
    score = 0.4
    if _LEGAL_FORM.search(text):
        score += 0.35
    if _NOT_A_NAME.search(text):
        score -= 0.35
    if _ADDRESS_CUE.search(text):
        score -= 0.15
    if typical_height > 0:
        score += min(0.15, 0.1 * (row.height / typical_height - 1))
    return score - 0.03 * position


def find_vendor(rows: Sequence[Row], phone_words: set[str] | None = None) -> Vendor | None:
    """The vendor's name row and address rows among the first rows of the first page."""
    rows = [
        dataclasses.replace(part, number=n)
        for n, part in enumerate(part for row in rows for part in split_row(row))
    ]
    if not rows:
        return None
    customer = _customer_rows(rows)
    typical = median(r.height for r in rows)
    best: tuple[float, int] | None = None
    for n, row in enumerate(rows[:VENDOR_ROWS]):
        if row.number in customer:
            continue
        m = _FROM.match(row.text)
        score = name_score(row, n, typical) + (0.3 if m and len(row.text) > m.end() else 0)
        if best is None or score > best[0]:
            best = (score, n)
    if best is None or best[0] <= 0.2:
        return None
    score, n = best
    first, last = _name_rows(rows, n)
    name = " ".join(r.text.strip() for r in rows[first : last + 1])
    name = _TRAILING_NUMBER.sub("", _FROM.sub("", _sender_name(name))).strip(" ,-:")
    return Vendor(
        rows[first : last + 1],
        name,
        min(0.95, max(0.3, score)),
        tuple(_address_rows(rows, last, customer, phone_words or set())),
    )


_LONG_NUMBER = re.compile(r"\d{9,}")
_COUNTRY_LAST = re.compile(
    r"(?i)(?<![a-z])(?:malaysia|singapore|indonesia|thailand|philippines|india|china|"
    r"hong\s*kong|japan|australia|new\s*zealand|united\s*kingdom|uk|ireland|usa|u\.s\.a\.?|"
    r"united\s*states|canada|nederland|the\s*netherlands|netherlands|belgi[eë]|belgique|"
    r"belgium|deutschland|germany|[öo]sterreich|austria|schweiz|suisse|switzerland|france|"
    r"luxembourg|espa[ñn]a|spain|italia|italy)[\s.,;]*$"
)
_DIGIT_GROUPS = re.compile(r"(?<=\d) (?=\d)")  # the spaces inside "0000 6771 0976"
_SENDER_SEPARATOR = re.compile(r"\s+[·•|∙]\s+|\s+-\s+(?=\S)")


def _sender_name(text: str) -> str:
    """The name in a sender line ("Müller GmbH · Hauptstraße 5 · 10115 Berlin"): the part with
    a legal form, else the first part."""
    parts = [p.strip() for p in _SENDER_SEPARATOR.split(text) if p.strip()]
    if len(parts) < 2:
        return text
    return next((p for p in parts if _LEGAL_FORM.search(p)), parts[0])


def _continues(upper: Row, lower: Row) -> bool:
    """Whether `lower` goes on with the name on `upper`: close under it, in type of about the
    same size, and the name visibly unfinished ("HARDWARE &", "ENTERPRISE (SETIA") or finished
    by the lower row's legal form ("... SDN BHD")."""
    if lower.top - upper.bottom > 0.8 * max(upper.height, lower.height):
        return False
    if not 0.7 <= lower.height / max(upper.height, 1e-9) <= 1.4:
        return False
    if _BRANCH.match(lower.text.strip()):
        return True
    if _TRAILING_NUMBER.sub("", lower.text).rstrip().endswith(":"):
        return False  # a labelled number ("Company no : 1174703-K"), however OCR read the label
    if _ADDRESS_CUE.search(lower.text) or _NOT_A_NAME.search(lower.text):
        return False
    text = upper.text.rstrip()
    unfinished = text.endswith(("&", ",", "-")) or text.count("(") > text.count(")")
    return unfinished or bool(_LEADING_LEGAL_FORM.match(lower.text))


def _name_rows(rows: Sequence[Row], n: int) -> tuple[int, int]:
    """The rows a name printed over several rows takes, around the best-scored row `n`."""
    first = last = n
    while (
        first > 0
        and (_LEADING_LEGAL_FORM.match(rows[first].text) or rows[first].text[:1].islower())
        and _close(rows[first - 1], rows[first])
    ):
        first -= 1
    while last + 1 < len(rows) and last - first < 2 and _continues(rows[last], rows[last + 1]):
        last += 1
    return first, last


def _close(upper: Row, lower: Row) -> bool:
    """Whether `upper` may begin the name `lower` ends: close above it and itself name-like
    (not a code such as a store number, an address or a title)."""
    text = upper.text.replace(" ", "")
    letters = _letters(text)
    return (
        lower.top - upper.bottom <= 0.8 * max(upper.height, lower.height)
        and letters >= 4
        and letters >= 0.7 * len(text)
        and not (_ADDRESS_CUE.search(upper.text) or _NOT_A_NAME.search(upper.text))
    )


def _address_rows(
    rows: Sequence[Row], name_at: int, customer: set[int], phone_words: set[str]
) -> list[Row]:
    """The address under the name: it starts at the first row that reads like an address (rows
    before it, such as a company number, a branch name or the time of sale, are passed over)
    and ends at a contact, tax or document row, a wide gap, or another column."""
    name_row = rows[name_at]
    out: list[Row] = []
    previous = name_row
    skipped = 0
    for row in rows[name_at + 1 : name_at + 1 + 2 * (ADDRESS_ROWS + MAX_SKIPPED)]:
        beside = min(row.right, name_row.right) - max(row.left, name_row.left)
        if beside <= 0:
            continue  # another column of the page (the document's title, its number)
        if row.number in customer:
            break
        gap = row.top - previous.bottom
        if gap > 2.0 * max(previous.height, row.height):
            break
        text = row.text.strip()
        # a company or tax number row, also where OCR garbled its label ("GST Reg. 1o.: 0001...")
        # or the number is printed in groups ("GST Reg no : 0000 6771 0976")
        digits = _DIGIT_GROUPS.sub("", text)
        registration = _REGISTRATION.match(digits) or (
            _LONG_NUMBER.search(digits) is not None and _letters(text) <= 12
        )
        if _ADDRESS_STOP.search(text) and not (registration and not out):
            break
        if not out and (
            registration or not _ADDRESS_CUE.search(text) or find_row_dates(text, None)
        ):
            skipped += 1
            if skipped > MAX_SKIPPED:
                break
            previous = row
            continue
        phone_at = next((k for k, w in enumerate(row.words) if w.id in phone_words), None)
        if phone_at is not None:  # a phone number ends the address
            before = _without_label(row, phone_at)
            if before:
                out.append(sub_row(row, 0, before))
            break
        out.append(row)
        previous = row
        if len(out) == ADDRESS_ROWS or _COUNTRY_LAST.search(text):
            break  # a postal address ends with its country
    return out


def _without_label(row: Row, end: int) -> int:
    """How many of the row's first `end` words (those before a phone number) remain without
    the number's label, a word ending in a colon right before it ("T:", "careline :")."""
    if end and row.words[end - 1].text.endswith(":"):
        return end - 2 if row.words[end - 1].text == ":" and end > 1 else end - 1
    return end
