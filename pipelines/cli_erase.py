"""`folio erase` and `folio retention`: erasure of documents and subjects (GDPR Art. 17)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from pipelines.cli import WorkspaceOpt, _fail, app, console
from pipelines.security.erasure import (
    ErasureReport,
    erase_documents,
    find_subject,
    read_pending,
)
from pipelines.security.principal import cli_principal
from pipelines.security.retention import (
    ALL_TYPES,
    PolicyError,
    due_documents,
    read_policies,
    run_retention,
    set_policy,
)
from pipelines.store.workspace import Workspace

retention_app = typer.Typer(help="Retention policies: erase documents N days after loading.")
app.add_typer(retention_app, name="retention")

DryRunOpt = Annotated[bool, typer.Option("--dry-run", help="say what would go; change nothing")]
YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="do not ask for confirmation")]


def _print_report(report: ErasureReport) -> None:
    verb = "would erase" if report.dry_run else "erased"
    table = Table(title=f"{verb} {len(report.document_ids)} document(s)", show_header=False)
    for doc in report.document_ids:
        table.add_row("document", doc)
    for doc in report.resumed:
        table.add_row("document (interrupted erasure finished)", doc)
    for doc in report.not_found:
        table.add_row("[yellow]not found[/]", doc)
    for name, n in sorted(report.rows.items()):
        table.add_row(f"rows: {name}", str(n))
    for path in report.files:
        table.add_row("file", path)
    if not report.dry_run:
        before, after = report.database_bytes
        table.add_row("database", f"{before:,} -> {after:,} bytes (rewritten)")
        table.add_row("time", f"{report.seconds:.2f} s")
    console.print(table)


@app.command()
def erase(
    document: Annotated[
        list[str] | None, typer.Option("--document", "-d", help="document id (repeat)")
    ] = None,
    subject: Annotated[
        str | None,
        typer.Option(help="erase every document whose text, fields or file name holds this"),
    ] = None,
    dry_run: DryRunOpt = False,
    yes: YesOpt = False,
    resume: Annotated[
        bool, typer.Option("--resume", help="only finish an interrupted erasure")
    ] = False,
    workspace: WorkspaceOpt = None,
) -> None:
    """Erase documents: rows, corrections, stored files, staging entries, exports in the
    workspace; the database is rewritten so no byte of them stays (docs/security-erasure.md)."""
    ws = Workspace.open(workspace)
    principal = cli_principal()
    ids = list(dict.fromkeys(document or []))
    if subject is not None:
        try:
            found = find_subject(ws, subject)
        except ValueError as error:
            _fail(str(error))
        console.print(f"the subject appears in {len(found)} document(s)")
        ids += [doc for doc in found if doc not in ids]
    pending = read_pending(ws) is not None
    if pending:
        console.print("[yellow]an interrupted erasure is finished first[/]")
    if not ids and not pending:
        if subject is not None or resume:
            console.print("nothing to erase")
            return
        _fail("say what to erase: --document ID (repeatable) or --subject VALUE")
    plan = erase_documents(ws, ids, principal, subject=subject or "", dry_run=True)
    if dry_run or (not plan.document_ids and not pending):
        _print_report(plan)
        return
    if not yes:
        _print_report(plan)
        question = f"Erase {len(plan.document_ids)} document(s)? This cannot be undone"
        typer.confirm(question, abort=True)
    report = erase_documents(ws, plan.document_ids, principal, subject=subject or "")
    _print_report(report)


@retention_app.command("set")
def retention_set(
    doc_type: Annotated[
        str, typer.Option("--type", "-t", help=f"document type, or {ALL_TYPES!r} for all")
    ],
    days: Annotated[int | None, typer.Option(min=0, help="erase this many days after")] = None,
    clear: Annotated[bool, typer.Option("--clear", help="remove this type's policy")] = False,
    workspace: WorkspaceOpt = None,
) -> None:
    """Set a type's retention (days after a document was first loaded), or clear it."""
    if (days is None) == (not clear):
        _fail("give --days N, or --clear")
    ws = Workspace.open(workspace)
    try:
        set_policy(ws, doc_type, None if clear else days, cli_principal())
    except PolicyError as error:
        _fail(str(error))
    retention_show(ws.root)


@retention_app.command("show")
def retention_show(workspace: WorkspaceOpt = None) -> None:
    """The policies, and how many documents each would erase now."""
    ws = Workspace.open(workspace)
    policies = read_policies(ws)
    if not policies:
        console.print("no retention policies: documents are kept until erased")
        return
    due = due_documents(ws, policies=policies)
    table = Table(title="Retention")
    for column in ("type", "days", "due now"):
        table.add_column(column)
    for kind, n in sorted(policies.items()):
        table.add_row(kind, str(n), str(sum(1 for item in due if item.policy == kind)))
    console.print(table)


@retention_app.command("run")
def retention_run(dry_run: DryRunOpt = False, workspace: WorkspaceOpt = None) -> None:
    """Erase every document past its policy (for cron; `--dry-run` lists them)."""
    ws = Workspace.open(workspace)
    due, report = run_retention(ws, cli_principal(), dry_run=dry_run)
    for item in due:
        console.print(
            f"{item.document_id} ({item.doc_type or 'no type'}): first loaded "
            f"{item.since:%Y-%m-%d}, {item.policy} keeps {item.days} days"
        )
    if report is None:
        console.print("nothing is due")
        return
    _print_report(report)
