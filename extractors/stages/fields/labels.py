"""Field labels in English, Dutch, French, German and the Indian and Malaysian invoice idiom.

Each field has label patterns with a strength (how surely the label names that field): "Grand
Total" or "Montant TTC" names the amount to pay more surely than a bare "Total", which also heads
quantity and discount lines. Labels that look like a field's but name something else ("Total
Qty", "Sub Total", "Total excl. BTW") are listed as that other field or as `ignore`, and the
strongest, longest label at a position wins. OCR noise is tolerated where it is common (`0` for
`O` in TOTAL).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_O = "[o0a]"  # OCR reads O as 0 in capitals, and as a in small print ("Tatal")
_TOTAL = f"t{_O}ta[l1i]"  # and l as 1 or i ("Totai")

# field -> (pattern, strength); patterns are matched case-insensitively on row text.
_LABELS: dict[str, list[tuple[str, float]]] = {
    "total": [
        (
            rf"grand\s*{_TOTAL}|{_TOTAL}\s+(?:amount\s+)?(?:due|payable|to\s+pay)|"
            rf"amount\s+(?:due|payable|to\s+pay)|balance\s+due|net\s+payable|"
            rf"{_TOTAL}\s+(?:sales\s+|amount\s+)?\(?inc(?:l(?:usive|uding)?)?[.,]?(?:\s*(?:of\s+)?"
            rf"(?:[\d.,%@]+\s*)?(?:gst|vat|sst|tax)(?:\s*@?\s*\d+(?:\.\d+)?\s*%)?\)?)?|rounded\s+{_TOTAL}|{_TOTAL}\s+rounded|"
            rf"{_TOTAL}\s+after\s+(?:rounding|adj(?:ustment)?|discount)|"
            rf"(?:totaal\s+)?te\s+betalen|totaalbedrag|totaal\s+incl\.?(?:\s+btw)?|"
            rf"montant\s+(?:total\s+)?t\.?t\.?c\.?|{_TOTAL}\s+t\.?t\.?c\.?|net\s+[àa]\s+payer|"
            rf"(?:{_TOTAL}|montant)\s+[àa]\s+payer|rechnungsbetrag|gesamtbetrag|endbetrag|"
            rf"zahlbetrag|zu\s+zahlen(?:der\s+betrag)?|gesamtsumme|bruttobetrag|"
            rf"summe\s+brutto|invoice\s+total|total\s+invoice\s+(?:amount|value)",
            1.0,
        ),
        (rf"nett?\s+{_TOTAL}|{_TOTAL}\s+amount|{_TOTAL}\s+\(?rm\)?|{_TOTAL}\s+value", 0.8),
        (rf"{_TOTAL}|totaal|summe|gesamt|montant\s+total|totale", 0.6),
        # also column heads of item tables: weaker than a total
        (r"amount|bedrag|montant|betrag", 0.5),
    ],
    "subtotal": [
        (
            rf"sub\s*-?\s*{_TOTAL}|subtotaal|sous[\s-]*total|zwischensumme|"
            rf"{_TOTAL}\s+(?:sales\s+)?\(?excl(?:\.|usive|uding)?\s*(?:of\s+)?(?:gst|vat|sst|tax)?\)?|"
            rf"{_TOTAL}\s+before\s+(?:tax|gst|vat)|totaal\s+excl\.?(?:\s+btw)?|"
            rf"(?:{_TOTAL}|montant)\s+h\.?t\.?|total\s+hors\s+tax(?:e|es)|nettobetrag|"
            rf"summe\s+netto|netto(?:summe)?|taxable\s+(?:value|amount)|net\s+amount",
            0.9,
        ),
    ],
    "tax": [
        (
            rf"{_TOTAL}\s*(?:gst|vat|sst|tax)|(?:gst|vat|sst|tax)\s+(?:amount|total)|"
            r"(?:service\s+)?tax|vat|gst|sst|btw|mwst|ust|tva|i?gst|cgst|sgst|utgst|"
            r"umsatzsteuer|mehrwertsteuer|montant\s+tva|totaal\s+btw",
            0.8,
        ),
    ],
    "date": [
        (
            r"invoice\s+date|date\s+of\s+(?:issue|invoice)|issue\s+date|bill\s+date|"
            r"receipt\s+date|factuurdatum|rechnungsdatum|date\s+de\s+(?:la\s+)?facture|"
            r"date\s+d['’]?[ée]mission|belegdatum|datum\s+factuur",
            1.0,
        ),
        (r"date|dated|datum|tarikh|fecha|le", 0.7),
    ],
    "due_date": [
        (
            r"due\s+date|payment\s+due(?:\s+date)?|due\s+(?:by|on)|pay(?:able)?\s+by|"
            r"vervaldatum|vervaldag|uiterste\s+betaaldatum|te\s+betalen\s+voor|"
            r"f[äa]llig(?:keitsdatum|\s+am|\s+bis)?|zahlbar\s+bis|date\s+d['’]?[ée]ch[ée]ance|"
            r"[ée]ch[ée]ance|[àa]\s+payer\s+avant|payer\s+avant\s+le",
            1.0,
        ),
        (r"due", 0.8),
    ],
    "invoice_number": [
        (
            r"(?:tax\s+)?invoice\s*(?:no\.?|nr\.?|number|num|#)|inv\.?\s*(?:no\.?|#)|"
            r"factuur\s*(?:nr\.?|nummer|no\.?)|factuurnummer|factuurnr\.?|rechnungsnummer|"
            r"rechnung\s*(?:nr\.?|nummer)|rechnungs-?nr\.?|facture\s*n[°º]|"
            r"n[°º]\s*(?:de\s+)?facture|num[ée]ro\s+de\s+facture",
            1.0,
        ),
        (r"bill\s*(?:no\.?|#)|receipt\s*(?:no\.?|#)|document\s*(?:no\.?|#)|doc\.?\s*no\.?", 0.7),
    ],
    # Lines that look like a total's but are not one: they only keep a weaker label off.
    "ignore": [
        (
            rf"{_TOTAL}\s+(?:qty|quantity|items?|units?|pcs|discount|savings?|saved|weight|"
            rf"number|tendered|paid|cash|points?|no\.?|count)|(?:cash|change|tender(?:ed)?|"
            rf"rounding(?:\s+adj(?:ustment)?)?|discount|deposit|paid|payment|card|visa|"
            rf"mastercard|credit|debit)|amount\s+(?:paid|tendered|in\s+words)|"
            rf"(?:paid|tendered|received)\s+amount|"
            rf"{_TOTAL}\s+(?:gst|vat|sst|tax)\s+(?:\d+\s*%|summary)|summary|rate",
            0.95,
        ),
    ],
}


@dataclass(frozen=True)
class LabelMatch:
    field: str
    strength: float
    start: int
    end: int
    text: str


_COMPILED = [
    (name, re.compile(rf"(?i)(?<![a-zà-ÿ])(?:{pattern})(?![a-zà-ÿ])"), strength)
    for name, patterns in _LABELS.items()
    for pattern, strength in patterns
]


_QUALIFIER = re.compile(r"[^\d\n\x00]{0,14}")


def find_labels(text: str) -> list[LabelMatch]:
    """Field labels in a row's text, overlaps resolved: the label that starts first wins ("Sub
    Total (RM)" is a subtotal label, though "Total (RM)" is longer), then the longest, then the
    stronger one."""
    found = [
        LabelMatch(name, strength, m.start(), m.end(), m.group())
        for name, pattern, strength in _COMPILED
        for m in pattern.finditer(text)
    ]
    found.sort(key=lambda m: (m.start, -(m.end - m.start), -m.strength))
    kept: list[LabelMatch] = []
    for match in found:
        if all(match.end <= k.start or match.start >= k.end for k in kept):
            kept.append(match)
    kept.sort(key=lambda m: m.start)
    # "Total After Adj Incl GST", "Total Sales Incì GST": a tax word closing an amount label
    # qualifies it; it is not a tax label of its own.
    out: list[LabelMatch] = []
    for match in kept:
        last = out[-1] if out else None
        if (
            last is not None
            and last.field in ("total", "subtotal")
            and match.field == "tax"
            and _QUALIFIER.fullmatch(text[last.end : match.start])
        ):
            out[-1] = LabelMatch(
                last.field, last.strength, last.start, match.end, text[last.start : match.end]
            )
        else:
            out.append(match)
    return out
