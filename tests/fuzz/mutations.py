"""Hypothesis strategies that damage real files: byte flips, overwrites with boundary values,
insertions of format tokens, deletions, duplications and truncations. Positions span the whole
file, so headers, tables (xref, IFDs, chunk lengths) and payloads are all hit."""

from __future__ import annotations

from collections.abc import Sequence

from hypothesis import strategies as st

from tests.fuzz import seeds

BOUNDARY_VALUES: tuple[bytes, ...] = (
    b"\x00", b"\xff", b"\x7f", b"\x80", b"\x00\x00", b"\xff\xff",
    b"\x00\x00\x00\x00", b"\xff\xff\xff\xff", b"\x7f\xff\xff\xff", b"\x80\x00\x00\x00",
    b"\xff\xff\xff\x7f", b"\x00\x00\x01\x00",
)  # fmt: skip
PDF_TOKENS: tuple[bytes, ...] = (
    b" obj ", b"endobj", b"stream\n", b"endstream", b"<<", b">>", b"[", b"]", b"(", b")",
    b"/Count 2147483647", b"/Count -1", b"/Length 99999999", b"/Length -5",
    b"/MediaBox [0 0 1e38 1e38]", b"/MediaBox [0 0 0 0]", b"/Rotate 45", b"/Rotate -90",
    b"/Kids [2 0 R 2 0 R]", b"/Parent 6 0 R", b"/Resources 6 0 R", b"0 0 R", b" 99999 0 R",
    b"/Filter /FlateDecode", b"/Filter /DCTDecode", b"/Filter /JBIG2Decode",
    b"/Filter [/ASCIIHexDecode /LZWDecode]", b"/Width 99999 /Height 99999",
    b"/BitsPerComponent 16", b"/ColorSpace /DeviceN", b"/Type /Pages", b"/Type /Page",
    b"xref\n0 1\n", b"trailer", b"startxref\n0\n", b"%%EOF", b"/Encrypt 3 0 R",
    b"/Prev 10", b"1e308", b"-0", b"q q q q q q q q", b"999999 Tf", b"\\", b"%",
)  # fmt: skip
PNG_TOKENS: tuple[bytes, ...] = (
    b"IHDR", b"IDAT", b"PLTE", b"tRNS", b"eXIf", b"iCCP", b"zTXt", b"iTXt", b"acTL", b"IEND",
    b"\x00\x00\x00\x0dIHDR", b"\x00\x01\x00\x00\x00\x01\x00\x00",
)  # fmt: skip
JPEG_TOKENS: tuple[bytes, ...] = (
    b"\xff\xd8", b"\xff\xc0\x00\x11\x08\xff\xff\xff\xff", b"\xff\xc2", b"\xff\xc4", b"\xff\xdb",
    b"\xff\xda", b"\xff\xdd\x00\x04\x00\x00", b"\xff\xd9", b"\xff\xe1\x00\x10Exif\x00\x00II*\x00",
    b"\xff\xee\x00\x0eAdobe",
)  # fmt: skip
TIFF_TOKENS: tuple[bytes, ...] = (
    b"II*\x00", b"MM\x00*", b"\x08\x00\x00\x00",
    b"\x00\x01\x04\x00\x01\x00\x00\x00\xff\xff\x00\x00",  # ImageWidth 65535
    b"\x11\x01\x04\x00\xff\xff\x00\x00",  # StripOffsets with a huge count
    b"\x03\x01\x03\x00\x01\x00\x00\x00\x07\x00",  # Compression JPEG
    b"\x12\x01\x03\x00\x01\x00\x00\x00\x08\x00",  # Orientation 8
)  # fmt: skip
XML_TOKENS: tuple[bytes, ...] = (
    b"<", b">", b"</", b"/>", b"&", b"&amp;", b"&#0;", b"&#x110000;", b'"', b"'", b"=",
    b'<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]>', b"&b;",
    b"<![CDATA[", b"]]>", b'xmlns="urn:x"', b'xmlns:w="urn:x"', b'r:id="rId999"',
    b'r:embed="rId1"', b'Target="../../../../etc/passwd"', b'TargetMode="External"',
    b'w:val="-1"', b'w:val="99999999999999999999"', b'w:gridSpan="30000"', b'w:ilvl="9"',
    b"<w:tbl>", b"<w:tr>", b"<w:tc>", b"<w:p>", b"<w:sectPr/>", b"<row r=\"1048577\">",
    b'<c r="XFD1048576" t="s"><v>999999</v></c>', b'<mergeCell ref="A1:XFD1048576"/>',
    b'cx="-1"', b'cy="9223372036854775807"', b"<p:sp>", b"<a:tbl>", b"\xff\xfe", b"\xc3\x28",
)  # fmt: skip


ALL_OPS = ("flip", "byte", "value", "insert", "delete", "repeat", "cut")
IN_PLACE_OPS = ("flip", "byte", "value", "value", "cut")  # offsets (TIFF IFDs) stay valid


@st.composite
def mutated(
    draw: st.DrawFn,
    seed: bytes,
    tokens: Sequence[bytes] = (),
    keep: int = 8,
    ops: Sequence[str] = ALL_OPS,
) -> bytes:
    """`seed` after 1-6 random damages. The first `keep` bytes (the magic number) survive in
    about 9 of 10 examples: a file nobody recognises only tests the type sniffer."""
    data = bytearray(seed)
    inserts = st.sampled_from(tuple(tokens) + BOUNDARY_VALUES) | st.binary(min_size=1, max_size=24)
    start = 0 if draw(st.integers(0, 9)) == 0 else min(keep, len(data))
    for _ in range(draw(st.integers(1, 6))):
        op = draw(st.sampled_from(tuple(ops)))
        lo = min(start, max(0, len(data) - 1))
        # Modulo spreads positions over the file (Hypothesis favours small integers).
        at = lo + draw(st.integers(0, 2**32 - 1)) % max(1, len(data) - lo)
        if op == "flip" and data:
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif op == "byte" and data:
            data[at] = draw(st.integers(0, 255))
        elif op == "value":
            value = draw(st.sampled_from(BOUNDARY_VALUES))
            data[at : at + len(value)] = value
        elif op == "insert":
            data[at:at] = draw(inserts)
        elif op == "delete":
            del data[at : at + draw(st.integers(1, 256))]
        elif op == "repeat":  # a duplicated region: repeated objects, chunks, IFD entries
            piece = data[at : at + draw(st.integers(1, 512))]
            data[at:at] = piece * draw(st.integers(1, 8))
        elif op == "cut":
            del data[at:]
    return bytes(data)


@st.composite
def damaged_png(draw: st.DrawFn, seed: bytes) -> bytes:
    """A PNG damaged inside its chunks, with lengths and CRCs made right again so the damage
    reaches the header checks and the decoder; or chunks dropped, repeated or reordered; or,
    now and then, raw damage to the bytes."""
    how = draw(st.sampled_from(("chunk", "chunk", "header", "layout", "raw")))
    if how == "raw":
        return draw(mutated(seed, PNG_TOKENS))
    chunks = seeds.png_split(seed)
    if how == "header":  # width, height, bit depth, colour type, interlace: boundary values
        header = bytearray(chunks[0][1])
        for _ in range(draw(st.integers(1, 3))):
            at = draw(st.sampled_from((0, 4, 8, 9, 10, 11, 12)))
            value = draw(st.sampled_from(BOUNDARY_VALUES) | st.binary(min_size=1, max_size=4))
            header[at : at + len(value)] = value
        chunks[0] = (chunks[0][0], bytes(header[:13]))
    elif how == "layout":
        index = draw(st.integers(0, len(chunks) - 1))
        action = draw(st.sampled_from(("drop", "repeat", "swap")))
        if action == "drop":
            del chunks[index]
        elif action == "repeat":
            chunks[index:index] = [chunks[index]] * draw(st.integers(1, 50))
        else:
            other = draw(st.integers(0, len(chunks) - 1))
            chunks[index], chunks[other] = chunks[other], chunks[index]
    else:
        index = draw(st.integers(0, len(chunks) - 1))
        kind, data = chunks[index]
        chunks[index] = (kind, draw(mutated(data, PNG_TOKENS, keep=0)))
    return seeds.png_join(chunks)


@st.composite
def damaged_package(draw: st.DrawFn, package: bytes) -> bytes:
    """An Office package with damaged parts inside a valid zip (so the XML readers see the
    damage), a part left out, or, less often, damage to the zip bytes themselves."""
    how = draw(st.sampled_from(("part", "part", "part", "drop", "zip")))
    if how == "zip":
        return draw(mutated(package))
    parts = seeds.zip_parts(package)
    index = draw(st.integers(0, len(parts) - 1))
    if how == "drop":
        return seeds.rezip(p for i, p in enumerate(parts) if i != index)
    name, data = parts[index]
    parts[index] = (name, draw(mutated(data, XML_TOKENS)))
    return seeds.rezip(parts)
