"""The hostile files of the bomb tests and the batch test, each with what must become of it.

Every file is built on the fly (the bombs from repeated deflate blocks, so a 1 GiB zip bomb
takes a fraction of a second) and described by a `Case`: refused at open with a reason, or
opened with its page size reported as it is and its pages rendered within the pixel cap (or
refused one by one), all within a bound on the child's peak memory.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from extractors.office import MAX_PARTS
from tests.fuzz import seeds
from tests.unit.test_text_layer import PdfPageSpec, make_pdf, text

GIB_OF_BLANKS = 1024  # MiB of whitespace inside a 1 MB XML part
SMALL_RSS_MIB = 250  # a file refused before decoding: the interpreter and ingest, no pixels


@dataclass(frozen=True)
class Case:
    name: str  # also the file name (its extension is part of some tricks)
    build: Callable[[Path], bytes]  # folder for Office seeds -> the file's bytes
    refused: str | None = None  # regex of the IngestError at open
    pages: int | None = None  # page count once opened
    size: tuple[float, float, str] | None = None  # first page as reported (w, h, unit)
    failing_pages: tuple[int, ...] = ()  # pages whose render is refused
    render_refused: str = ""  # regex of those refusals
    max_rss_mib: float = SMALL_RSS_MIB
    in_batch: bool = True  # the batch test runs real OCR: some files cost too much there

    @property
    def status(self) -> str:
        """The pipeline's verdict: failed with the ingest reason, failed when no page could be
        read, partial when some could not, else ok."""
        if self.refused is not None:
            return "failed"
        if self.failing_pages and self.pages is not None:
            return "failed" if len(self.failing_pages) >= self.pages else "partial"
        return "ok"


def _office(kind: str) -> Callable[[Path], bytes]:
    return lambda folder: seeds.office_seed(kind, folder)


def _zip_bomb(kind: str, part: str) -> Callable[[Path], bytes]:
    return lambda folder: seeds.zip_bomb(seeds.office_seed(kind, folder), part, GIB_OF_BLANKS)


def _many_parts(folder: Path) -> bytes:
    extra = [(f"customXml/extra{i}.xml", b"<a/>") for i in range(MAX_PARTS + 1)]
    return seeds.rezip(seeds.zip_parts(seeds.office_seed("docx", folder)) + extra)


# "Billion laughs": nine levels of ten references, 10^9 copies of "lol" once expanded.
_LAUGHS = b'<!DOCTYPE %s [<!ENTITY lol0 "lol">' + b"".join(
    b'<!ENTITY lol%d "%s">' % (level, b"&lol%d;" % (level - 1) * 10) for level in range(1, 10)
) + b"]>"  # fmt: skip


def _laughs(kind: str, part: str, root: bytes, target: bytes) -> Callable[[Path], bytes]:
    """The package with an entity bomb declared in `part` and referenced in place of `target`."""

    def build(folder: Path) -> bytes:
        parts = []
        for name, data in seeds.zip_parts(seeds.office_seed(kind, folder)):
            if name == part:
                start = data.index(b"?>") + 2 if data.startswith(b"<?xml") else 0
                end = data.index(b">", data.index(target)) + 1  # text of the target element
                data = data[:start] + _LAUGHS % root + data[start:end] + b"&lol9;" + data[end:]
            parts.append((name, data))
        return seeds.rezip(parts)

    return build


def _pdf(*pages: PdfPageSpec, password: str | None = None) -> Callable[[Path], bytes]:
    return lambda _: make_pdf(list(pages), user_password=password)


def _two_pages() -> bytes:
    return make_pdf([PdfPageSpec(text(72, 700, "Invoice 4711")), PdfPageSpec(text(72, 700, "2"))])


def _broken_xref(_: Path) -> bytes:
    data = _two_pages()
    return data[: data.rindex(b"startxref")] + b"startxref\n999999\n%%EOF\n"


def _missing_pages(_: Path) -> bytes:
    """The page tree counts five pages and holds two (pdfium counts five, loads two)."""
    return _two_pages().replace(b"/Count 2", b"/Count 5")


def _jpeg_claiming(width: int, height: int) -> Callable[[Path], bytes]:
    def build(_: Path) -> bytes:
        data = bytearray(seeds.jpeg_seed())
        frame = data.index(b"\xff\xc0")  # SOF0: length(2) precision(1) height(2) width(2)
        data[frame + 5 : frame + 9] = struct.pack(">HH", height, width)
        return bytes(data)

    return build


def _tiff_second_frame(tag: int, value: int | None = None, new_tag: int | None = None) -> bytes:
    """The two-frame seed TIFF with one entry of its second IFD changed: its value, or its tag
    number (so the entry no longer says what it said)."""
    data = bytearray(seeds.tiff_seed())
    first = struct.unpack_from("<I", data, 4)[0]
    second = struct.unpack_from(
        "<I", data, first + 2 + 12 * struct.unpack_from("<H", data, first)[0]
    )[0]
    for entry in range(struct.unpack_from("<H", data, second)[0]):
        at = second + 2 + 12 * entry
        if struct.unpack_from("<H", data, at)[0] == tag:
            if value is not None:
                struct.pack_into("<H", data, at + 8, value)
            if new_tag is not None:
                struct.pack_into("<H", data, at, new_tag)
    return bytes(data)


def _png_palette(width: int, height: int) -> Callable[[Path], bytes]:
    """The seed PNG (palette, 1 byte a pixel) with a header claiming width x height."""

    def build(_: Path) -> bytes:
        chunks = seeds.png_split(seeds.png_seed())
        chunks[0] = (b"IHDR", struct.pack(">II", width, height) + chunks[0][1][8:])
        return seeds.png_join(chunks)

    return build


_LETTER = (612.0, 792.0, "pt")
CASES: tuple[Case, ...] = (
    Case("zip-bomb.docx", _zip_bomb("docx", "word/document.xml"),
         refused=r"part 'word/document\.xml' inflates to 1024 MiB.*zip bomb"),
    Case("zip-bomb.xlsx", _zip_bomb("xlsx", "xl/worksheets/sheet1.xml"),
         refused=r"part 'xl/worksheets/sheet1\.xml' inflates to 1024 MiB"),
    Case("zip-bomb.pptx", _zip_bomb("pptx", "ppt/slides/slide1.xml"),
         refused=r"part 'ppt/slides/slide1\.xml' inflates to 1024 MiB"),
    Case("many-parts.docx", _many_parts, refused=r"parts \(limit 10000\)"),
    Case("laughs-content-types.docx",
         _laughs("docx", "[Content_Types].xml", b"Types", b"<Types"),
         refused=r"\[Content_Types\]\.xml: .*amplification"),
    Case("laughs-body.docx", _laughs("docx", "word/document.xml", b"w:document", b"<w:t>"),
         refused=r"corrupt DOCX file: .*amplification"),
    Case("laughs-sheet.xlsx", _laughs("xlsx", "xl/worksheets/sheet1.xml", b"worksheet", b"<v>"),
         refused=r"corrupt XLSX file"),
    Case("claims-100000x100000.png", lambda _: seeds.png_claiming(100_000, 100_000),
         pages=1, size=(100_000, 100_000, "px"), failing_pages=(0,),
         render_refused=r"image too large to decode: 100000 x 100000 px"),
    Case("bomb-20000x20000-grey.png", lambda _: seeds.png_bomb(20_000, 20_000),
         pages=1, size=(20_000, 20_000, "px"), max_rss_mib=800),  # 400 MB decoded, 0.4 MB file
    Case("claims-20000x20000-rgb.png", lambda _: seeds.png_claiming(20_000, 20_000),
         pages=1, size=(20_000, 20_000, "px"), failing_pages=(0,),
         render_refused=r"image too large to decode"),
    # libjpeg pads the missing scan data; decoded at 1/8 (270 MB), reduced to the cap.
    Case("claims-65000x65000.jpg", _jpeg_claiming(65_000, 65_000),
         pages=1, size=(65_000, 65_000, "px"), max_rss_mib=600),
    # 1.05 GB decoded (just under the 1 GiB cap): freed before the copy, converted in tiles.
    Case("tall-96x10900000-palette.png", _png_palette(96, 10_900_000),
         pages=1, size=(96, 10_900_000, "px"), max_rss_mib=600, in_batch=False),
    # A broken later frame (found by the fuzzer): the frames before it are kept.
    Case("tiff-frame-2-unknown-compression.tif", lambda _: _tiff_second_frame(259, value=261),
         pages=1, size=(64, 32, "px")),  # PIL raised KeyError: 261
    Case("tiff-frame-2-without-width.tif", lambda _: _tiff_second_frame(256, new_tag=0x7FFF),
         pages=1, size=(64, 32, "px")),  # PIL raised TypeError: Missing dimensions
    Case("page-14400x14400pt.pdf", _pdf(PdfPageSpec(text(72, 700, "Big"), (0, 0, 14400, 14400))),
         pages=1, size=(14_400, 14_400, "pt")),
    Case("page-612x77792pt.pdf", _pdf(PdfPageSpec(text(72, 700, "Tall"), (0, 0, 612, 77792))),
         pages=1, size=(612, 77_792, "pt")),
    Case("truncated.pdf", lambda _: _two_pages()[:400], refused=r"corrupt PDF"),
    Case("broken-xref.pdf", _broken_xref, pages=2, size=_LETTER),  # pdfium rebuilds the xref
    Case("missing-pages.pdf", _missing_pages, pages=5, size=_LETTER, failing_pages=(2, 3, 4),
         render_refused=r"corrupt PDF: page \d cannot be loaded"),
    Case("encrypted.pdf", _pdf(PdfPageSpec(text(72, 700, "Secret")), password="s3cret"),
         refused=r"encrypted PDF: a password is required"),
    Case("empty.pdf", lambda _: b"", refused=r"empty file \(0 bytes\)"),
    Case("3000-pages.pdf", _pdf(*[PdfPageSpec(text(72, 700, f"Page {i}")) for i in range(3000)]),
         pages=3000, size=_LETTER, in_batch=False),  # pages are read lazily
    # Wrong extensions: the bytes decide, not the name.
    Case("really-a-pdf.png", lambda _: _two_pages(), pages=2, size=_LETTER),
    Case("really-a-png.docx", lambda _: seeds.png_seed(), pages=1, size=(96, 48, "px")),
    Case("really-an-xlsx.pdf", _office("xlsx"), pages=2),  # openpyxl minded the extension
    Case("notes.pdf", lambda _: b"just some notes\n",
         refused=r"not a supported file type \(detected: text/plain\)"),
)  # fmt: skip
