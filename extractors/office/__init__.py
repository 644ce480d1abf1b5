"""Office documents (DOCX, XLSX, PPTX) as Folio pages: one per section, sheet or slide.

An OOXML file is a zip; its type comes from `[Content_Types].xml` (the content type of the main
part), never from the file name. Each page carries its native structure (`NativePage`): the
pipeline keeps it as the page's blocks and tables and sends only embedded pictures through the
page stages (OCR). An encrypted OOXML file is an OLE compound file holding an
`EncryptedPackage` stream; it fails with a reason, as does any file the readers reject.
"""

from __future__ import annotations

import importlib
import logging
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO
from xml.etree import ElementTree

from extractors.office.native import NativePage
from extractors.office.strict import is_strict, transitional_copy

log = logging.getLogger(__name__)

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
OFFICE_MEDIA_TYPES = frozenset({DOCX, XLSX, PPTX})
# Content type of the main part (documents, templates, macro-enabled variants) -> media type.
_MAIN_PARTS = {
    "wordprocessingml.document.main": DOCX,
    "wordprocessingml.template.main": DOCX,
    "ms-word.document.macroEnabled.main": DOCX,
    "ms-word.template.macroEnabledTemplate.main": DOCX,
    "spreadsheetml.sheet.main": XLSX,
    "spreadsheetml.template.main": XLSX,
    "ms-excel.sheet.macroEnabled.main": XLSX,
    "ms-excel.template.macroEnabled.main": XLSX,
    "presentationml.presentation.main": PPTX,
    "presentationml.slideshow.main": PPTX,
    "presentationml.template.main": PPTX,
    "ms-powerpoint.presentation.macroEnabled.main": PPTX,
    "ms-powerpoint.slideshow.macroEnabled.main": PPTX,
}
_FALLBACK_PARTS = {"word/document.xml": DOCX, "xl/workbook.xml": XLSX, "ppt/presentation.xml": PPTX}
# Part names that open an OOXML zip (its first local header), whatever wrote it.
_OOXML_NAMES = (b"[Content_Types].xml", b"_rels/.rels", b"docProps/", b"word/", b"xl/", b"ppt/")
_KIND = {DOCX: "DOCX", XLSX: "XLSX", PPTX: "PPTX"}
_ENCRYPTED = "EncryptedPackage".encode("utf-16-le")
_OLE_SCAN_BYTES = 64 << 20  # directory entries sit anywhere; big legacy files are read this far
# Zip bombs: the readers inflate parts whole and parse them into trees several times their size
# (a 400 MiB part of blanks, 0.6 MB on disk, took 0.9 GB before lxml gave up), so the sizes the
# zip directory declares are checked before any part is read. zipfile never inflates a member
# past its declared size (it fails the CRC instead), so these bound what reading can allocate.
MAX_PART_BYTES = 128 << 20
MAX_PACKAGE_BYTES = 512 << 20
MAX_PARTS = 10_000
MAX_RATIO = 200  # inflated / compressed of a part over RATIO_FLOOR; real XML packs 5-30x
RATIO_FLOOR = 8 << 20


class OfficeError(Exception):
    """An Office file that cannot be read, with the reason (ingest turns it into IngestError)."""


def sniff_ooxml(path: Path) -> str | None:
    """The media type of an OOXML package, None if the zip is not one. OfficeError when the
    archive itself is damaged but its first entry says it is an Office package."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            if "[Content_Types].xml" not in names:
                return None
            check_package(archive)
            types = archive.read("[Content_Types].xml")
    except zipfile.BadZipFile as error:
        with path.open("rb") as fh:
            head = fh.read(256)
        if any(name in head for name in _OOXML_NAMES):
            raise OfficeError(f"corrupt Office file (damaged zip archive: {error})") from error
        return None
    except (OSError, KeyError, RuntimeError, EOFError, zlib.error) as error:
        raise OfficeError(f"corrupt Office file: {error}") from error
    try:
        root = ElementTree.fromstring(types)
    except ElementTree.ParseError as error:
        raise OfficeError(f"corrupt Office file ([Content_Types].xml: {error})") from error
    for override in root:
        content_type = override.get("ContentType", "")
        for suffix, media_type in _MAIN_PARTS.items():
            if content_type.endswith(suffix + "+xml"):
                return media_type
    return next((t for part, t in _FALLBACK_PARTS.items() if part in names), None)


def check_package(archive: zipfile.ZipFile) -> None:
    """OfficeError when the package inflates beyond what Folio reads (a zip bomb, or a file
    far larger than any document it can show), judged from the zip directory alone."""
    infos = archive.infolist()
    if len(infos) > MAX_PARTS:
        raise OfficeError(f"Office file has {len(infos)} parts (limit {MAX_PARTS})")
    total = 0
    for info in infos:
        total += info.file_size
        ratio = info.file_size / max(1, info.compress_size)
        if info.file_size > MAX_PART_BYTES or (info.file_size > RATIO_FLOOR and ratio > MAX_RATIO):
            raise OfficeError(
                f"Office file too large to read: part {info.filename!r} inflates to "
                f"{info.file_size >> 20} MiB from {info.compress_size >> 10} KiB (limits: "
                f"{MAX_PART_BYTES >> 20} MiB a part, {MAX_RATIO}:1 compression); a zip bomb?"
            )
    if total > MAX_PACKAGE_BYTES:
        raise OfficeError(
            f"Office file too large to read: its parts inflate to {total >> 20} MiB "
            f"(limit {MAX_PACKAGE_BYTES >> 20} MiB)"
        )


def ole_reason(path: Path) -> str:
    """Why an OLE compound file cannot be read: an encrypted OOXML package or a legacy format."""
    with path.open("rb") as fh:
        data = fh.read(_OLE_SCAN_BYTES)
    if _ENCRYPTED in data:
        return (
            "password-protected Office file (encrypted OOXML): Folio cannot decrypt it; "
            "save a copy without a password and process that"
        )
    return (
        "legacy binary Office file (.doc/.xls/.ppt) is not supported: save it as .docx/.xlsx/.pptx"
    )


def read_office(path: Path, media_type: str) -> list[NativePage]:
    """The pages of an Office file; OfficeError with a readable reason if it cannot be read."""
    readers: dict[str, Callable[[str | BinaryIO], list[NativePage]]] = {
        DOCX: _lazy("docx_reader", "read_docx"),
        XLSX: _lazy("xlsx_reader", "read_xlsx"),
        PPTX: _lazy("pptx_reader", "read_pptx"),
    }
    kind = _KIND[media_type]
    try:
        with zipfile.ZipFile(path) as archive:
            check_package(archive)  # also when called without sniff_ooxml first
        source: str | BinaryIO = transitional_copy(path) if is_strict(path) else str(path)
        pages = readers[media_type](source)
    except OfficeError:
        raise
    except zipfile.BadZipFile as error:
        raise OfficeError(f"corrupt {kind} file (damaged zip archive: {error})") from error
    except KeyError as error:
        reason = str(error).strip("\"'")
        if "officeDocument" in reason and "relationship" in reason:
            reason = "no main document part"
        raise OfficeError(f"corrupt {kind} file: {reason}") from error
    except Exception as error:  # lxml/zip/reader errors: one message, never a crash
        log.debug("%s: %s reader failed", path, kind, exc_info=True)
        raise OfficeError(f"corrupt {kind} file: {error.__class__.__name__}: {error}") from error
    if not pages:
        raise OfficeError(f"{kind} file has no {'sheets' if media_type == XLSX else 'slides'}")
    return pages


def _lazy(module: str, name: str) -> Callable[[str | BinaryIO], list[NativePage]]:
    """Import a reader on first use (python-docx & co. are not needed to open a PDF)."""

    def call(source: str | BinaryIO) -> list[NativePage]:
        reader: Callable[[str | BinaryIO], list[NativePage]] = getattr(
            importlib.import_module(f"extractors.office.{module}"), name
        )
        return reader(source)

    return call
