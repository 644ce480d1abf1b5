"""Table stages: born-digital pages from PDF characters and rulings (`tables.pdf`), scanned pages
from a table-structure model over the image (`tables.image`), and tables that continue across
pages merged into one (`tables.merge`). Shared parts live in `common`."""

from extractors.stages.tables import image, merge, pdf

__all__ = ["image", "merge", "pdf"]
