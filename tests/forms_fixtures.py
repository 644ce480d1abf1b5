"""Generated forms for the form-stage tests: a page of words (no OCR needed), a PIL-drawn form
with ticked and empty boxes, and a filled AcroForm PDF written by hand (no PDF library writes
one here)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from extractors.document import Block, Document, Line, Page, Word

FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
# A text run on a page: (text, x0, y0) in page-relative units; words are 0.012 wide per
# character and 0.015 high, one space apart.
Run = tuple[str, float, float]
CHAR_W, TEXT_H = 0.012, 0.015


def run_words(page: int, runs: Sequence[Run], start: int = 0) -> list[list[Word]]:
    """One list of words per run, boxes laid out left to right."""
    out: list[list[Word]] = []
    n = start
    for text, x, y in runs:
        words = []
        for token in text.split():
            w = len(token) * CHAR_W
            words.append(
                Word(id=f"p{page}-w{n}", text=token, bbox=[x, y, x + w, y + TEXT_H], source="ocr")
            )
            n += 1
            x += w + CHAR_W
        out.append(words)
    return out


def form_page(runs: Sequence[Run], index: int = 0) -> Page:
    """A page whose every run is one OCR line in a block of its own."""
    blocks = []
    for n, words in enumerate(run_words(index, runs)):
        bbox = [words[0].bbox[0], words[0].bbox[1], words[-1].bbox[2], words[-1].bbox[3]]
        line = Line(
            id=f"p{index}-l{n}", text=" ".join(w.text for w in words), bbox=bbox, words=words
        )
        blocks.append(Block(id=f"p{index}-b{n}", order=n, bbox=bbox, lines=[line]))
    return Page(
        id=f"p{index}",
        index=index,
        width=800,
        height=1000,
        unit="px",
        text_source="ocr",
        blocks=blocks,
    )


def form_document(runs: Sequence[Run], doc_type: str | None = "form") -> Document:
    return Document(
        document_id="doc-form",
        source_name="form.png",
        source_path="form.png",
        sha256="0" * 64,
        doc_type=doc_type,
        pages=[form_page(runs)],
    )


# A small application form: colon keys with values right of them, a key with its value under
# it, a title, and a row of two fields.
APPLICATION: tuple[Run, ...] = (
    ("APPLICATION FORM", 0.35, 0.05),
    ("Name:", 0.1, 0.15),
    ("Jane Doe", 0.3, 0.15),
    ("Date:", 0.1, 0.2),
    ("12/05/2024", 0.3, 0.2),
    ("Phone:", 0.55, 0.2),
    ("555-0199", 0.7, 0.2),
    ("Address:", 0.1, 0.27),
    ("12 Main Street, Springfield", 0.1, 0.295),
    ("Signature:", 0.1, 0.4),
    ("J. Doe", 0.3, 0.4),
)


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.truetype(str(FONT), size) if FONT.exists() else ImageFont.load_default(size)


def checkbox_form_image(
    boxes: Sequence[tuple[str, bool]] = (("Yes", True), ("No", False), ("Maybe", True)),
    side: int = 26,
    scale: int = 1,
) -> tuple[np.ndarray, list[tuple[tuple[int, int, int, int], bool]]]:
    """A white page with a question and a row of labelled check boxes (ticked with an X or a
    check mark), plus a ruled table grid whose square cells are not boxes. Returns the RGB image
    and each box's pixel outline and state."""
    width, height = 1240 * scale, 900 * scale
    side *= scale
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    font = _font(26 * scale)
    draw.text((100 * scale, 100 * scale), "Do you agree with the terms?", fill="black", font=font)
    truth = []
    x = 100 * scale
    y = 200 * scale
    for n, (label, ticked) in enumerate(boxes):
        box = (x, y, x + side, y + side)
        draw.rectangle(box, outline="black", width=max(2, side // 10))
        if ticked:
            pad = side // 5
            if n % 2:  # a check mark
                draw.line(
                    [
                        (x + pad, y + side // 2),
                        (x + side // 2, y + side - pad),
                        (x + side - pad, y + pad),
                    ],
                    fill="black",
                    width=max(3, side // 8),
                )
            else:  # a cross
                draw.line(
                    [(x + pad, y + pad), (x + side - pad, y + side - pad)],
                    fill="black",
                    width=max(3, side // 8),
                )
                draw.line(
                    [(x + side - pad, y + pad), (x + pad, y + side - pad)],
                    fill="black",
                    width=max(3, side // 8),
                )
        draw.text((x + side + 15 * scale, y - 2 * scale), label, fill="black", font=font)
        truth.append((box, ticked))
        x += side + 200 * scale
    # A grid of square cells (a table): its cells have rulings running on, so they are no boxes.
    gx, gy, cell = 100 * scale, 400 * scale, side
    for k in range(6):
        draw.line([(gx, gy + k * cell), (gx + 10 * cell, gy + k * cell)], fill="black", width=2)
    for k in range(11):
        draw.line([(gx + k * cell, gy), (gx + k * cell, gy + 5 * cell)], fill="black", width=2)
    return np.asarray(image), truth


def _pdf_string(text: str) -> str:
    return "(" + text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)") + ")"


def acroform_pdf(path: Path) -> Path:
    """A one-page US Letter PDF with printed labels and four filled widgets: a text field
    "name" = "Jane Doe" right of "Full name:", a text field "city" = "Springfield", a checked
    checkbox "agree" and an unchecked "newsletter", and a radio group "size" set to "M"."""
    objects: list[str] = []

    def add(body: str) -> int:
        objects.append(body)
        return len(objects)

    content = (
        "BT /F1 12 Tf 72 700 Td (Full name:) Tj ET\n"
        "BT /F1 12 Tf 72 660 Td (City:) Tj ET\n"
        "BT /F1 12 Tf 100 620 Td (I agree to the terms) Tj ET\n"
        "BT /F1 12 Tf 100 590 Td (Send me the newsletter) Tj ET\n"
        "BT /F1 12 Tf 72 550 Td (Size:) Tj ET\n"
    )
    catalog = add("")  # filled in below, once the field ids are known
    pages = add("")
    page = add("")
    font = add("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    stream = add(f"<< /Length {len(content)} >>\nstream\n{content}endstream")

    def widget(extra: str, rect: tuple[int, int, int, int]) -> int:
        r = " ".join(str(v) for v in rect)
        return add(f"<< /Type /Annot /Subtype /Widget /Rect [{r}] /P {page} 0 R /F 4 {extra} >>")

    name = widget(
        f"/FT /Tx /T (name) /TU (Full name) /V {_pdf_string('Jane Doe')}", (150, 695, 350, 715)
    )
    city = widget(f"/FT /Tx /T (city) /V {_pdf_string('Springfield')}", (150, 655, 350, 675))
    agree = widget("/FT /Btn /T (agree) /V /Yes /AS /Yes", (72, 617, 86, 631))
    news = widget("/FT /Btn /T (newsletter) /V /Off /AS /Off", (72, 587, 86, 601))
    radio = add("")
    kids = []
    for n, (option, x) in enumerate((("S", 150), ("M", 200), ("L", 250))):
        state = f"/{option}" if option == "M" else "/Off"
        ap = f"/AP << /N << /{option} null /Off null >> >>"
        kids.append(widget(f"/Parent {radio} 0 R /AS {state} {ap}", (x, 547, x + 14, 561)))
        del n
    kid_refs = " ".join(f"{k} 0 R" for k in kids)
    objects[radio - 1] = f"<< /FT /Btn /Ff 49152 /T (size) /V /M /Kids [{kid_refs}] >>"
    annots = " ".join(f"{k} 0 R" for k in (name, city, agree, news, *kids))
    fields = " ".join(f"{k} 0 R" for k in (name, city, agree, news, radio))
    objects[catalog - 1] = (
        f"<< /Type /Catalog /Pages {pages} 0 R /AcroForm << /Fields [{fields}] >> >>"
    )
    objects[pages - 1] = f"<< /Type /Pages /Kids [{page} 0 R] /Count 1 >>"
    objects[page - 1] = (
        f"<< /Type /Page /Parent {pages} 0 R /MediaBox [0 0 612 792] /Contents {stream} 0 R "
        f"/Resources << /Font << /F1 {font} 0 R >> >> /Annots [{annots}] >>"
    )
    out = bytearray(b"%PDF-1.7\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{body}\nendobj\n".encode("latin-1")
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    trailer = f"trailer\n<< /Size {len(objects) + 1} /Root {catalog} 0 R >>\n"
    out += f"{trailer}startxref\n{xref}\n%%EOF\n".encode()
    path.write_bytes(bytes(out))
    return path
