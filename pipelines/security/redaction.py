"""Redaction: a copy of a document, and its page images, without the PII `detect_pii` found.

`redact_document` replaces each PII word by its type token (`[EMAIL]`, `[PERSON]`, ...) and
rewrites every text built from those words (lines, table cells, entity and field texts and
values: an entity made only of PII words becomes one token, its normalised value such as an
E.164 phone too), then sweeps the texts not built from words (relation evidence, field evidence,
lines, cells, entities and fields without word ids, the source name and path) for the values
found, so the JSON, Markdown, CSV and HTML exports built from the copy carry none of them.

`redact_page_image` paints a black box over each PII word (boxes are page-relative, so any
render size fits); `render_redacted_pages` renders the stored input file the way the review
app does (`extractors.ingest.open_document`) and redacts every page.
"""

from __future__ import annotations

import io
import json
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from extractors.document import Document, Page, Word
from extractors.ingest import IngestError, IngestOptions, open_document
from pipelines.security.pii import REPORT_SCHEMA, PiiFinding, PiiReport, PiiType, detect_pii
from pipelines.store.workspace import atomic_write_bytes

REPORT_FILE = "pii-report.json"
RENDER_DPI = 150
MAX_RENDER_PIXELS = 12_000_000
MIN_SWEPT_CHARS = 3  # shorter values ("J.", "12") would blank unrelated text
# OCR boxes hug the glyphs (and detection boxes of a text line split into words by share of
# characters are approximate): a margin of a fifth of the word's height, at least 2 px.
BOX_PAD_PX = 2
BOX_PAD_SHARE = 0.2


def token(kind: str) -> str:
    return f"[{kind}]"


_TOKEN = re.compile(r"(\[[A-Z_]+\])")
_WRAPPING = ".,;:!?()[]<>\"'"


def _word_token(text: str, kind: str) -> str:
    """The type token in place of a word, keeping the punctuation around it: "Ellis," ->
    "[PERSON],", "<a@b.org>" -> "<[EMAIL]>"."""
    core = text.strip(_WRAPPING)
    if not core:
        return token(kind)
    start = text.index(core)
    return text[:start] + token(kind) + text[start + len(core) :]


def _rewrite(text: str, pairs: Sequence[tuple[str, str]]) -> str | None:
    """`text` with each (original, replacement) swapped in order, or None when an original is
    not where expected (the text was not built from these words)."""
    out, at = [], 0
    for original, replacement in pairs:
        found = text.find(original, at)
        if not original or found < 0:
            return None
        out += [text[at:found], replacement]
        at = found + len(original)
    return "".join(out) + text[at:]


def _redact_words(
    text: str, words: Sequence[Word], originals: dict[str, str], tokens: dict[str, str]
) -> str:
    """A text built from `words` (now redacted), with its PII words' originals replaced."""
    pairs = [(originals[w.id], tokens[w.id]) for w in words if w.id in tokens]
    if not pairs:
        return text
    rewritten = _rewrite(text, pairs)
    return rewritten if rewritten is not None else " ".join(w.text for w in words)


def _sweeper(values: dict[str, str]) -> re.Pattern[str] | None:
    """One pattern for every PII value (longest first), whole words only, any case."""
    if not values:
        return None
    parts = []
    for value in sorted(values, key=len, reverse=True):
        left = r"(?<!\w)" if value[0].isalnum() else ""
        right = r"(?!\w)" if value[-1].isalnum() else ""
        parts.append(f"{left}{re.escape(value)}{right}")
    return re.compile("|".join(parts), re.IGNORECASE)


def _pii_values(
    findings: Iterable[PiiFinding], originals: dict[str, str], line_of: dict[str, str]
) -> dict[str, str]:
    """Each finding's text as printed, one string per line it spans (an address over three
    lines is three strings), and each word of a name: value -> token."""
    values: dict[str, str] = {}
    for finding in findings:
        run: list[str] = []
        for n, word_id in enumerate(finding.word_ids):
            run.append(originals[word_id])
            last = n + 1 == len(finding.word_ids)
            if last or line_of.get(finding.word_ids[n + 1]) != line_of.get(word_id):
                values.setdefault(" ".join(run), token(finding.type))
                run = []
            if finding.type == "PERSON" and len(originals[word_id].strip(".,")) >= 3:
                values.setdefault(originals[word_id].strip(".,"), token(finding.type))
    return {v: t for v, t in values.items() if len(v.strip()) >= MIN_SWEPT_CHARS}


def redact_document(document: Document, report: PiiReport) -> Document:
    """A copy of `document` without the PII in `report` (the original is left as it is)."""
    doc = document.model_copy(deep=True)
    types = report.word_types()
    tokens: dict[str, str] = {}
    originals: dict[str, str] = {}
    line_of: dict[str, str] = {}
    words: dict[str, Word] = {}
    for page in doc.pages:
        for line in page.lines():
            for word in line.words:
                words[word.id], line_of[word.id], originals[word.id] = word, line.id, word.text
                if word.id in types:
                    word.text = tokens[word.id] = _word_token(word.text, types[word.id])
            line.text = _redact_words(line.text, line.words, originals, tokens)
        for table in page.tables:
            for cell in table.cells:
                cell_words = [words[i] for i in cell.word_ids if i in words]
                cell.text = _redact_words(cell.text, cell_words, originals, tokens)
    values = _pii_values(
        (f for f in report.findings if all(i in originals for i in f.word_ids)),
        originals,
        line_of,
    )
    for entity in doc.entities:
        hit = [i for i in entity.word_ids if i in tokens]
        if hit and len(hit) == len(entity.word_ids) and entity.value:
            values.setdefault(entity.value, token(types[hit[0]]))  # normalised: E.164, lower case
        if hit:
            entity.text, entity.value = _redact_item(
                entity.text, entity.value, entity.word_ids, words, originals, tokens, types
            )
    for doc_field in doc.fields:
        if any(i in tokens for i in doc_field.word_ids):
            shown = doc_field.value or ""
            _, doc_field.value = _redact_item(
                shown, doc_field.value, doc_field.word_ids, words, originals, tokens, types
            )
    _sweep(doc, _sweeper(values), values)
    return doc


def _redact_item(
    text: str,
    value: str | None,
    word_ids: Sequence[str],
    words: dict[str, Word],
    originals: dict[str, str],
    tokens: dict[str, str],
    types: dict[str, PiiType],
) -> tuple[str, str | None]:
    """An entity's or field's text and value: one token when all its words are PII of one
    type, else the text with its PII words replaced (the value follows the text)."""
    own = [words[i] for i in word_ids if i in words]
    kinds = {types[w.id] for w in own if w.id in types}
    if len(kinds) == 1 and all(w.id in types for w in own):
        single = token(kinds.pop())
        return single, None if value is None else single
    redacted = _redact_words(text, own, originals, tokens)
    return redacted, None if value is None else redacted


def _sweep(doc: Document, pattern: re.Pattern[str] | None, values: dict[str, str]) -> None:
    """Replace any copy of a PII value in the texts not built from words (relation evidence,
    lines, cells, entities and fields without word ids, the source name). Texts built from
    words follow their words only, so the JSON says what the redacted image shows."""
    if pattern is None:
        return
    lowered = {v.lower(): t for v, t in values.items()}

    def clean(text: str) -> str:
        # Tokens already in place are left alone ("Email" found as a name must not turn
        # "[EMAIL]" into "[[PERSON]]").
        parts = _TOKEN.split(text)
        for n in range(0, len(parts), 2):
            parts[n] = pattern.sub(lambda m: lowered.get(m.group().lower(), "[PII]"), parts[n])
        return "".join(parts)

    doc.source_name, doc.source_path = clean(doc.source_name), clean(doc.source_path)
    for error in doc.errors:
        error.message = clean(error.message)
    for page in doc.pages:
        for line in page.lines():
            if not line.words:
                line.text = clean(line.text)
        for table in page.tables:
            for cell in table.cells:
                if not cell.word_ids:
                    cell.text = clean(cell.text)
    for entity in doc.entities:
        if not entity.word_ids:
            entity.text = clean(entity.text)
            entity.value = None if entity.value is None else clean(entity.value)
    for doc_field in doc.fields:
        if not doc_field.word_ids and doc_field.value is not None:
            doc_field.value = clean(doc_field.value)
        doc_field.evidence = clean(doc_field.evidence)
    for relation in doc.relations:
        relation.evidence = clean(relation.evidence)


def redact_page_image(image: np.ndarray, page: Page, findings: Iterable[PiiFinding]) -> np.ndarray:
    """A copy of `image` (HxWx3, the page as rendered) with black boxes over the PII words."""
    out = np.array(image, copy=True)
    height, width = out.shape[:2]
    ids = {i for f in findings if f.page == page.index for i in f.word_ids}
    for word in page.words():
        if word.id not in ids:
            continue
        x0, y0, x1, y1 = word.bbox
        pad = max(BOX_PAD_PX, round(BOX_PAD_SHARE * (y1 - y0) * height))
        left = max(0, int(np.floor(x0 * width)) - pad)
        top = max(0, int(np.floor(y0 * height)) - pad)
        right = min(width, int(np.ceil(x1 * width)) + pad)
        bottom = min(height, int(np.ceil(y1 * height)) + pad)
        out[top:bottom, left:right] = 0
    return out


def render_redacted_pages(
    path: Path, document: Document, report: PiiReport, dpi: int = RENDER_DPI
) -> Iterator[tuple[int, np.ndarray]]:
    """(page index, redacted image) for each page of the document's stored input file."""
    options = IngestOptions(ocr_dpi=dpi, layout_dpi=dpi, max_pixels=MAX_RENDER_PIXELS)
    with open_document(path, options) as opened:
        for page in document.pages:
            if page.index < len(opened.pages):
                image = opened.pages[page.index].render()
                yield page.index, redact_page_image(image, page, report.findings)


def png_bytes(image: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()


def page_image_name(document_id: str, page_index: int) -> str:
    return f"{document_id}-page-{page_index + 1:03d}.png"


def redact_for_export(
    documents: Iterable[Document], inputs: Mapping[str, Path | None], out: Path
) -> tuple[list[Document], list[Path]]:
    """Redacted copies of `documents`, with their redacted page images (PNG per page, from the
    stored input file in `inputs` by document id) and `pii-report.json` written into `out`.
    The report holds ids, types and counts, never a value or a file name."""
    redacted: list[Document] = []
    written: list[Path] = []
    entries: list[dict[str, Any]] = []
    total: Counter[str] = Counter()
    for document in documents:
        report = detect_pii(document)
        redacted.append(redact_document(document, report))
        entry = report.to_dict()
        total.update(report.counts)
        entry["images"], entry["image_error"] = [], None
        path = inputs.get(document.document_id)
        if path is None or not path.is_file():
            entry["image_error"] = "the stored input file is gone: no page images"
        else:
            try:
                for index, image in render_redacted_pages(path, document, report):
                    target = out / page_image_name(document.document_id, index)
                    atomic_write_bytes(target, png_bytes(image))
                    written.append(target)
                    entry["images"].append(target.name)
            except IngestError as error:
                entry["image_error"] = f"cannot render the stored input: {type(error).__name__}"
        entries.append(entry)
    summary = {"schema": REPORT_SCHEMA, "total": dict(total), "documents": entries}
    target = out / REPORT_FILE
    atomic_write_bytes(target, json.dumps(summary, indent=1).encode())
    return redacted, [target, *written]
