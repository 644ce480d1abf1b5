"""Generate the bundled sample documents in data/samples (run: python -m pipelines.samples).

The samples are committed; this script records how they were made so they can be regenerated.
Needs the dev extra (fpdf2) and DejaVu fonts (Debian: fonts-dejavu-core).
"""

from __future__ import annotations

import io
import random
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

SAMPLES_DIR = Path(__file__).resolve().parent.parent / "data" / "samples"
FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")

ITEMS = [
    ("Laser printer toner, black", 2, 64.90),
    ("A4 copy paper, 5 reams", 4, 23.50),
    ("Document scanner service plan", 1, 199.00),
    ("USB-C docking station", 1, 129.99),
]


def make_invoice(path: Path) -> None:
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(False)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 20)
    pdf.set_xy(15, 15)
    pdf.cell(0, 10, "Northwind Office Supply Ltd.")
    pdf.set_font("Helvetica", "", 10)
    for i, text in enumerate(["12 Harbour Road", "Bristol BS1 5TT", "VAT GB 123 4567 89"]):
        pdf.set_xy(15, 28 + 5 * i)
        pdf.cell(80, 5, text)
    pdf.set_font("Helvetica", "B", 16)
    pdf.set_xy(130, 15)
    pdf.cell(60, 10, "INVOICE", align="R")
    pdf.set_font("Helvetica", "", 10)
    for i, (key, value) in enumerate(
        [
            ("Invoice no.", "INV-2026-0412"),
            ("Date", "14 November 2026"),
            ("Due", "14 December 2026"),
        ]
    ):
        pdf.set_xy(120, 28 + 5 * i)
        pdf.cell(35, 5, key)
        pdf.cell(35, 5, value, align="R")
    pdf.set_font("Helvetica", "B", 10)
    pdf.set_xy(15, 55)
    pdf.cell(80, 5, "Bill to")
    pdf.set_font("Helvetica", "", 10)
    for i, text in enumerate(
        [
            "Folio Analytics GmbH",
            "Attn: Accounts Payable",
            "Torstrasse 101",
            "10119 Berlin, Germany",
        ]
    ):
        pdf.set_xy(15, 61 + 5 * i)
        pdf.cell(80, 5, text)
    pdf.set_xy(15, 92)
    widths = (95, 20, 30, 35)
    pdf.set_font("Helvetica", "B", 10)
    for width, title in zip(widths, ("Description", "Qty", "Unit price", "Amount"), strict=True):
        pdf.cell(width, 8, title, border=1, align="C")
    pdf.ln()
    pdf.set_font("Helvetica", "", 10)
    subtotal = 0.0
    for description, qty, price in ITEMS:
        amount = qty * price
        subtotal += amount
        pdf.set_x(15)
        pdf.cell(widths[0], 8, description, border=1)
        pdf.cell(widths[1], 8, str(qty), border=1, align="R")
        pdf.cell(widths[2], 8, f"{price:.2f}", border=1, align="R")
        pdf.cell(widths[3], 8, f"{amount:.2f}", border=1, align="R")
        pdf.ln()
    vat = round(subtotal * 0.2, 2)
    totals = (("Subtotal", subtotal), ("VAT 20%", vat), ("Total due (GBP)", subtotal + vat))
    for label, total in totals:
        pdf.set_x(15 + widths[0] + widths[1])
        pdf.set_font("Helvetica", "B" if label.startswith("Total") else "", 10)
        pdf.cell(widths[2], 8, label)
        pdf.cell(widths[3], 8, f"{total:.2f}", align="R")
        pdf.ln()
    pdf.set_font("Helvetica", "", 9)
    pdf.set_xy(15, 170)
    pdf.multi_cell(
        85,
        4.5,
        "Payment terms: 30 days net. Please quote the invoice number with "
        "your payment. Late payments may incur interest at 4% above base rate.",
    )
    pdf.set_xy(110, 170)
    pdf.multi_cell(
        85,
        4.5,
        "Bank: Harbour Bank plc, sort code 20-45-77, account 41234567. "
        "IBAN GB29 HRBR 2045 7741 2345 67. Thank you for your business.",
    )
    pdf.set_xy(15, 282)
    pdf.cell(180, 5, "Northwind Office Supply Ltd. - registered in England no. 0987654", align="C")
    pdf.output(str(path))


def _font(name: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(FONT_DIR / name), size)


def _scanify(image: Image.Image, angle: float, seed: int) -> Image.Image:
    """Make a clean rendering look scanned: slight rotation, blur, paper tone and noise."""
    rng = np.random.default_rng(seed)
    rotated = image.rotate(
        angle, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=(250, 250, 248)
    )
    blurred = rotated.filter(ImageFilter.GaussianBlur(0.6))
    pixels = np.asarray(blurred).astype(np.float64)
    pixels = pixels * 0.92 + 12 + rng.normal(0, 6, pixels.shape)
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def make_receipt(path: Path) -> None:
    width, line_h = 520, 34
    lines = [
        ("C", "CORNER BAKERY & CAFE"),
        ("C", "88 Market Street, Leeds LS1 6DT"),
        ("C", "Tel 0113 496 0321"),
        ("", ""),
        ("L", "Receipt 004512   21/11/2026 08:42"),
        ("L", "Cashier: Maya"),
        ("", "-" * 34),
    ]
    items = [
        ("Flat white", 3.20),
        ("Almond croissant", 2.85),
        ("Sourdough loaf", 4.50),
        ("Orange juice", 2.40),
    ]
    for name, price in items:
        lines.append(("R", f"{name:<22}{price:>8.2f}"))
    total = sum(price for _, price in items)
    lines += [
        ("", "-" * 34),
        ("R", f"{'TOTAL':<22}{total:>8.2f}"),
        ("R", f"{'CARD':<22}{total:>8.2f}"),
        ("", ""),
        ("C", "Thank you, see you soon!"),
    ]
    image = Image.new("RGB", (width, 60 + line_h * len(lines)), (252, 252, 250))
    draw = ImageDraw.Draw(image)
    font = _font("DejaVuSansMono.ttf", 20)
    for i, (align, text) in enumerate(lines):
        text_w = draw.textlength(text, font=font)
        x = (width - text_w) / 2 if align == "C" else 40
        draw.text((x, 30 + i * line_h), text, fill=(30, 30, 35), font=font)
    scanned = _scanify(image, angle=1.5, seed=7)
    buffer = io.BytesIO()
    scanned.save(buffer, "JPEG", quality=80)
    path.write_bytes(buffer.getvalue())


def make_form(path: Path) -> None:
    image = Image.new("RGB", (1240, 1000), "white")
    draw = ImageDraw.Draw(image)
    title, label, hand = (
        _font("DejaVuSans-Bold.ttf", 34),
        _font("DejaVuSans.ttf", 22),
        _font("DejaVuSerif-Italic.ttf", 26),
    )
    draw.text((80, 60), "EQUIPMENT LOAN REQUEST", font=title, fill="black")
    draw.text((80, 110), "Facilities Department - Form F-17", font=label, fill=(60, 60, 60))
    fields = [
        ("Name:", "Jordan Ellis"),
        ("Department:", "Research & Development"),
        ("Employee ID:", "E-20931"),
        ("Item requested:", "Portable projector"),
        ("Loan start:", "02/12/2026"),
        ("Return by:", "16/12/2026"),
    ]
    for i, (key, value) in enumerate(fields):
        y = 190 + i * 80
        draw.text((80, y), key, font=label, fill="black")
        draw.line((330, y + 30, 1120, y + 30), fill=(90, 90, 90), width=2)
        draw.text((345, y - 4), value, font=hand, fill=(20, 40, 120))
    y = 700
    draw.text((80, y), "Purpose:", font=label, fill="black")
    for j, (option, checked) in enumerate((("Teaching", False), ("Event", True), ("Other", False))):
        x = 330 + j * 250
        draw.rectangle((x, y + 2, x + 24, y + 26), outline="black", width=2)
        if checked:
            draw.line((x + 4, y + 14, x + 11, y + 22), fill=(20, 40, 120), width=4)
            draw.line((x + 11, y + 22, x + 22, y + 4), fill=(20, 40, 120), width=4)
        draw.text((x + 36, y), option, font=label, fill="black")
    draw.text((80, 820), "Signature:", font=label, fill="black")
    draw.line((330, 850, 760, 850), fill=(90, 90, 90), width=2)
    draw.text((345, 812), "J. Ellis", font=hand, fill=(20, 40, 120))
    # A bilevel fax-style scan: small file, and the kind of image OCR sees from office scanners.
    scanned = _scanify(image, angle=-1.2, seed=11).convert("L")
    scanned.point(lambda v: 255 if v > 150 else 0).convert("1").save(path, optimize=True)


def make_all(folder: Path = SAMPLES_DIR) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    random.seed(0)
    made = []
    for name, maker in (
        ("invoice.pdf", make_invoice),
        ("receipt.jpg", make_receipt),
        ("form.png", make_form),
    ):
        maker(folder / name)
        made.append(folder / name)
    return made


if __name__ == "__main__":
    for made_path in make_all():
        print(made_path, made_path.stat().st_size)
