"""Built-in stages; importing this package registers them (see extractors.stage.REGISTRY)."""

from extractors.stages import layout, ocr, preprocess, reading_order, tables, tesseract

__all__ = ["layout", "ocr", "preprocess", "reading_order", "tables", "tesseract"]
