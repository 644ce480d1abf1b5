"""Built-in stages; importing this package registers them (see extractors.stage.REGISTRY)."""

import importlib
import logging

logger = logging.getLogger(__name__)

# Each module registers its stages with @register when imported.
for _module in ("preprocess", "layout", "ocr", "tesseract", "reading_order"):
    try:
        importlib.import_module(f"extractors.stages.{_module}")
    except ModuleNotFoundError as error:  # a stage module not written yet must not break the rest
        if error.name != f"extractors.stages.{_module}":
            raise
