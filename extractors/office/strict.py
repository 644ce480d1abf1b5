"""Strict Open XML (ISO 29500 Strict) read as Transitional: the readers only know Transitional
namespaces, and Strict differs (for what Folio reads) in namespace and relationship URIs."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

_STRICT = b"http://purl.oclc.org/ooxml/"
_TRANSITIONAL = [  # longest first: a prefix must not rewrite a longer URI it starts
    (b"officeDocument/relationships/extendedProperties",
     b"officeDocument/2006/relationships/extended-properties"),
    (b"officeDocument/extendedProperties", b"officeDocument/2006/extended-properties"),
    (b"officeDocument/relationships", b"officeDocument/2006/relationships"),
    (b"officeDocument/math", b"officeDocument/2006/math"),
    (b"officeDocument/docPropsVTypes", b"officeDocument/2006/docPropsVTypes"),
    (b"officeDocument/sharedTypes", b"officeDocument/2006/sharedTypes"),
    (b"officeDocument/customXml", b"officeDocument/2006/customXml"),
    (b"wordprocessingml/main", b"wordprocessingml/2006/main"),
    (b"spreadsheetml/main", b"spreadsheetml/2006/main"),
    (b"presentationml/main", b"presentationml/2006/main"),
    (b"drawingml/main", b"drawingml/2006/main"),
    (b"drawingml/wordprocessingDrawing", b"drawingml/2006/wordprocessingDrawing"),
    (b"drawingml/spreadsheetDrawing", b"drawingml/2006/spreadsheetDrawing"),
    (b"drawingml/picture", b"drawingml/2006/picture"),
    (b"drawingml/chart", b"drawingml/2006/chart"),
]  # fmt: skip


def is_strict(path: Path) -> bool:
    with zipfile.ZipFile(path) as archive:
        try:
            return _STRICT in archive.read("_rels/.rels")
        except KeyError:
            return False


def transitional_copy(path: Path) -> io.BytesIO:
    """An in-memory copy of the package with Strict URIs rewritten to Transitional ones."""
    out = io.BytesIO()
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename.endswith((".xml", ".rels")) and _STRICT in data:
                for strict, transitional in _TRANSITIONAL:
                    data = data.replace(
                        _STRICT + strict, b"http://schemas.openxmlformats.org/" + transitional
                    )
            dst.writestr(item, data)
    out.seek(0)
    return out
