"""`forms.acroform`: filled PDF form fields (AcroForm widgets), whose values are not in the text
layer, as KEY/VALUE entities with a `key_value` link, check boxes and radio buttons as CHECKBOX.

`read_widgets` reads a PDF's widget annotations with pdfium (name, tooltip, type, value, state,
box on the presented page). The key of a field is the printed label beside it (the page's words
left of the widget on its row, else just above it), else the field's tooltip or name. A radio
group is one KEY, a VALUE (the chosen option) and a CHECKBOX per button.

This stage reads the document's own file (like ingest does) because widgets never reach the
page model; a PDF that does not open (password, damage) just yields no fields.
"""

from __future__ import annotations

import ctypes
import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from extractors.document import Document, Entity, Page, Relation
from extractors.geometry import Box
from extractors.stage import BLOCKS, DocumentStage, StageOptions, register
from extractors.stages.forms.kv import IdMaker
from extractors.stages.forms.segments import Segment, segments

logger = logging.getLogger(__name__)
KIND = "forms.acroform"
_TYPES = {
    pdfium_c.FPDF_FORMFIELD_TEXTFIELD: "text",
    pdfium_c.FPDF_FORMFIELD_CHECKBOX: "checkbox",
    pdfium_c.FPDF_FORMFIELD_RADIOBUTTON: "radio",
    pdfium_c.FPDF_FORMFIELD_COMBOBOX: "choice",
    pdfium_c.FPDF_FORMFIELD_LISTBOX: "choice",
}
# How far left of a widget its printed label may end, in widget heights.
LABEL_REACH = 12.0


@dataclass(frozen=True)
class Widget:
    page: int
    name: str  # the field's full name
    tooltip: str  # its alternate name (/TU), often the human label
    kind: str  # text, checkbox, radio, choice
    value: str
    checked: bool
    export: str  # a button's on-state name ("Yes", an option of a radio group)
    box: Box  # presented-page relative


def _utf16(getter: object, *args: object) -> str:
    """Call a pdfium getter that fills a UTF-16LE buffer (size query first)."""
    size = getter(*args, None, 0)  # type: ignore[operator]
    if size <= 2:
        return ""
    buffer = (ctypes.c_ushort * (size // 2))()
    getter(*args, buffer, size)  # type: ignore[operator]
    return bytes(buffer)[: size - 2].decode("utf-16-le", errors="replace")


def _box(page: pdfium.PdfPage, rect: pdfium_c.FS_RECTF) -> Box:
    """A widget rectangle (PDF user space) as a presented-page relative box."""
    size = 10_000
    xs, ys = [], []
    for px, py in ((rect.left, rect.top), (rect.right, rect.bottom)):
        dx, dy = ctypes.c_int(), ctypes.c_int()
        pdfium_c.FPDF_PageToDevice(
            page.raw, 0, 0, size, size, 0, px, py, ctypes.byref(dx), ctypes.byref(dy)
        )
        xs.append(dx.value / size)
        ys.append(dy.value / size)
    return (
        max(0.0, min(xs)),
        max(0.0, min(ys)),
        min(1.0, max(xs)),
        min(1.0, max(ys)),
    )


def read_widgets(path: Path | str, password: str | None = None) -> list[Widget]:
    """Every form widget of a PDF, page by page ([] when it has no form)."""
    pdf = pdfium.PdfDocument(path, password=password)
    try:
        if pdf.get_formtype() == pdfium_c.FORMTYPE_NONE:
            return []
        pdf.init_forms()
        form = pdf.formenv.raw
        out: list[Widget] = []
        for index in range(len(pdf)):
            page = pdf[index]
            try:
                out.extend(_page_widgets(form, page, index))
            finally:
                page.close()
        return out
    finally:
        pdf.close()


def _page_widgets(form: object, page: pdfium.PdfPage, index: int) -> list[Widget]:
    out = []
    for n in range(pdfium_c.FPDFPage_GetAnnotCount(page.raw)):
        annot = pdfium_c.FPDFPage_GetAnnot(page.raw, n)
        if not annot:
            continue
        try:
            if pdfium_c.FPDFAnnot_GetSubtype(annot) != pdfium_c.FPDF_ANNOT_WIDGET:
                continue
            kind = _TYPES.get(pdfium_c.FPDFAnnot_GetFormFieldType(form, annot))
            if kind is None:
                continue  # push buttons, signatures: nothing filled in
            rect = pdfium_c.FS_RECTF()
            if not pdfium_c.FPDFAnnot_GetRect(annot, ctypes.byref(rect)):
                continue
            out.append(
                Widget(
                    page=index,
                    name=_utf16(pdfium_c.FPDFAnnot_GetFormFieldName, form, annot),
                    tooltip=_utf16(pdfium_c.FPDFAnnot_GetFormFieldAlternateName, form, annot),
                    kind=kind,
                    value=_utf16(pdfium_c.FPDFAnnot_GetFormFieldValue, form, annot),
                    checked=bool(pdfium_c.FPDFAnnot_IsChecked(form, annot)),
                    export=_utf16(pdfium_c.FPDFAnnot_GetFormFieldExportValue, form, annot),
                    box=_box(page, rect),
                )
            )
        finally:
            pdfium_c.FPDFPage_CloseAnnot(annot)
    return out


def label_for(
    box: Box, segs: Sequence[Segment], taken: set[int], right_first: bool = False
) -> int | None:
    """The printed label of a widget: the nearest segment beside it on its row (left of it, or
    for a check box right of it first), else the one just above it."""
    h = max(box[3] - box[1], 1e-6)
    for side in ("right", "left") if right_first else ("left", "right"):
        best: tuple[float, int] | None = None
        for i, s in enumerate(segs):
            if i in taken or s.is_checkbox or not _rows_meet(s.box, box):
                continue
            gap = box[0] - s.box[2] if side == "left" else s.box[0] - box[2]
            if -0.5 * h < gap < LABEL_REACH * h:
                best = min(best or (gap, i), (gap, i))
        if best is not None:
            return best[1]
    for i, s in enumerate(segs):
        b = s.box
        above = box[1] - b[3]
        if i not in taken and 0 <= above < 1.5 * h and b[0] < box[2] and b[2] > box[0]:
            return i
    return None


def _rows_meet(a: Box, b: Box) -> bool:
    overlap = min(a[3], b[3]) - max(a[1], b[1])
    return overlap > 0.4 * min(a[3] - a[1], b[3] - b[1])


@register
class AcroFormStage(DocumentStage[StageOptions]):
    kind: ClassVar[str] = KIND
    version: ClassVar[str] = "1"
    uses: ClassVar[tuple[str, ...]] = (BLOCKS,)
    produces: ClassVar[tuple[str, ...]] = ("document.entities", "document.relations")

    def predict(self, document: Document) -> list[Widget]:
        if document.media_type != "application/pdf" or not document.source_path:
            return []
        try:
            return read_widgets(document.source_path)
        except (pdfium.PdfiumError, OSError) as error:
            logger.debug("%s: no form fields read: %s", document.document_id, error)
            return []

    def annotate(self, document: Document, prediction: list[Widget] | None) -> None:
        document.entities = [e for e in document.entities if e.source != self.kind]
        document.relations = [r for r in document.relations if r.source != self.kind]
        if not prediction:
            return
        entity_id = IdMaker("a", {e.id for e in document.entities})
        relation_id = IdMaker("af", {r.id for r in document.relations})
        by_page: dict[int, list[Widget]] = defaultdict(list)
        for widget in prediction:
            by_page[widget.page].append(widget)
        for index, widgets in sorted(by_page.items()):
            if index >= len(document.pages):
                continue
            writer = _PageWriter(document.pages[index], entity_id, relation_id)
            writer.add(widgets)
            document.entities.extend(writer.entities)
            document.relations.extend(writer.relations)


class _PageWriter:
    """Entities and relations of one page's widgets."""

    def __init__(self, page: Page, entity_id: IdMaker, relation_id: IdMaker) -> None:
        self.page, self.entity_id, self.relation_id = page, entity_id, relation_id
        self.segs = segments(page)
        self.taken: set[int] = set()
        self.entities: list[Entity] = []
        self.relations: list[Relation] = []

    def add(self, widgets: Sequence[Widget]) -> None:
        groups: dict[str, list[Widget]] = defaultdict(list)
        for widget in widgets:
            groups[widget.name].append(widget)
        for name, group in groups.items():
            first = group[0]
            if first.kind == "radio":
                self._radio(group)
            elif first.kind == "checkbox":
                for widget in group:
                    key = self._key(widget, right_first=True)
                    box = self._entity("CHECKBOX", widget.export or name, widget.box)
                    box.value = "true" if widget.checked else "false"
                    self._relate("checkbox_label", box, key)
            elif first.value.strip():
                key = self._key(first)
                value = self._entity("VALUE", first.value, first.box)
                value.value = first.value
                self._relate("key_value", key, value)

    def _radio(self, group: Sequence[Widget]) -> None:
        key = self._key(min(group, key=lambda w: (w.box[1], w.box[0])))
        for widget in group:
            box = self._entity("CHECKBOX", widget.export, widget.box)
            box.value = "true" if widget.checked else "false"
            self._relate("checkbox_label", box, key)
        chosen = [w for w in group if w.checked]
        if chosen:
            value = self._entity("VALUE", chosen[0].export, chosen[0].box)
            value.value = chosen[0].export
            self._relate("key_value", key, value)

    def _key(self, widget: Widget, right_first: bool = False) -> Entity:
        found = label_for(widget.box, self.segs, self.taken, right_first)
        if found is None:
            return self._entity("KEY", widget.tooltip or widget.name, None)
        self.taken.add(found)
        seg = self.segs[found]
        key = self._entity("KEY", seg.text, seg.box)
        key.word_ids = [w.id for w in seg.words]
        key.value = widget.name
        return key

    def _entity(self, label: str, text: str, box: Box | None) -> Entity:
        entity = Entity(
            id=self.entity_id(),
            label=label,
            text=text,
            page=self.page.index,
            bbox=list(box) if box is not None else None,
            confidence=0.99,
            source=KIND,
        )
        self.entities.append(entity)
        return entity

    def _relate(self, label: str, head: Entity, tail: Entity) -> None:
        self.relations.append(
            Relation(
                id=self.relation_id(),
                label=label,
                head=head.id,
                tail=tail.id,
                confidence=0.99,
                source=KIND,
                page=self.page.index,
                evidence=f"{head.text} {tail.text}",
            )
        )
