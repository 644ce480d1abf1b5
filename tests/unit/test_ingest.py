"""Opening inputs: type sniffing, PDFs (rotation, passwords, DPI choice, pixel cap), images."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from extractors import ingest
from extractors.ingest import IngestError, IngestOptions, open_document, sniff_media_type
from tests.unit.test_text_layer import PdfPageSpec, make_pdf, text


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _save(image: Image.Image, path: Path, **params: Any) -> Path:
    image.save(path, **params)
    return path


# --- sniffing and unreadable files --------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "media_type"),
    [("PNG", "image/png"), ("JPEG", "image/jpeg"), ("TIFF", "image/tiff"),
     ("BMP", "image/bmp"), ("WEBP", "image/webp")],
)  # fmt: skip
def test_sniff_images_by_content_not_extension(tmp_path: Path, fmt: str, media_type: str) -> None:
    path = _save(Image.new("RGB", (8, 8)), tmp_path / "misnamed.pdf", format=fmt)
    assert sniff_media_type(path) == media_type


def test_sniff_pdf_with_leading_junk(tmp_path: Path) -> None:
    path = _write(tmp_path, "x.bin", b"junk\n" + make_pdf([PdfPageSpec()]))
    assert sniff_media_type(path) == "application/pdf"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty file (0 bytes)"),
        (b"just some notes\n", "not a supported file type (detected: text/plain)"),
        (b"GIF89a\x01\x00", "not a supported file type (detected: image/gif)"),
        (b"PK\x03\x04rest", "not a supported file type (detected: application/zip"),
    ],
)
def test_unsupported_files_raise_a_clear_reason(tmp_path: Path, data: bytes, message: str) -> None:
    path = _write(tmp_path, "input.pdf", data)
    with pytest.raises(IngestError, match=message.replace("(", r"\(").replace(")", r"\)")):
        open_document(path, IngestOptions())


def test_corrupt_and_truncated_pdfs(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match="corrupt PDF"):
        open_document(_write(tmp_path, "a.pdf", b"%PDF-1.4\n%%EOF\n"), IngestOptions())
    # Truncated mid-file: pdfium may repair it; either way: pages render or IngestError.
    data = make_pdf([PdfPageSpec(text(72, 700, "Hello")), PdfPageSpec(text(72, 700, "Two"))])
    for cut in (len(data) // 3, len(data) // 2, len(data) - 40):
        try:
            doc = open_document(_write(tmp_path, f"t{cut}.pdf", data[:cut]), IngestOptions())
        except IngestError as exc:
            assert str(exc).startswith("corrupt PDF")
            continue
        for page in doc.pages:
            assert page.render().dtype == np.uint8
        doc.close()


def test_options_reject_unknown_keys() -> None:
    with pytest.raises(ValueError, match="extra"):
        IngestOptions.model_validate({"ocr_dpi": 300, "dpi": 1})


# --- PDFs ------------------------------------------------------------------------------------


def test_pdf_pages_sizes_rotation_and_text(tmp_path: Path) -> None:
    pdf = make_pdf(
        [
            PdfPageSpec(text(72, 700, "Hello World")),
            PdfPageSpec(text(72, 500, "Sideways"), mediabox=(0, 0, 792, 612), rotate=90),
            PdfPageSpec(b""),
        ]
    )
    doc = open_document(_write(tmp_path, "doc.pdf", pdf), IngestOptions())
    assert (doc.media_type, doc.page_count, len(doc.pages)) == ("application/pdf", 3, 3)
    first, rotated, empty = doc.pages
    assert (first.width, first.height, first.unit, first.rotation) == (612, 792, "pt", 0)
    assert first.text_layer_usable and first.text_lines is not None
    assert [w.text for w in first.text_lines[0].words] == ["Hello", "World"]
    assert first.render().shape == (792, 612, 3)  # layout_dpi 72
    # /Rotate 90 on a landscape media box presents a portrait page
    assert (rotated.width, rotated.height, rotated.rotation) == (612, 792, 90)
    assert rotated.render().shape == (792, 612, 3)
    # no text layer: rendered for OCR at ocr_dpi
    assert not empty.text_layer_usable and empty.text_layer_note == "no text layer"
    image = empty.render()
    assert image.shape == (round(792 * 200 / 72), round(612 * 200 / 72), 3)
    assert image.dtype == np.uint8 and image.min() == 255  # a blank white page
    assert doc.pages[-1].index == 2
    with pytest.raises(IndexError):
        doc.pages[3]
    doc.close()


def test_pdf_render_is_pixel_capped(tmp_path: Path) -> None:
    path = _write(tmp_path, "big.pdf", make_pdf([PdfPageSpec(mediabox=(0, 0, 8400, 4200))]))
    doc = open_document(path, IngestOptions(max_pixels=1_000_000))
    page = doc.pages[0]
    assert (page.width, page.height) == (8400, 4200)  # the page as it is, not the render
    h, w, _ = page.render().shape
    assert h * w <= 1_000_000 and w / h == pytest.approx(2, rel=0.01)
    doc.close()


def test_encrypted_pdf_needs_the_right_password(tmp_path: Path) -> None:
    pdf = make_pdf([PdfPageSpec(text(72, 700, "Secret text"))], user_password="test")
    path = _write(tmp_path, "locked.pdf", pdf)
    with pytest.raises(
        IngestError, match=r"encrypted PDF: a password is required \(use --password"
    ):
        open_document(path, IngestOptions())
    with pytest.raises(IngestError, match="wrong password"):
        open_document(path, IngestOptions(password="nope"))
    doc = open_document(path, IngestOptions(password="test"))
    assert doc.pages[0].text_lines is not None
    assert [line.text for line in doc.pages[0].text_lines] == ["Secret text"]
    doc.close()


# --- images ----------------------------------------------------------------------------------


def _open_one(path: Path, **options: object) -> tuple[ingest.SourcePage, np.ndarray]:
    doc = open_document(path, IngestOptions.model_validate(options))
    page = doc.pages[0]
    image = page.render()
    doc.close()
    assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3
    return page, image


def test_multi_page_tiff_gives_one_page_per_frame(tmp_path: Path) -> None:
    frames = [Image.new("L", (100 + 10 * i, 50), 40 * i) for i in range(3)]
    path = tmp_path / "scan.tif"
    frames[0].save(path, save_all=True, append_images=frames[1:], compression="tiff_lzw")
    doc = open_document(path, IngestOptions())
    assert doc.media_type == "image/tiff" and doc.page_count == 3
    for i, page in enumerate(doc.pages):
        assert (page.width, page.height, page.unit) == (100 + 10 * i, 50, "px")
        assert page.text_lines is None and not page.text_layer_usable
        image = page.render()
        assert image.shape == (50, 100 + 10 * i, 3) and image[0, 0, 0] == 40 * i
    doc.close()


@pytest.mark.parametrize("fmt", ["BMP", "WEBP", "PNG"])
def test_plain_formats(tmp_path: Path, fmt: str) -> None:
    colour = (200, 30, 60)
    path = _save(Image.new("RGB", (40, 30), colour), tmp_path / "x.img", format=fmt, lossless=True)
    page, image = _open_one(path)
    assert (page.width, page.height) == (40, 30)
    assert tuple(image[10, 10]) == colour


def test_cmyk_jpeg_becomes_rgb(tmp_path: Path) -> None:
    path = _save(Image.new("CMYK", (32, 32), (0, 255, 255, 0)), tmp_path / "c.jpg", quality=95)
    _, image = _open_one(path)
    r, g, b = image[16, 16].tolist()
    assert r > 200 and g < 60 and b < 60  # cyan 0, magenta+yellow full: red


def test_exif_orientation_is_applied(tmp_path: Path) -> None:
    base = Image.new("RGB", (60, 20), "white")
    base.paste((0, 0, 0), (0, 0, 10, 20))  # black strip on the left of the stored image
    exif = Image.Exif()
    exif[0x0112] = 6  # stored image must be turned 90 degrees clockwise to display
    path = _save(base, tmp_path / "phone.jpg", exif=exif, quality=95)
    page, image = _open_one(path)
    assert (page.width, page.height) == (20, 60)  # as presented
    assert image.shape == (60, 20, 3)
    assert image[2, 10].max() < 60 and image[-3, 10].min() > 200  # the strip is now on top


@pytest.mark.parametrize("mode", ["1", "L", "P", "LA", "RGBA", "I;16", "I"])
def test_any_mode_becomes_rgb(tmp_path: Path, mode: str) -> None:
    grey = np.tile(np.linspace(0, 255, 64).astype(np.uint8), (16, 1))
    image = Image.fromarray(grey, "L")
    if mode == "I;16":
        image = Image.fromarray(grey.astype(np.uint16) * 257)
    elif mode == "I":
        image = Image.fromarray(grey.astype(np.int32) * 16)  # 12-bit range
    else:
        image = image.convert(mode)
    assert image.mode == mode
    _, rgb = _open_one(_save(image, tmp_path / "m.tif"))  # TIFF: the one format for all modes
    assert rgb.shape == (16, 64, 3)
    assert rgb[:, 0].max() < 30 and rgb[:, -1].min() > 220  # dark left, light right


def test_transparent_pixels_land_on_white(tmp_path: Path) -> None:
    image = Image.new("RGBA", (10, 10), (0, 0, 0, 0))
    _, rgb = _open_one(_save(image, tmp_path / "t.png"))
    assert rgb.min() == 255


def test_large_jpeg_is_decoded_reduced_and_reports_original_size(tmp_path: Path) -> None:
    path = _save(Image.new("RGB", (4000, 3000), (90, 90, 90)), tmp_path / "big.jpg")
    page, image = _open_one(path, max_pixels=200_000)
    assert (page.width, page.height) == (4000, 3000)
    assert image.shape[0] * image.shape[1] <= 200_000
    assert image.shape[1] / image.shape[0] == pytest.approx(4 / 3, rel=0.02)


def test_large_bilevel_png_is_reduced_in_bands(tmp_path: Path) -> None:
    image = Image.new("1", (3000, 2000), 1)
    image.paste(0, (0, 0, 1500, 2000))  # left half black
    page, rgb = _open_one(_save(image, tmp_path / "scan.png"), max_pixels=100_000)
    assert (page.width, page.height) == (3000, 2000)
    h, w, _ = rgb.shape
    assert h * w <= 100_000
    assert rgb[:, : w // 2 - 2].max() == 0 and rgb[:, w // 2 + 2 :].min() == 255


def test_pil_bomb_guard_is_lifted_only_while_we_decode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # everything is a "bomb" now
    path = _save(Image.new("L", (100, 100), 7), tmp_path / "x.png")
    _, rgb = _open_one(path)
    assert rgb.shape == (100, 100, 3)
    assert Image.MAX_IMAGE_PIXELS == 1000


def test_images_too_large_to_decode_raise(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ingest, "MAX_FULL_DECODE_BYTES", 10_000)
    path = _save(Image.new("RGB", (200, 200)), tmp_path / "x.png")
    doc = open_document(path, IngestOptions(max_pixels=1000))
    with pytest.raises(IngestError, match="image too large to decode: 200 x 200 px"):
        doc.pages[0].render()


def test_truncated_image_raises_ingest_error(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    Image.effect_noise((200, 200), 50).convert("RGB").save(buffer, "PNG")
    path = _write(tmp_path, "cut.png", buffer.getvalue()[:2000])
    doc = open_document(path, IngestOptions())
    with pytest.raises(IngestError, match="corrupt image"):
        doc.pages[0].render()
