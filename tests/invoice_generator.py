"""Generated invoices in English (US, UK), Dutch, French, German and Indian style, with their
true fields: test fixtures, and an evaluation set for `folio evaluate-fields`.

    python -m tests.invoice_generator OUT_DIR [N] [--images]

writes `OUT_DIR/index.jsonl`, `docs/` (born-digital PDFs, or page images rendered from them at
150 dpi with a little rotation and noise with `--images`) and `gt/<id>.json` (vendor_name, date,
invoice_number, total, currency, ...). Layouts vary on purpose (letterhead left or right,
labels beside or above their values, totals block with or without rulings, fonts, number and
date conventions) so rules are not fitted to one template. Needs fpdf2 (a dev dependency).
"""

from __future__ import annotations

import json
import random
import sys
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

FONTS = {
    "sans": Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
    "sans-bold": Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"),
    "serif": Path("/usr/share/fonts/truetype/liberation/LiberationSerif-Regular.ttf"),
    "serif-bold": Path("/usr/share/fonts/truetype/liberation/LiberationSerif-Bold.ttf"),
}


@dataclass(frozen=True)
class Idiom:
    language: str
    currency: str
    symbol: str
    symbol_after: bool
    decimal_comma: bool
    title: str
    number_labels: tuple[str, ...]
    date_labels: tuple[str, ...]
    due_labels: tuple[str, ...]
    subtotal_labels: tuple[str, ...]
    tax_labels: tuple[str, ...]
    total_labels: tuple[str, ...]
    customer_labels: tuple[str, ...]
    item_heads: tuple[str, str, str, str]
    legal_forms: tuple[str, ...]
    streets: tuple[str, ...]
    cities: tuple[str, ...]
    date_style: str  # dmy-dots, dmy-slash, mdy-slash, d-month-y, iso, d-mon-y
    months: tuple[str, ...] = ()


_EN_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
IDIOMS = {
    "en-us": Idiom(
        "en",
        "USD",
        "$",
        False,
        False,
        "INVOICE",
        ("Invoice #", "Invoice No.", "Invoice Number"),
        ("Invoice Date", "Date"),
        ("Due Date", "Payment Due"),
        ("Subtotal", "Sub Total"),
        ("Sales Tax", "Tax"),
        ("Total Due", "Amount Due", "Total"),
        ("Bill To", "Billed To"),
        ("Description", "Qty", "Unit Price", "Amount"),
        ("LLC", "Inc.", "Corp."),
        ("Market Street", "Oak Avenue", "Main St"),
        ("Austin, TX 78701", "Denver, CO 80202", "Portland, OR 97204"),
        "mdy-slash",
    ),
    "en-gb": Idiom(
        "en",
        "GBP",
        "£",
        False,
        False,
        "INVOICE",
        ("Invoice No", "Invoice Number"),
        ("Invoice Date", "Date of issue"),
        ("Due Date",),
        ("Net Total", "Subtotal"),
        ("VAT 20%", "VAT"),
        ("Total", "Amount Due", "Invoice Total"),
        ("Invoice To", "Customer"),
        ("Description", "Quantity", "Rate", "Amount"),
        ("Ltd", "Limited", "LLP"),
        ("High Street", "Station Road", "Church Lane"),
        ("Leeds LS1 4AP", "Bristol BS1 5TR", "York YO1 7HH"),
        "d-month-y",
        _EN_MONTHS,
    ),
    "nl": Idiom(
        "nl",
        "EUR",
        "€",
        False,
        True,
        "FACTUUR",
        ("Factuurnummer", "Factuur nr."),
        ("Factuurdatum", "Datum"),
        ("Vervaldatum",),
        ("Subtotaal", "Totaal excl. BTW"),
        ("BTW 21%", "BTW"),
        ("Totaal", "Totaal incl. BTW", "Te betalen"),
        ("Factuur aan", "Klant"),
        ("Omschrijving", "Aantal", "Prijs", "Bedrag"),
        ("B.V.", "V.O.F."),
        ("Kerkstraat", "Dorpsweg", "Stationsplein"),
        ("1017 GC Amsterdam", "3511 AB Utrecht", "2511 CV Den Haag"),
        "d-month-y",
        (
            "januari",
            "februari",
            "maart",
            "april",
            "mei",
            "juni",
            "juli",
            "augustus",
            "september",
            "oktober",
            "november",
            "december",
        ),
    ),
    "fr": Idiom(
        "fr",
        "EUR",
        "€",
        True,
        True,
        "FACTURE",
        ("Facture N°", "N° de facture"),
        ("Date de facture", "Date"),
        ("Date d'échéance", "Échéance"),
        ("Total HT", "Montant HT"),
        ("TVA 20 %", "TVA"),
        ("Montant TTC", "Total TTC", "Net à payer"),
        ("Facturé à", "Client"),
        ("Désignation", "Qté", "Prix unitaire", "Montant"),
        ("SARL", "SAS"),
        ("rue des Lilas", "avenue Victor Hugo", "boulevard Voltaire"),
        ("75011 Paris", "69002 Lyon", "33000 Bordeaux"),
        "dmy-slash",
    ),
    "de": Idiom(
        "de",
        "EUR",
        "€",
        True,
        True,
        "RECHNUNG",
        ("Rechnungsnummer", "Rechnung Nr."),
        ("Rechnungsdatum", "Datum"),
        ("Fällig am", "Zahlbar bis"),
        ("Nettobetrag", "Zwischensumme"),
        ("MwSt. 19%", "USt. 19%"),
        ("Rechnungsbetrag", "Gesamtbetrag", "Endbetrag"),
        ("Rechnung an", "Kunde"),
        ("Bezeichnung", "Menge", "Einzelpreis", "Betrag"),
        ("GmbH", "AG", "KG"),
        ("Hauptstraße", "Bahnhofstraße", "Lindenweg"),
        ("10115 Berlin", "80331 München", "50667 Köln"),
        "dmy-dots",
    ),
    "in": Idiom(
        "en",
        "INR",
        "₹",
        False,
        False,
        "TAX INVOICE",
        ("Invoice No", "Bill No"),
        ("Invoice Date", "Dated"),
        ("Due Date",),
        ("Taxable Value", "Sub Total"),
        ("IGST 18%", "GST 18%"),
        ("Grand Total", "Total Amount", "Net Amount Payable"),
        ("Bill To", "Buyer"),
        ("Particulars", "Qty", "Rate", "Amount"),
        ("Pvt. Ltd.", "Private Limited"),
        ("MG Road", "Sector 18", "Park Street"),
        ("Bengaluru 560001", "Noida 201301", "Kolkata 700016"),
        "d-mon-y",
    ),
}
NAMES = (
    "Brightline",
    "Northwind",
    "Harbor",
    "Kestrel",
    "Meridian",
    "Bluebell",
    "Sterling",
    "Van der Berg",
    "Lumière",
    "Müller",
    "Sharma",
    "Oakridge",
    "Falcon",
    "Rivera",
)
TRADES = (
    "Consulting",
    "Textiles",
    "Logistics",
    "Design",
    "Printing",
    "Electrical",
    "Software",
    "Bakery",
    "Engineering",
    "Trading",
)
ITEMS = (
    "Consulting hours",
    "Website design",
    "Printing A4 flyers",
    "Cable 3x2.5mm",
    "Maintenance",
    "Transport",
    "Licence fee",
    "Training day",
    "Office chairs",
    "Paper 80g",
)


def _money(value: Decimal, idiom: Idiom, symbol: bool = True) -> str:
    text = f"{value:,.2f}"
    if idiom.currency == "INR":
        whole, frac = f"{value:.2f}".split(".")
        head, tail = whole[:-3], whole[-3:]
        groups: list[str] = []
        while len(head) > 2:
            groups.insert(0, head[-2:])
            head = head[:-2]
        text = ",".join([g for g in [head, *groups] if g] + [tail]) + "." + frac
    if idiom.decimal_comma:
        text = text.replace(",", " " if idiom.language == "fr" else "X").replace(".", ",")
        text = text.replace("X", ".")
    if not symbol:
        return text
    return f"{text} {idiom.symbol}" if idiom.symbol_after else f"{idiom.symbol}{text}"


def _date(day: date, idiom: Idiom) -> str:
    style = idiom.date_style
    if style == "mdy-slash":
        return f"{day.month:02d}/{day.day:02d}/{day.year}"
    if style == "dmy-slash":
        return f"{day.day:02d}/{day.month:02d}/{day.year}"
    if style == "dmy-dots":
        return f"{day.day:02d}.{day.month:02d}.{day.year}"
    if style == "d-month-y":
        return f"{day.day} {idiom.months[day.month - 1]} {day.year}"
    return f"{day.day:02d}-{_EN_MONTHS[day.month - 1][:3]}-{day.year}"


def make_invoice(seed: int, key: str, path: Path) -> dict[str, str]:
    """Write one invoice PDF to `path`; returns its true fields."""
    from fpdf import FPDF

    rng = random.Random(seed)
    idiom = IDIOMS[key]
    vendor = f"{rng.choice(NAMES)} {rng.choice(TRADES)} {rng.choice(idiom.legal_forms)}"
    customer = f"{rng.choice(NAMES)} {rng.choice(TRADES)} {rng.choice(idiom.legal_forms)}"
    number = f"{rng.choice(['', 'INV-', 'F', '2019-'])}{rng.randint(100, 99999)}"
    issued = date(2014, 1, 1) + timedelta(days=rng.randint(0, 3000))
    due = issued + timedelta(days=rng.choice([14, 30]))
    items = []
    for _ in range(rng.randint(1, 5)):
        qty = rng.randint(1, 12)
        price = Decimal(rng.randint(500, 90000)) / 100
        items.append((rng.choice(ITEMS), qty, price, (price * qty).quantize(Decimal("0.01"))))
    subtotal = sum((i[3] for i in items), Decimal(0))
    rate = (
        Decimal("0.18") if key == "in" else Decimal(rng.choice(["0.2", "0.21", "0.19", "0.0825"]))
    )
    tax = (subtotal * rate).quantize(Decimal("0.01"), ROUND_HALF_UP)
    total = subtotal + tax

    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(False)
    pdf.add_page()
    family = "sans" if idiom.symbol == "₹" else rng.choice(["sans", "serif"])  # Liberation has no ₹
    pdf.add_font(family, "", str(FONTS[family]))
    pdf.add_font(family, "B", str(FONTS[f"{family}-bold"]))
    right_head = rng.random() < 0.4
    x_head = 120 if right_head else 15
    pdf.set_font(family, "B", rng.choice([14, 16, 18]))
    pdf.set_xy(x_head, 15)
    pdf.cell(80, 8, vendor)
    pdf.set_font(family, "", 10)
    street = f"{rng.choice(idiom.streets)} {rng.randint(1, 200)}"
    for n, line in enumerate([street, rng.choice(idiom.cities)]):
        pdf.set_xy(x_head, 25 + 5 * n)
        pdf.cell(80, 5, line)
    pdf.set_xy(x_head, 36)
    pdf.cell(
        80, 5, f"Tel. +{rng.randint(30, 49)} {rng.randint(10, 99)} {rng.randint(1000000, 9999999)}"
    )
    pdf.set_font(family, "B", 20)
    pdf.set_xy(15 if right_head else 130, 50)
    pdf.cell(60, 10, idiom.title)
    pdf.set_font(family, "", 10)
    pdf.set_xy(15, 70)
    pdf.cell(60, 5, rng.choice(idiom.customer_labels) + ":")
    pdf.set_xy(15, 76)
    pdf.cell(60, 5, customer)
    pdf.set_xy(15, 81)
    pdf.cell(60, 5, f"{rng.choice(idiom.streets)} {rng.randint(1, 90)}, {rng.choice(idiom.cities)}")
    meta = [
        (rng.choice(idiom.number_labels), number),
        (rng.choice(idiom.date_labels), _date(issued, idiom)),
        (rng.choice(idiom.due_labels), _date(due, idiom)),
    ]
    if rng.random() < 0.5:  # labels beside their values
        for n, (label, value) in enumerate(meta):
            pdf.set_xy(120, 70 + 6 * n)
            pdf.cell(35, 5, f"{label}:")
            pdf.set_xy(160, 70 + 6 * n)
            pdf.cell(35, 5, value)
    else:  # a strip of labels above their values
        for n, (label, value) in enumerate(meta):
            pdf.set_font(family, "B", 9)
            pdf.set_xy(15 + 60 * n, 95)
            pdf.cell(55, 5, label)
            pdf.set_font(family, "", 10)
            pdf.set_xy(15 + 60 * n, 101)
            pdf.cell(55, 5, value)
    y = 115
    widths = (90, 20, 35, 35)
    pdf.set_font(family, "B", 10)
    x = 15.0
    for head, width in zip(idiom.item_heads, widths, strict=True):
        pdf.set_xy(x, y)
        pdf.cell(
            width, 7, head, border="B" if rng.random() < 0.7 else 0, align="L" if x == 15 else "R"
        )
        x += width
    pdf.set_font(family, "", 10)
    for description, qty, price, amount in items:
        y += 7
        x = 15.0
        for text, width in zip(
            (
                description,
                str(qty),
                _money(price, idiom, symbol=False),
                _money(amount, idiom, symbol=False),
            ),
            widths,
            strict=True,
        ):
            pdf.set_xy(x, y)
            pdf.cell(width, 7, text, align="L" if x == 15 else "R")
            x += width
    y += 14
    for label, amount_due, bold in (
        (rng.choice(idiom.subtotal_labels), subtotal, False),
        (rng.choice(idiom.tax_labels), tax, False),
        (rng.choice(idiom.total_labels), total, True),
    ):
        pdf.set_font(family, "B" if bold else "", 11 if bold else 10)
        pdf.set_xy(110, y)
        pdf.cell(50, 7, label)
        pdf.set_xy(160, y)
        pdf.cell(35, 7, _money(amount_due, idiom), align="R")
        y += 7
    pdf.output(str(path))
    return {
        "vendor_name": vendor,
        "date": issued.isoformat(),
        "due_date": due.isoformat(),
        "invoice_number": number,
        "subtotal": f"{subtotal:.2f}",
        "tax": f"{tax:.2f}",
        "total": f"{total:.2f}",
        "currency": idiom.currency,
    }


def _as_image(pdf_path: Path, seed: int) -> Path:
    """The invoice's page as a slightly turned, noisy 150 dpi scan (PNG)."""
    import numpy as np
    import pypdfium2 as pdfium
    from PIL import Image

    rng = random.Random(seed)
    document = pdfium.PdfDocument(str(pdf_path))
    image = document[0].render(scale=150 / 72).to_pil().convert("L")
    document.close()
    image = image.rotate(rng.uniform(-1.5, 1.5), expand=False, fillcolor=255)
    pixels = np.asarray(image, dtype=np.int16)
    noise = np.random.default_rng(seed).normal(0, 12, pixels.shape)
    out = pdf_path.with_suffix(".png")
    Image.fromarray(np.clip(pixels + noise, 0, 255).astype(np.uint8)).save(out)
    pdf_path.unlink()
    return out


def write_set(out: Path, n: int, images: bool = False, first_seed: int = 0) -> None:
    (out / "docs").mkdir(parents=True, exist_ok=True)
    (out / "gt").mkdir(exist_ok=True)
    keys = sorted(IDIOMS)
    lines = []
    for k in range(n):
        key = keys[k % len(keys)]
        item_id = f"{key}-{k:03d}"
        path = out / "docs" / f"{item_id}.pdf"
        truth = make_invoice(first_seed + k, key, path)
        if images:
            path = _as_image(path, first_seed + k)
        (out / "gt" / f"{item_id}.json").write_text(json.dumps(truth, ensure_ascii=False, indent=1))
        doc = f"docs/{path.name}"
        lines.append(
            json.dumps(
                {"id": item_id, "doc": doc, "gt": {"fields": f"gt/{item_id}.json"}, "idiom": key}
            )
        )
    (out / "index.jsonl").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    write_set(Path(args[0]), int(args[1]) if len(args) > 1 else 30, images="--images" in sys.argv)
