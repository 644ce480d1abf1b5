"""Export current results: the JSON contract, reading-order Markdown, or Parquet tables, with
the reviewers' corrections applied (or, on request, the extraction as made)."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq

from extractors.document import Document, Page, Table
from pipelines.loader import load_staged
from pipelines.reviewed import reviewed_document
from pipelines.schema import ELEMENT_VIEWS
from pipelines.store import query
from pipelines.workspace import Workspace, atomic_write_bytes

FORMATS = ("json", "markdown", "parquet")


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
) -> list[Path]:
    """Write the current results; `reviewed` applies the corrections in force (the default:
    what reviewers fixed is what leaves the workspace), otherwise the extraction as made."""
    load_staged(workspace)
    out.mkdir(parents=True, exist_ok=True)
    if fmt == "parquet":
        return _export_parquet(workspace, out, document_ids, reviewed)
    written = []
    for document in iter_documents(workspace, document_ids):
        if reviewed:
            document = reviewed_document(workspace, document)
        if fmt == "json":
            path = out / f"{document.document_id}.json"
            atomic_write_bytes(path, document.to_json(indent=1).encode())
        else:
            path = out / f"{document.document_id}.md"
            atomic_write_bytes(path, document_markdown(document).encode())
        written.append(path)
    return written


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
    for page in document.pages:
        parts += [f"<!-- page {page.index + 1} -->", ""]
        parts += _page_markdown(page)
    return "\n".join(parts).rstrip() + "\n"


def _page_markdown(page: Page) -> list[str]:
    lines: list[str] = []
    tables_by_block = {t.id: t for t in page.tables}
    for block in sorted(page.blocks, key=lambda b: b.order):
        text = " ".join(line.text for line in block.lines).strip()
        if block.kind == "table" and block.id in tables_by_block:
            lines += [*table_markdown(tables_by_block[block.id]), ""]
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
        if table.id not in placed:
            lines += [*table_markdown(table), ""]
    return lines


def table_markdown(table: Table) -> list[str]:
    grid = [["" for _ in range(table.n_cols)] for _ in range(table.n_rows)]
    for cell in table.cells:
        if cell.row < table.n_rows and cell.col < table.n_cols:
            grid[cell.row][cell.col] = cell.text.replace("|", "\\|").replace("\n", " ")
    if not grid:
        return []
    rows = [f"| {' | '.join(row)} |" for row in grid]
    return [rows[0], "|" + "---|" * table.n_cols, *rows[1:]]
