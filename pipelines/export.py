"""Export current results: the JSON contract, reading-order Markdown, Parquet tables, or the
documents' tables as CSV (one file per table) or HTML (one file per document), with the
reviewers' corrections applied (or, on request, the extraction as made)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pyarrow.parquet as pq

from extractors.document import Document, Page
from extractors.stages.tables.merge import LogicalTable, logical_tables
from pipelines.graph_export import export_graphs
from pipelines.store.database import query
from pipelines.store.loader import load_staged
from pipelines.store.reviewed import reviewed_document
from pipelines.store.schema import ELEMENT_VIEWS
from pipelines.store.workspace import Workspace, atomic_write_bytes
from pipelines.table_formats import to_csv, to_html, to_markdown

FORMATS = ("json", "markdown", "parquet", "csv", "html", "graph")
REDACTABLE = ("json", "markdown", "csv", "html", "graph")  # the formats built from a Document


# Views with the reviewers' corrections applied, exported under the plain view's name.
REVIEWED_VIEWS = {
    "words": "reviewed_words",
    "lines": "reviewed_lines",
    "cells": "reviewed_cells",
    "entities": "reviewed_entities",
    "fields": "reviewed_fields",
}


def export_workspace(
    workspace: Workspace,
    out: Path,
    fmt: str,
    document_ids: list[str] | None = None,
    reviewed: bool = True,
    redact: bool = False,
) -> list[Path]:
    """Write the current results; `reviewed` applies the corrections in force (the default:
    what reviewers fixed is what leaves the workspace), otherwise the extraction as made.
    `redact` exports copies without PII, plus `pii-report.json` and redacted page images
    (pipelines.security.redaction); Parquet comes from the SQL views and cannot be redacted."""
    if redact and fmt not in REDACTABLE:
        raise ValueError(f"--redact works with {', '.join(REDACTABLE)}, not {fmt}")
    load_staged(workspace)
    out.mkdir(parents=True, exist_ok=True)
    if fmt == "parquet":
        return _export_parquet(workspace, out, document_ids, reviewed)
    documents: Iterable[Document] = (
        reviewed_document(workspace, d) if reviewed else d
        for d in iter_documents(workspace, document_ids)
    )
    written: list[Path] = []
    if redact:
        from pipelines.security.redaction import redact_for_export  # spaCy only when asked

        documents, written = redact_for_export(documents, input_files(workspace), out)
    if fmt == "graph":  # per document and the whole workspace: entities and relations
        return export_graphs(list(documents), out) + written
    for document in documents:
        if fmt == "json":
            path = out / f"{document.document_id}.json"
            atomic_write_bytes(path, document.to_json(indent=1).encode())
        elif fmt == "csv":
            written += _export_csv(document, out)
            continue
        elif fmt == "html":
            path = out / f"{document.document_id}.html"
            atomic_write_bytes(path, document_tables_html(document).encode())
        else:
            path = out / f"{document.document_id}.md"
            atomic_write_bytes(path, document_markdown(document).encode())
        written.append(path)
    return written


def input_files(workspace: Workspace) -> dict[str, Path | None]:
    """Each current document's input file: the workspace's copy, else the original path."""
    rows = query(workspace, "SELECT document_id, stored_path, source_path FROM current_results")
    out: dict[str, Path | None] = {}
    for row in rows.to_pylist():
        found = [Path(p) for p in (row["stored_path"], row["source_path"]) if p]
        out[row["document_id"]] = next((p for p in found if p.is_file()), None)
    return out


def iter_documents(workspace: Workspace, document_ids: list[str] | None = None) -> list[Document]:
    sql = "SELECT document_json FROM current_results"
    params: list[object] = []
    if document_ids:
        sql += " WHERE document_id IN (" + ", ".join("?" for _ in document_ids) + ")"
        params = list(document_ids)
    table = query(workspace, sql + " ORDER BY source_name", params)
    return [Document.from_json(text) for text in table.column("document_json").to_pylist()]


def _export_parquet(
    workspace: Workspace, out: Path, document_ids: list[str] | None, reviewed: bool
) -> list[Path]:
    written = []
    for view in ("documents", "runs", *ELEMENT_VIEWS, "correction_history"):
        source = REVIEWED_VIEWS.get(view, view) if reviewed else view
        sql = f"SELECT * FROM {source}"
        params: list[object] = []
        if document_ids and view != "runs":
            sql += " WHERE document_id IN (" + ", ".join("?" for _ in document_ids) + ")"
            params = list(document_ids)
        path = out / f"{view}.parquet"
        pq.write_table(query(workspace, sql, params), path)
        written.append(path)
    return written


def document_markdown(document: Document) -> str:
    parts = [f"# {document.source_name}", ""]
    if document.status != "ok":
        parts += [f"> status: {document.status}"]
        parts += [f"> - {e.stage}: {e.message}" for e in document.errors]
        parts.append("")
    # Each logical table is printed once, where its first part is read; keyed by that part's id.
    tables = {t.id: t for t in logical_tables(document)}
    for page in document.pages:
        parts += [f"<!-- page {page.index + 1} -->", ""]
        parts += _page_markdown(page, tables)
    return "\n".join(parts).rstrip() + "\n"


def _page_markdown(page: Page, tables: dict[str, LogicalTable]) -> list[str]:
    """A page in reading order; a table continued from an earlier page was printed there."""
    lines: list[str] = []
    parts = {t.id: t for t in page.tables}
    for block in sorted(page.blocks, key=lambda b: b.order):
        text = " ".join(line.text for line in block.lines).strip()
        if block.kind == "table" and block.id in parts:
            if block.id in tables:
                lines += [*to_markdown(tables[block.id]), ""]
        elif not text:
            continue
        elif block.kind == "title":
            lines += [f"## {text}", ""]
        elif block.kind in ("header", "footer"):
            lines += [f"<!-- {block.kind}: {text} -->", ""]
        elif block.kind == "list":
            lines += [f"- {line.text}" for line in block.lines] + [""]
        else:
            lines += ["\n".join(line.text for line in block.lines), ""]
    placed = {b.id for b in page.blocks}
    for table in page.tables:
        if table.id not in placed and table.id in tables:
            lines += [*to_markdown(tables[table.id]), ""]
    return lines


def _export_csv(document: Document, out: Path) -> list[Path]:
    written = []
    for table in logical_tables(document):
        path = out / f"{document.document_id}-{table.id}.csv"
        atomic_write_bytes(path, to_csv(table).encode())
        written.append(path)
    return written


def document_tables_html(document: Document) -> str:
    """The document's tables as one HTML page (spans and header rows kept)."""
    import html

    title = html.escape(document.source_name)
    parts = [f'<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>{title}</title></head>']
    parts.append(f"<body>\n<h1>{title}</h1>")
    for table in logical_tables(document):
        pages = ", ".join(str(p + 1) for p in dict.fromkeys(table.pages))
        parts.append(f"<h2>Table {html.escape(table.id)} (page {pages})</h2>")
        parts.append(to_html(table))
    parts.append("</body></html>\n")
    return "\n".join(parts)
