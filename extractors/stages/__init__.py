"""Built-in stages; importing this package registers them (see extractors.stage.REGISTRY)."""

from extractors.stages import (
    doctype,
    entities,
    fields,
    forms,
    layout,
    ocr,
    preprocess,
    reading_order,
    relations,
    tables,
    tesseract,
)

__all__ = [
    "doctype",
    "entities",
    "fields",
    "forms",
    "layout",
    "ocr",
    "preprocess",
    "reading_order",
    "relations",
    "tables",
    "tesseract",
]
