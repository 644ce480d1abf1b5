"""`fields.invoice`: the prebuilt receipt and invoice fields.

`vendor_name`, `vendor_address`, `invoice_number`, `date`, `due_date`, `subtotal`, `tax`,
`total`, `currency`, and line items (`item_description`, `item_quantity`, `item_unit_price`,
`item_amount`, numbered by `item`) from a table that holds them. Values come from labelled rows
in English, Dutch, French, German and the Indian and Malaysian idiom (`extract`, `labels`);
cross-checks (items and tax against the total, valid and ordered dates) lower the confidence of
the values involved and give the document review reasons (`checks`).

The stage runs on documents typed receipt or invoice by `classify.doctype`, and on documents
typed `other` that print a labelled total (they may still be bills).
"""

from __future__ import annotations

import logging
from typing import ClassVar

from extractors.document import Document
from extractors.stage import BLOCKS, TABLES, DocumentStage, StageOptions, register
from extractors.stages.entities import ENTITIES
from extractors.stages.fields.checks import cross_check
from extractors.stages.fields.extract import find_fields
from extractors.stages.fields.items import find_items

logger = logging.getLogger(__name__)

FIELDS = "document.fields"
BILL_TYPES = ("receipt", "invoice")


class FieldOptions(StageOptions):
    doc_types: tuple[str, ...] = BILL_TYPES
    """Document types the fields are looked for on; `other` and untyped documents are tried
    too and keep their fields only when a total was found."""
    line_items: bool = True


@register
class InvoiceFieldStage(DocumentStage[FieldOptions]):
    kind: ClassVar[str] = "fields.invoice"
    version: ClassVar[str] = "2"  # 2: vendor branch lines, address ends, rounding rows
    uses: ClassVar[tuple[str, ...]] = (BLOCKS, TABLES, ENTITIES)
    produces: ClassVar[tuple[str, ...]] = (FIELDS,)
    Options: ClassVar[type[StageOptions]] = FieldOptions

    def annotate(self, document: Document, prediction: object) -> None:
        opts = self.options
        kept = [f for f in document.fields if f.source != self.kind]
        doc_type = document.doc_type or "other"
        if doc_type not in opts.doc_types and doc_type != "other":
            document.fields = kept
            return
        fields = find_fields(document, self.kind)
        # an untyped document is a bill only when it prints a labelled total (not the
        # largest amount on its lower half, the fallback for typed receipts)
        if doc_type not in opts.doc_types and not any(
            f.name == "total" and f.evidence for f in fields
        ):
            document.fields = kept
            return
        if opts.line_items:
            fields.extend(find_items(document, self.kind))
        reasons = cross_check(fields)
        document.fields = kept + fields
        document.review_reasons = [
            r for r in document.review_reasons if not r.startswith("fields: ")
        ] + [f"fields: {r}" for r in reasons]
        logger.debug(
            "%s: %d fields, %d checks failed", document.document_id, len(fields), len(reasons)
        )
