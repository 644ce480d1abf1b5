"""PDF text layer -> words and lines, on PDFs written here by hand (Helvetica, images, /Rotate)."""

from __future__ import annotations

import ctypes
import hashlib
from dataclasses import dataclass, field

import numpy as np
import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
import pytest

from extractors.document import Line
from extractors.text_layer import (
    PageFrame,
    extract_text_layer,
    garbage_share,
    page_frame,
)

# --- a tiny PDF writer (also used by test_ingest) -------------------------------------------


@dataclass
class PdfPageSpec:
    content: bytes = b""
    mediabox: tuple[float, float, float, float] = (0, 0, 612, 792)
    cropbox: tuple[float, float, float, float] | None = None
    rotate: int = 0
    image: bool = False  # provide /Im1, an 8x8 grey image, to the content stream


@dataclass
class _Encryption:
    """Standard security handler, revision 2 (RC4 40-bit): enough to exercise passwords."""

    user: bytes
    owner: bytes = b"owner"
    doc_id: bytes = b"0123456789abcdef"
    key: bytes = field(init=False, default=b"")

    PAD = bytes.fromhex("28BF4E5E4E758A4164004E56FFFA01082E2E00B6D0683E802F0CA9FE6453697A")
    P = -44

    def __post_init__(self) -> None:
        owner_key = hashlib.md5((self.owner + self.PAD)[:32]).digest()[:5]
        self.o = _rc4(owner_key, (self.user + self.PAD)[:32])
        seed = (self.user + self.PAD)[:32] + self.o + self.P.to_bytes(4, "little", signed=True)
        self.key = hashlib.md5(seed + self.doc_id).digest()[:5]
        self.u = _rc4(self.key, self.PAD)

    def object_key(self, num: int) -> bytes:
        return hashlib.md5(self.key + num.to_bytes(3, "little") + b"\0\0").digest()[:10]

    def dictionary(self) -> bytes:
        return (
            b"<< /Filter /Standard /V 1 /R 2 /O <" + self.o.hex().encode() + b"> /U <"
            + self.u.hex().encode() + b"> /P " + str(self.P).encode() + b" >>"
        )  # fmt: skip


def _rc4(key: bytes, data: bytes) -> bytes:
    s, j = list(range(256)), 0
    for i in range(256):
        j = (j + s[i] + key[i % len(key)]) % 256
        s[i], s[j] = s[j], s[i]
    out, i, j = bytearray(), 0, 0
    for byte in data:
        i = (i + 1) % 256
        j = (j + s[i]) % 256
        s[i], s[j] = s[j], s[i]
        out.append(byte ^ s[(s[i] + s[j]) % 256])
    return bytes(out)


def make_pdf(pages: list[PdfPageSpec], user_password: str | None = None) -> bytes:
    """A valid PDF (correct xref) with Helvetica as /F1 and an 8x8 image /Im1."""
    crypt = _Encryption(user_password.encode()) if user_password is not None else None
    # (dictionary, stream or None) per object, numbered from 1
    objects: list[tuple[bytes, bytes | None]] = [
        (b"<< /Type /Catalog /Pages 2 0 R >>", None),
        (b"", None),  # the page tree, once the kids are known
        (b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>", None),
        (b"<< /Type /XObject /Subtype /Image /Width 8 /Height 8 /ColorSpace /DeviceGray"
         b" /BitsPerComponent 8", b"\x80\x40" * 32),
    ]  # fmt: skip
    kids = []
    for spec in pages:
        objects.append((b"<<", spec.content))
        page = b"<< /Type /Page /Parent 2 0 R /MediaBox [%s] /Contents %d 0 R" % (_nums(
            spec.mediabox), len(objects))  # fmt: skip
        if spec.cropbox:
            page += b" /CropBox [" + _nums(spec.cropbox) + b"]"
        if spec.rotate:
            page += b" /Rotate %d" % spec.rotate
        page += b" /Resources << /Font << /F1 3 0 R >>"
        page += b" /XObject << /Im1 4 0 R >> >> >>" if spec.image else b" >> >>"
        objects.append((page, None))
        kids.append(len(objects))
    refs = " ".join(f"{k} 0 R" for k in kids).encode()
    objects[1] = (b"<< /Type /Pages /Kids [" + refs + b"] /Count %d >>" % len(kids), None)
    if crypt:
        objects.append((crypt.dictionary(), None))
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for num, (head, stream) in enumerate(objects, start=1):
        offsets.append(len(out))
        body = head
        if stream is not None:
            data = _rc4(crypt.object_key(num), stream) if crypt else stream
            body = head + b" /Length %d >>\nstream\n" % len(data) + data + b"\nendstream"
        out += b"%d 0 obj\n" % num + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % off for off in offsets)
    trailer = b"<< /Size %d /Root 1 0 R" % (len(objects) + 1)
    if crypt:
        ident = b"<" + crypt.doc_id.hex().encode() + b">"
        trailer += b" /Encrypt %d 0 R /ID [%s %s]" % (len(objects), ident, ident)
    out += b"trailer\n" + trailer + b" >>\nstartxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)


def _nums(values: tuple[float, ...]) -> bytes:
    return " ".join(f"{v:g}" for v in values).encode()


def text(x: float, y: float, s: str, size: float = 24, matrix: str | None = None) -> bytes:
    """A Helvetica text object at (x, y) user space; `matrix` "a b c d" rotates it."""
    place = f"{matrix} {x:g} {y:g} Tm" if matrix else f"{x:g} {y:g} Td"
    return f"BT /F1 {size:g} Tf {place} ({s}) Tj ET\n".encode("latin-1")


def _layer(spec: PdfPageSpec) -> tuple[list[Line], bool, str]:
    doc = pdfium.PdfDocument(make_pdf([spec]))
    page = doc[0]
    layer = extract_text_layer(page, 0)
    return layer.lines, layer.usable, layer.reason


def _render(spec: PdfPageSpec, scale: float = 2.0) -> np.ndarray:
    doc = pdfium.PdfDocument(make_pdf([spec]))
    return doc[0].render(scale=scale, rev_byteorder=True).to_numpy()[:, :, :3].copy()


# --- tests ------------------------------------------------------------------------------------


def test_words_and_positions_of_one_line() -> None:
    lines, usable, reason = _layer(PdfPageSpec(text(72, 700, "Hello World")))
    assert usable and reason == ""
    assert [line.text for line in lines] == ["Hello World"]
    hello, world = lines[0].words
    assert (hello.text, world.text) == ("Hello", "World")
    assert hello.source == "pdf" and hello.confidence == 1.0
    assert hello.bbox[0] == pytest.approx(72 / 612, abs=0.003)
    # baseline 700 pt from the bottom: the box spans it, with the ascender above it
    baseline = (792 - 700) / 792
    assert hello.bbox[1] < baseline < hello.bbox[3]
    assert baseline - hello.bbox[1] == pytest.approx(24 * 0.72 / 792, abs=0.01)
    assert hello.bbox[2] < world.bbox[0]  # a space between them
    # Helvetica advance widths of "Hello World" sum to 5.167 em
    assert world.bbox[2] == pytest.approx((72 + 24 * 5.167) / 612, abs=0.003)
    assert lines[0].bbox == [hello.bbox[0], min(w.bbox[1] for w in lines[0].words),
                             world.bbox[2], max(w.bbox[3] for w in lines[0].words)]  # fmt: skip


def test_lines_split_between_columns_and_rows() -> None:
    content = (
        text(72, 700, "left column one", 12)
        + text(330, 700, "right column one", 12)
        + text(72, 684, "left column two", 12)
    )
    lines, _, _ = _layer(PdfPageSpec(content))
    assert [line.text for line in lines] == [
        "left column one",
        "right column one",
        "left column two",
    ]
    left, right, second = lines
    assert left.bbox[2] < right.bbox[0]
    assert second.bbox[1] > left.bbox[3] - 0.002


def test_words_split_at_wide_gaps_without_space_chars() -> None:
    # Two text objects on one baseline, 2 pt apart (one word) and 60 pt apart (a new line).
    width = 12 * 0.556 * 3  # "abc" in Helvetica 12
    content = text(72, 700, "abc", 12) + text(72 + width + 0.5, 700, "def", 12)
    content += text(300, 700, "xyz", 12)
    lines, _, _ = _layer(PdfPageSpec(content))
    assert [[w.text for w in line.words] for line in lines] == [["abcdef"], ["xyz"]]


@pytest.mark.parametrize("rotate", [0, 90, 180, 270])
def test_page_frame_matches_pdfium_device_mapping(rotate: int) -> None:
    spec = PdfPageSpec(mediabox=(0, 0, 600, 800), cropbox=(50, 100, 550, 700), rotate=rotate)
    doc = pdfium.PdfDocument(make_pdf([spec]))
    page = doc[0]
    frame = page_frame(page)
    assert frame.rotation == rotate
    assert frame.size == pytest.approx(page.get_size())
    width, height = frame.size
    dx, dy = ctypes.c_int(), ctypes.c_int()
    for x, y in [(50, 100), (550, 700), (120, 650), (400, 200)]:
        # pdfium's own page->device mapping at 10 px per pt, /Rotate included
        pdfium_c.FPDF_PageToDevice(page.raw, 0, 0, int(width * 10), int(height * 10), 0,
                                   x, y, ctypes.byref(dx), ctypes.byref(dy))  # fmt: skip
        px, py = frame.to_presented(np.array([x], float), np.array([y], float))
        assert (px[0] * 10, py[0] * 10) == pytest.approx((dx.value, dy.value), abs=1.5)


@pytest.mark.parametrize("rotate", [0, 90, 180, 270])
def test_word_boxes_cover_the_rendered_ink(rotate: int) -> None:
    """Geometry check against pdfium's renderer: ink lies inside the words, words hold ink."""
    content = text(100, 500, "Rotated page words", 20) + text(100, 300, "second line", 20)
    spec = PdfPageSpec(
        content, mediabox=(0, 0, 600, 800), cropbox=(40, 60, 560, 760), rotate=rotate
    )
    lines, usable, _ = _layer(spec)
    # (pdfium may reorder lines of rotated pages; the reading-order stage sorts them anyway)
    assert usable and sorted(line.text for line in lines) == ["Rotated page words", "second line"]
    image = _render(spec)
    dark = image.min(axis=2) < 128
    h, w = dark.shape
    inside = np.zeros_like(dark)
    for word in (word for line in lines for word in line.words):
        x0, y0, x1, y1 = word.bbox
        box = (slice(int(y0 * h), int(np.ceil(y1 * h))), slice(int(x0 * w), int(np.ceil(x1 * w))))
        assert dark[box].any(), word.text
        inside[box] = True
        # /Rotate 90/270 turn horizontal text vertical on the presented page
        tall = (y1 - y0) * h > (x1 - x0) * w
        assert tall == (rotate in (90, 270) and len(word.text) > 1) or len(word.text) == 1
    assert dark[inside].sum() / dark.sum() > 0.98


def test_vertical_text_forms_words_along_its_direction() -> None:
    # text matrix rotated 90 degrees counter-clockwise: reads bottom-to-top on an upright page
    lines, _, _ = _layer(PdfPageSpec(text(300, 200, "Upwards the side", 20, matrix="0 1 -1 0")))
    assert [line.text for line in lines] == ["Upwards the side"]
    up, the, side = lines[0].words  # "Upwards", "the", "side"
    assert up.bbox[3] - up.bbox[1] > up.bbox[2] - up.bbox[0]
    assert up.bbox[1] > the.bbox[3] > the.bbox[1] > side.bbox[3]  # written upwards


def test_scanned_page_with_only_a_page_number_is_not_usable() -> None:
    content = b"q 612 0 0 792 0 0 cm /Im1 Do Q\n" + text(300, 30, "12", 10)
    lines, usable, reason = _layer(PdfPageSpec(content, image=True))
    assert not usable and "scanned page" in reason
    assert [line.text for line in lines] == ["12"]


def test_page_number_alone_without_images_is_usable() -> None:
    _, usable, _ = _layer(PdfPageSpec(text(300, 30, "12", 10)))
    assert usable


def test_empty_page_has_no_usable_text_layer() -> None:
    lines, usable, reason = _layer(PdfPageSpec(b""))
    assert lines == [] and not usable and reason == "no text layer"


def test_garbage_text_is_not_usable() -> None:
    # Codes 1..9 in a font without a Unicode mapping for them come out as control chars.
    content = b"BT /F1 20 Tf 72 700 Td <0102030405060708090102030405> Tj ET\n"
    _, usable, reason = _layer(PdfPageSpec(content))
    assert not usable and "garbage" in reason


def test_garbage_share() -> None:
    assert garbage_share("") == 0.0
    assert garbage_share("Hello \uf0b7 world") == pytest.approx(1 / 11)  # one PUA bullet
    assert garbage_share("\x19\x12 \ufffd\ue000ok") == pytest.approx(4 / 6)


def test_text_outside_the_crop_box_is_dropped() -> None:
    content = text(72, 700, "visible", 12) + text(72, 100, "cropped", 12)
    lines, _, _ = _layer(PdfPageSpec(content, cropbox=(0, 400, 612, 792)))
    assert [line.text for line in lines] == ["visible"]
    # relative to the crop box: 700 pt is 92 pt below its top (792) in a 392 pt tall page
    assert lines[0].bbox[1] < 92 / 392 < lines[0].bbox[3]


def test_page_frame_size_for_rotation() -> None:
    frame = PageFrame((10, 20, 110, 220), 90)
    assert frame.size == (200, 100)
    x, y = frame.to_presented(np.array([10.0]), np.array([220.0]))  # top-left corner
    assert (x[0], y[0]) == (200, 0)  # turned clockwise: now top-right
