"""Opening input files: sniff the type, expose pages lazily, render them with a pixel cap.

PDFs go through pdfium (rendering and text layer); images through PIL; DOCX/XLSX/PPTX through
extractors.office (native structure, logical positions). Nothing is decoded or
rendered until a page's `render()` is called, so a 1000-page document never sits in memory, and
every decode is capped at `max_pixels` (huge scans are scaled down, never OOM).
"""

from __future__ import annotations

import contextlib
import functools
import io
import logging
import math
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, overload

import numpy as np
import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
from PIL import Image
from pydantic import BaseModel, ConfigDict, Field

from extractors.document import Line
from extractors.office import (
    OFFICE_MEDIA_TYPES,
    NativePage,
    OfficeError,
    ole_reason,
    read_office,
    sniff_ooxml,
)
from extractors.office.render import render_page
from extractors.rulings import Ruling, extract_rulings
from extractors.text_layer import TextLayerOptions, extract_text_layer, page_frame

log = logging.getLogger(__name__)

# Above this many decoded bytes an image that PIL cannot decode reduced (PNG, BMP, WebP, TIFF)
# is refused instead of decoded: the bytes are held once, then reduced.
MAX_FULL_DECODE_BYTES = 1 << 30
_TILE_PIXELS = 1 << 24  # source pixels converted to RGB at once (64 MiB of RGBA)
_PIL_BYTES_PER_PIXEL = {"1": 1, "L": 1, "P": 1, "LA": 2, "PA": 2, "I;16": 2, "I;16B": 2, "I;16L": 2}
_EXIF_ORIENTATION = 0x0112
_TRANSPOSE = {  # EXIF orientation -> the transpose that shows the image upright (as PIL does)
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_MAGIC: list[tuple[bytes, str]] = [
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"II*\x00", "image/tiff"),
    (b"MM\x00*", "image/tiff"),
    (b"II+\x00", "image/tiff"),  # BigTIFF
    (b"BM", "image/bmp"),
]
_UNSUPPORTED_MAGIC: list[tuple[bytes, str]] = [
    (b"GIF8", "image/gif"),
    (b"PK\x03\x04", "application/zip, not an Office document"),
    (b"PK\x05\x06", "application/zip, an empty archive"),
    (b"%!PS", "application/postscript"),
    (b"\x00\x00\x00\x0cjP  ", "image/jp2"),
    (b"{\\rtf", "application/rtf"),
]


class IngestError(Exception):
    """An input that cannot be opened, with a reason a user can act on."""


class IngestOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    ocr_dpi: int = Field(default=200, gt=0, le=1200)  # render DPI for pages that need OCR
    # pages with a usable text layer (the layout model needs ~800 px per page)
    layout_dpi: int = Field(default=72, gt=0, le=1200)
    max_pixels: int = Field(default=25_000_000, gt=0)  # cap on rendered/decoded pixels per page
    password: str | None = None
    text_layer: TextLayerOptions = Field(default_factory=TextLayerOptions)


@dataclass
class SourcePage:
    """One page as the input presents it; pixels only on `render()`."""

    index: int
    width: float  # pt for PDFs (after /Rotate), px of the original file for images
    height: float
    unit: Literal["px", "pt"]
    rotation: int  # PDF /Rotate (0/90/180/270); 0 for images (EXIF orientation is applied)
    render: Callable[[], np.ndarray]  # HxWx3 uint8 RGB, pixel-capped
    text_lines: list[Line] | None  # PDF text layer (presented frame); None for images
    text_layer_usable: bool
    text_layer_note: str = ""  # why the text layer is not usable, for logs and reviewers
    # Office pages: blocks and tables from the file itself; the pipeline keeps them and runs the
    # page stages on the embedded pictures only.
    native: NativePage | None = None
    rulings: list[Ruling] = field(default_factory=list)  # PDF vector rules (presented frame)


class _PageSequence(Sequence[SourcePage]):
    """Builds each page on access (keeping only the last one), so memory stays flat."""

    def __init__(self, count: int, build: Callable[[int], SourcePage]) -> None:
        self._count, self._build = count, build
        self._last: SourcePage | None = None

    def __len__(self) -> int:
        return self._count

    @overload
    def __getitem__(self, index: int) -> SourcePage: ...
    @overload
    def __getitem__(self, index: slice) -> list[SourcePage]: ...
    def __getitem__(self, index: int | slice) -> SourcePage | list[SourcePage]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(self._count))]
        if index < 0:
            index += self._count
        if not 0 <= index < self._count:
            raise IndexError(f"page {index} out of range (document has {self._count})")
        if self._last is None or self._last.index != index:
            self._last = self._build(index)
        return self._last

    def __iter__(self) -> Iterator[SourcePage]:
        return (self[i] for i in range(self._count))


@dataclass
class OpenedDocument:
    media_type: str
    pages: Sequence[SourcePage]
    page_count: int
    _closers: list[Callable[[], None]] = field(default_factory=list, repr=False)

    def close(self) -> None:
        while self._closers:
            self._closers.pop()()

    def __enter__(self) -> OpenedDocument:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def sniff_media_type(path: Path | str) -> str:
    """The media type by magic bytes (never the extension); IngestError if unsupported."""
    path = Path(path)
    try:
        with path.open("rb") as fh:
            head = fh.read(1024)
    except OSError as exc:
        raise IngestError(f"cannot read file: {exc.strerror or exc}") from exc
    if not head:
        raise IngestError("empty file (0 bytes)")
    if b"%PDF-" in head:  # the spec allows junk before the header; pdfium accepts it too
        return "application/pdf"
    for magic, media_type in _MAGIC:
        if head.startswith(magic):
            return media_type
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head.startswith(b"PK\x03\x04"):  # OOXML is a zip: its [Content_Types].xml says which
        try:
            office_type = sniff_ooxml(path)
        except OfficeError as exc:
            raise IngestError(str(exc)) from exc
        if office_type is not None:
            return office_type
    if head.startswith(b"\xd0\xcf\x11\xe0"):  # OLE: encrypted OOXML or a legacy binary format
        raise IngestError(ole_reason(path))
    detected = next((t for m, t in _UNSUPPORTED_MAGIC if head.startswith(m)), None)
    if detected is None:
        stripped = head.lstrip().lower()
        if stripped.startswith((b"<!doctype html", b"<html")):
            detected = "text/html"
        elif stripped.startswith(b"<?xml") or stripped.startswith(b"<svg"):
            detected = "application/xml"
        else:
            try:
                head.decode("utf-8")
                detected = "text/plain"
            except UnicodeDecodeError:
                detected = "unknown binary"
    raise IngestError(f"not a supported file type (detected: {detected})")


def open_document(path: Path, options: IngestOptions) -> OpenedDocument:
    """Open a PDF, image or Office file; pages are built and rendered lazily. Raises IngestError."""
    path = Path(path)
    media_type = sniff_media_type(path)
    if media_type == "application/pdf":
        return _open_pdf(path, options)
    if media_type in OFFICE_MEDIA_TYPES:
        return _open_office(path, media_type, options)
    return _open_image(path, media_type, options)


# --- Office ---------------------------------------------------------------------------------


def _open_office(path: Path, media_type: str, options: IngestOptions) -> OpenedDocument:
    """Office files are read whole (their structure is small next to their pictures, which
    stay encoded until a stage or the review app renders them)."""
    try:
        natives = read_office(path, media_type)
    except OfficeError as exc:
        raise IngestError(str(exc)) from exc
    decode = functools.partial(_decode_picture, max_pixels=options.max_pixels)
    pages = []
    for index, native in enumerate(natives):
        native.decode = decode
        render = functools.partial(render_page, native, options.max_pixels)
        pages.append(
            SourcePage(index, native.width, native.height, "pt", 0, render, None, True, "", native)
        )
    return OpenedDocument(media_type, pages, len(pages))


def _decode_picture(data: bytes, max_pixels: int) -> np.ndarray:
    """An embedded picture as RGB, with the same pixel cap and bomb guard as image files."""
    with _no_bomb_check():
        try:
            with Image.open(io.BytesIO(data)) as im:
                w, h = im.size
                if w * h > max_pixels and im.format == "JPEG":
                    k = math.sqrt(w * h / max_pixels)
                    im.draft(None, (math.ceil(w / k), math.ceil(h / k)))
                elif w * h * _PIL_BYTES_PER_PIXEL.get(im.mode, 4) > MAX_FULL_DECODE_BYTES:
                    raise IngestError(f"embedded picture too large to decode: {w} x {h} px")
                im.load()
                out = _to_rgb_capped(im, max_pixels)
                im.close()  # free the full-size decode before the copy (see _render_image)
        except _PASS_THROUGH:
            raise
        except Exception as exc:  # see _PIL_FAILURES
            raise IngestError(f"corrupt embedded picture: {_detail(exc)}") from exc
    return np.asarray(out)


# --- PDF ------------------------------------------------------------------------------------


def _open_pdf(path: Path, options: IngestOptions) -> OpenedDocument:
    try:
        doc = pdfium.PdfDocument(path, password=options.password)
    except pdfium.PdfiumError as exc:
        code = getattr(exc, "err_code", None)
        if code == pdfium_c.FPDF_ERR_PASSWORD:
            if not options.password:
                raise IngestError("encrypted PDF: a password is required (use --password)") from exc
            raise IngestError("wrong password for encrypted PDF") from exc
        if code == pdfium_c.FPDF_ERR_SECURITY:
            raise IngestError("encrypted PDF: unsupported security handler") from exc
        raise IngestError(f"corrupt PDF: {_pdfium_reason(exc)}") from exc
    except OSError as exc:
        raise IngestError(f"cannot read file: {exc}") from exc
    count = len(doc)
    if count == 0:
        doc.close()
        raise IngestError("corrupt PDF: no pages")
    with contextlib.suppress(pdfium.PdfiumError):
        doc.init_forms()  # draws filled form fields that lack an appearance stream
    build = functools.partial(_pdf_page, doc, options)
    return OpenedDocument("application/pdf", _PageSequence(count, build), count, [doc.close])


def _pdfium_reason(exc: Exception) -> str:
    text = str(exc)
    if "(PDFium: " in text:
        text = text.split("(PDFium: ", 1)[1].rstrip(").")
    return text.lower() or "unreadable"


def _load_page(doc: pdfium.PdfDocument, index: int) -> pdfium.PdfPage:
    try:
        return doc[index]
    except pdfium.PdfiumError as exc:
        raise IngestError(f"corrupt PDF: page {index + 1} cannot be loaded") from exc


def _pdf_page(doc: pdfium.PdfDocument, options: IngestOptions, index: int) -> SourcePage:
    try:
        page = _load_page(doc, index)
    except IngestError as error:
        # The page tree counts a page pdfium cannot load (a /Count above its kids, a kid that
        # is no page). Raising here, while the pipeline walks the pages, killed the worker;
        # the page instead fails alone when rendered and the document ends `partial`.
        return _unloadable_page(index, str(error))
    try:
        frame = page_frame(page)
        layer = extract_text_layer(page, index, options.text_layer)
        rulings = extract_rulings(page, frame)
    finally:
        page.close()
    width, height = frame.size
    dpi = options.layout_dpi if layer.usable else options.ocr_dpi
    render = functools.partial(_render_pdf_page, doc, index, dpi, options.max_pixels)
    return SourcePage(
        index=index,
        width=width,
        height=height,
        unit="pt",
        rotation=frame.rotation,
        render=render,
        text_lines=layer.lines,
        text_layer_usable=layer.usable,
        text_layer_note=layer.reason,
        rulings=rulings,
    )


def _unloadable_page(index: int, reason: str) -> SourcePage:
    """A page whose size is unknown (0 x 0) and whose render says why it cannot be read."""
    return SourcePage(
        index=index,
        width=0.0,
        height=0.0,
        unit="pt",
        rotation=0,
        render=functools.partial(_raise_ingest_error, reason),
        text_lines=None,
        text_layer_usable=False,
        text_layer_note=reason,
    )


def _raise_ingest_error(reason: str) -> np.ndarray:
    raise IngestError(reason)


def capped_scale(width: float, height: float, scale: float, max_pixels: int) -> float:
    """`scale`, reduced so that the output stays within `max_pixels`."""
    pixels = width * height * scale * scale
    if pixels > max_pixels:
        scale *= math.sqrt(max_pixels / pixels) * 0.999
        # The renderer rounds each side up to whole pixels: on a long thin page (612 x 77792 pt)
        # one extra column is worth more than the 0.1 % margin, so check the rounded size.
        while math.ceil(width * scale) * math.ceil(height * scale) > max_pixels:
            scale *= 0.999
    return scale


def _render_pdf_page(doc: pdfium.PdfDocument, index: int, dpi: int, max_pixels: int) -> np.ndarray:
    page = _load_page(doc, index)
    try:
        width, height = page.get_size()
        scale = capped_scale(width, height, dpi / 72.0, max_pixels)
        # limit_image_cache: pdfium otherwise keeps decoded images (1.2 Gpx scans) cached.
        bitmap = page.render(scale=scale, rev_byteorder=True, limit_image_cache=True)
        try:
            array = np.array(bitmap.to_numpy(), copy=True)  # the buffer dies with the bitmap
        finally:
            bitmap.close()
    finally:
        page.close()
    if array.ndim == 2:
        array = np.repeat(array[:, :, None], 3, axis=2)
    return np.ascontiguousarray(array[:, :, :3])


# --- Images ---------------------------------------------------------------------------------


@contextlib.contextmanager
def _no_bomb_check() -> Iterator[None]:
    """PIL refuses images over ~179 Mpx; we cap decoded pixels ourselves, so lift its guard
    while opening and decoding (restored afterwards, so other PIL users keep theirs)."""
    saved = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = None
    try:
        yield
    finally:
        Image.MAX_IMAGE_PIXELS = saved


# _PIL_FAILURES: PIL reports a damaged file with whatever its parser tripped on: OSError and
# SyntaxError, but also (found by tests/fuzz) TypeError for a TIFF frame without dimensions,
# KeyError for an unknown TIFF compression, IndexError, struct.error... Any exception from PIL
# therefore means "cannot read this file", except our own refusals and running out of memory.
_PASS_THROUGH = (IngestError, MemoryError)


def _detail(exc: Exception) -> str:
    """The reason in PIL's words; the class too where the message alone says nothing
    (KeyError: 261)."""
    if isinstance(exc, OSError | SyntaxError | ValueError | EOFError) and str(exc):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


def _open_pil(path: Path) -> Image.Image:
    try:
        return Image.open(path)
    except _PASS_THROUGH:
        raise
    except Exception as exc:  # see _PIL_FAILURES
        raise IngestError(f"corrupt image: {_detail(exc)}") from exc


def _open_image(path: Path, media_type: str, options: IngestOptions) -> OpenedDocument:
    sizes: list[tuple[int, int]] = []
    with _no_bomb_check(), _open_pil(path) as im:
        frames = _frame_count(im) if media_type == "image/tiff" else 1
        for frame in range(frames):
            try:
                im.seek(frame)
            except _PASS_THROUGH:
                raise
            except Exception as exc:  # see _PIL_FAILURES
                if not sizes:
                    raise IngestError(f"corrupt image: {_detail(exc)}") from exc
                log.warning("%s: frame %d unreadable (%s); keeping %d", path, frame, exc, frame)
                break
            w, h = im.size
            sizes.append((h, w) if _orientation(im) in (5, 6, 7, 8) else (w, h))

    def build(index: int) -> SourcePage:
        w, h = sizes[index]
        render = functools.partial(_render_image, path, index, options.max_pixels)
        return SourcePage(index, float(w), float(h), "px", 0, render, None, False)

    return OpenedDocument(media_type, _PageSequence(len(sizes), build), len(sizes))


def _frame_count(im: Image.Image) -> int:
    try:
        return int(getattr(im, "n_frames", 1))
    except _PASS_THROUGH:
        raise
    except Exception as exc:  # see _PIL_FAILURES
        # Counting reads every IFD, and a broken one must not lose the frames before it: the
        # caller seeks frame by frame until one fails.
        log.warning("TIFF frames cannot all be counted (%s); reading up to the broken one", exc)
        return sys.maxsize


def _orientation(im: Image.Image) -> int:
    if im.format == "PNG" and "exif" not in im.info:
        # PIL's PNG getexif() decodes the whole image to look for an eXIf chunk after the
        # pixels: a 74-byte file claiming 100000 x 100000 px allocated ~1 GB here, before any
        # size check. Writers put eXIf before IDAT (PIL does), where open() has read it.
        return 1
    try:
        value = im.getexif().get(_EXIF_ORIENTATION, 1)
    except Exception:  # broken EXIF blocks are common; they must not stop the page
        return 1
    return value if isinstance(value, int) else 1


def _render_image(path: Path, frame: int, max_pixels: int) -> np.ndarray:
    with _no_bomb_check(), _open_pil(path) as im:
        try:
            im.seek(frame)
            orientation = _orientation(im)
            w, h = im.size
            if w * h > max_pixels and im.format == "JPEG":
                # DCT scaling decodes at 1/2, 1/4 or 1/8 directly: never the full image.
                k = math.sqrt(w * h / max_pixels)
                im.draft(None, (math.ceil(w / k), math.ceil(h / k)))
            elif w * h * _PIL_BYTES_PER_PIXEL.get(im.mode, 4) > MAX_FULL_DECODE_BYTES:
                raise IngestError(
                    f"image too large to decode: {w} x {h} px {im.mode} "
                    f"(over {MAX_FULL_DECODE_BYTES >> 20} MiB decoded)"
                )
            im.load()
            out = _to_rgb_capped(im, max_pixels)
        except _PASS_THROUGH:
            raise
        except Exception as exc:  # see _PIL_FAILURES
            raise IngestError(f"corrupt image (frame {frame + 1}): {_detail(exc)}") from exc
        finally:
            # `with` only closes the file: the decoded pixels (up to 1 GiB) stayed alive
            # through the transpose and copy below, and ran a 1.5 GB process out of memory.
            im.close()
    if orientation in _TRANSPOSE:
        out = out.transpose(_TRANSPOSE[orientation])
    return np.asarray(out)


def _to_rgb_capped(im: Image.Image, max_pixels: int) -> Image.Image:
    """Any PIL mode -> RGB, reduced by an integer factor until within max_pixels.

    Converted in tiles, so a huge 1-bit scan is never held as full-size RGB."""
    w, h = im.size
    factor = max(1, math.ceil(math.sqrt(w * h / max_pixels)))
    scale16 = _high_bit_depth_scale(im)
    out = Image.new("RGB", (math.ceil(w / factor), math.ceil(h / factor)), "white")
    # Square tiles of about _TILE_PIXELS source pixels, a whole number of factors wide: full
    # width bands held 400 MB of RGB at once for a 16-million-pixel-wide image.
    tile = factor * max(1, math.isqrt(_TILE_PIXELS) // factor)
    for y in range(0, h, tile):
        for x in range(0, w, tile):
            part = _to_rgb(im.crop((x, y, min(w, x + tile), min(h, y + tile))), scale16)
            if factor > 1:
                part = part.reduce(factor)
            out.paste(part, (x // factor, y // factor))
    return out


def _high_bit_depth_scale(im: Image.Image) -> float:
    """Divisor mapping 16/32-bit grey to 0..255 by the bit depth the values actually use."""
    if im.mode not in ("I", "F") and not im.mode.startswith("I;16"):
        return 1.0
    high = im.getextrema()[1]
    top = float(high) if isinstance(high, int | float) else 0.0
    for bits in (8, 10, 12, 14, 16, 32):
        if top < 2**bits:
            return (2**bits - 1) / 255.0
    return top / 255.0


def _to_rgb(im: Image.Image, scale16: float) -> Image.Image:
    if im.mode == "RGB":
        return im
    if im.mode in ("I", "F") or im.mode.startswith("I;16"):
        values = np.asarray(im, dtype=np.float64) / scale16
        return Image.fromarray(np.clip(values, 0, 255).astype(np.uint8), "L").convert("RGB")
    has_alpha = im.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
        im.mode == "P" and "transparency" in im.info
    )
    if has_alpha:  # transparent pixels often carry black: put them on white paper
        rgba = im.convert("RGBA")
        paper = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(paper, rgba).convert("RGB")
    return im.convert("RGB")
