"""Seed documents for the fuzzers and hostile files for the bomb tests, all made here.

Seeds are small real files written by the libraries people make such files with (a PDF with a
text layer and an image, PNG/JPEG/TIFF from PIL, DOCX/XLSX/PPTX from python-docx, openpyxl and
python-pptx). Bombs are built from precomputed deflate blocks, so a 1 GiB zip bomb costs a
fraction of a second and about 1 MB, and nothing big is committed.
"""

from __future__ import annotations

import io
import json
import re
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from fpdf import FPDF

from tests.conftest import text_image
from tests.unit.test_office import make_docx, make_pptx, make_xlsx
from tests.unit.test_text_layer import PdfPageSpec, make_pdf, text

MIB = 1 << 20
Checksum = Callable[..., int]  # zlib.crc32 / zlib.adler32: (data[, running value]) -> value
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


# --- seeds ----------------------------------------------------------------------------------


@cache
def pdf_seed() -> bytes:
    """Two pages, uncompressed: text, an image XObject, a /Rotate; every object is reachable
    by the byte mutations."""
    return make_pdf(
        [
            PdfPageSpec(text(72, 700, "Invoice 4711") + b"q 100 0 0 100 72 500 cm /Im1 Do Q\n",
                        image=True),
            PdfPageSpec(text(72, 700, "Total 12.50"), rotate=90),
        ]
    )  # fmt: skip


@cache
def fpdf_seed() -> bytes:
    """A PDF as fpdf2 writes it: compressed content streams, an embedded PNG, a link."""
    pdf = FPDF(unit="pt", format=(300, 200))
    pdf.set_compression(True)
    pdf.add_page()
    pdf.set_font("helvetica", size=14)
    pdf.cell(text="Receipt 2024-03-01  EUR 12.50", link="https://example.org")
    buffer = io.BytesIO()
    text_image(["PAID"], size=(120, 40), font_size=24).save(buffer, format="PNG")
    pdf.image(io.BytesIO(buffer.getvalue()), x=20, y=60, w=120)
    return bytes(pdf.output())


def _image(fmt: str, mode: str = "RGB", **params: object) -> bytes:
    buffer = io.BytesIO()
    text_image(["Total 12.50"], size=(96, 48), font_size=16).convert(mode).save(
        buffer, format=fmt, **params
    )
    return buffer.getvalue()


@cache
def png_seed() -> bytes:
    return _image("PNG", "P")  # palette: PLTE and tRNS-style chunks to mutate


@cache
def jpeg_seed() -> bytes:
    return _image("JPEG", quality=80)


@cache
def tiff_seed() -> bytes:
    """Two frames (multi-page TIFF), LZW: IFD chains and strip offsets to mutate."""
    frames = [text_image([f"page {i}"], size=(64, 32), font_size=14) for i in range(2)]
    buffer = io.BytesIO()
    frames[0].save(buffer, format="TIFF", save_all=True, append_images=frames[1:],
                   compression="tiff_lzw")  # fmt: skip
    return buffer.getvalue()


# Real broken and unusual files (CCITT, JBIG2, Type 3 fonts, malformed xrefs, multi-page
# TIFFs...), when the shared datasets are next to the checkout; see its README.
ROBUSTNESS = Path(__file__).resolve().parents[3] / "shared" / "datasets" / "robustness" / "dev"
_SLOW_TO_MUTATE = frozenset({"ocr_hugemono", "ocr_enormous"})  # 1.2 Gpx / 35 Mpx per try


def robustness_items() -> list[dict[str, object]]:
    """The robustness set's items with their expectations (empty when it is absent)."""
    index = ROBUSTNESS / "index.jsonl"
    if not index.exists():
        return []
    items = []
    for line in index.read_text().splitlines():
        item = json.loads(line)
        item["expected"] = json.loads((ROBUSTNESS / item["gt"]["expected"]).read_text())["expected"]
        items.append(item)
    return items


def robustness_seeds(max_bytes: int = 150_000) -> tuple[bytes, ...]:
    """Small real files of the robustness set, as mutation seeds."""
    found = []
    for item in robustness_items():
        path = ROBUSTNESS / str(item["doc"])
        if item["id"] not in _SLOW_TO_MUTATE and 0 < path.stat().st_size <= max_bytes:
            found.append(path.read_bytes())
    return tuple(found)


def office_seed(kind: str, folder: Path) -> bytes:
    path = folder / f"seed.{kind}"
    if kind == "docx":
        make_docx(path)
    elif kind == "xlsx":
        make_xlsx(path)
    else:
        make_pptx(path)
    return path.read_bytes()


# --- zip packages ---------------------------------------------------------------------------


def zip_parts(data: bytes) -> list[tuple[str, bytes]]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return [(info.filename, archive.read(info)) for info in archive.infolist()]


def rezip(parts: Iterable[tuple[str, bytes]]) -> bytes:
    """A well-formed package (valid CRCs and directory) around possibly hostile parts, so the
    mutations reach the XML readers instead of stopping at the zip layer."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts:
            archive.writestr(name, data)
    return buffer.getvalue()


@dataclass(frozen=True)
class _Member:
    name: str
    deflated: bytes  # raw deflate
    crc: int
    size: int


def _deflate(data: bytes, final: bool = True) -> bytes:
    """Raw deflate of `data`; with final=False a full flush ends it, so the compressor state is
    reset and the same input always gives the same bytes (blocks can be repeated)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    return compressor.compress(data) + compressor.flush(
        zlib.Z_FINISH if final else zlib.Z_FULL_FLUSH
    )


def _repeated(
    head: bytes, block: bytes, count: int, tail: bytes, checksum: Checksum = zlib.crc32
) -> tuple[bytes, int, int]:
    """Deflate stream, checksum (CRC-32 for zip, Adler-32 for zlib streams) and length of
    head + block * count + tail, without ever holding the inflated data."""
    value = checksum(head)
    for _ in range(count):
        value = checksum(block, value)
    value = checksum(tail, value)
    stream = _deflate(head, False) + _deflate(block, False) * count + _deflate(tail)
    return stream, value, len(head) + len(block) * count + len(tail)


def _write_zip(members: list[_Member]) -> bytes:
    """A plain (non-zip64) zip with the given precompressed members."""
    out = io.BytesIO()
    directory = io.BytesIO()
    for member in members:
        name = member.name.encode()
        offset = out.tell()
        fields = (20, 0, 8, 0, 0x21, member.crc, len(member.deflated), member.size, len(name))
        out.write(b"PK\x03\x04" + struct.pack("<HHHHHIIIHH", *fields, 0) + name)
        out.write(member.deflated)
        directory.write(
            b"PK\x01\x02"
            + struct.pack("<HHHHHHIIIHHHHHII", 20, *fields, 0, 0, 0, 0, 0, offset)
            + name
        )
    start, listing = out.tell(), directory.getvalue()
    out.write(listing)
    count = len(members)
    out.write(b"PK\x05\x06" + struct.pack("<HHHHIIH", 0, 0, count, count, len(listing), start, 0))
    return out.getvalue()


def zip_bomb(package: bytes, part: str, inflated_mib: int) -> bytes:
    """`package` with `part` padded by whitespace (valid XML) to `inflated_mib` MiB."""
    members = []
    for name, data in zip_parts(package):
        if name == part:
            root = re.search(rb"<[A-Za-z]", data)  # the root element (after any <?xml ?>)
            assert root is not None, f"{name} is no XML part"
            cut = data.index(b">", root.start()) + 1
            stream, crc, size = _repeated(data[:cut], b" " * MIB, inflated_mib, data[cut:])
            members.append(_Member(name, stream, crc, size))
        else:
            members.append(_Member(name, _deflate(data), zlib.crc32(data), len(data)))
    return _write_zip(members)


# --- PNG ------------------------------------------------------------------------------------


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_claiming(width: int, height: int, grey: bool = False) -> bytes:
    """A tiny PNG whose header claims `width` x `height` (the pixel data is a few bytes)."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0 if grey else 2, 0, 0, 0)
    return (PNG_MAGIC + png_chunk(b"IHDR", header) + png_chunk(b"IDAT", zlib.compress(b"\0" * 64))
            + png_chunk(b"IEND", b""))  # fmt: skip


def png_bomb(width: int, height: int, grey: bool = True) -> bytes:
    """A real, complete PNG of `width` x `height` black pixels (a decompression bomb: 400 Mpx
    grey are 400 MB decoded and about 0.4 MB on disk)."""
    row = b"\0" * (1 + width * (1 if grey else 3))  # filter byte + pixels
    rows_per_block = max(1, MIB // len(row))
    blocks, rest = divmod(height, rows_per_block)
    stream, adler, _ = _repeated(b"", row * rows_per_block, blocks, row * rest, zlib.adler32)
    idat = b"\x78\xda" + stream + struct.pack(">I", adler)
    header = struct.pack(">IIBBBBB", width, height, 8, 0 if grey else 2, 0, 0, 0)
    return (
        PNG_MAGIC + png_chunk(b"IHDR", header) + png_chunk(b"IDAT", idat) + png_chunk(b"IEND", b"")
    )


def png_split(data: bytes) -> list[tuple[bytes, bytes]]:
    """(type, data) of every chunk of a well-formed PNG."""
    chunks, pos = [], len(PNG_MAGIC)
    while pos + 12 <= len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        chunks.append((data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]))
        pos += 12 + length
    return chunks


def png_join(chunks: Iterable[tuple[bytes, bytes]]) -> bytes:
    return PNG_MAGIC + b"".join(png_chunk(kind, data) for kind, data in chunks)


def fix_png_crcs(data: bytes) -> bytes:
    """Recompute every chunk CRC after a mutation (PIL refuses a bad CRC before decoding, which
    would hide the decoder from the fuzzer); stops quietly where the chunk layout is broken."""
    if not data.startswith(PNG_MAGIC):
        return data
    out = bytearray(data)
    pos = len(PNG_MAGIC)
    while pos + 12 <= len(out):
        (length,) = struct.unpack(">I", out[pos : pos + 4])
        end = pos + 8 + length
        if end + 4 > len(out):
            break
        out[end : end + 4] = struct.pack(">I", zlib.crc32(bytes(out[pos + 4 : end])))
        pos = end + 4
    return bytes(out)
