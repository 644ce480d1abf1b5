"""`folio users`, `folio keys` and `folio audit`: who may use the workspace, and what they did."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.table import Table

from pipelines.cli import WorkspaceOpt, _fail, app, console
from pipelines.security import administration
from pipelines.security.accounts import AccountError, AccountStore
from pipelines.security.principal import ROLES, cli_principal
from pipelines.store.workspace import Workspace

users_app = typer.Typer(help="App users (password logins) and their roles.", no_args_is_help=True)
keys_app = typer.Typer(help="API keys for the service, scoped to a role.", no_args_is_help=True)
audit_app = typer.Typer(help="The hash-chained audit log.", no_args_is_help=True)
app.add_typer(users_app, name="users")
app.add_typer(keys_app, name="keys")
app.add_typer(audit_app, name="audit")

RoleOpt = Annotated[str, typer.Option("--role", help=f"one of {', '.join(ROLES)}")]
PasswordStdin = Annotated[
    bool, typer.Option("--password-stdin", help="read the password from standard input")
]


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))


@users_app.command("add")
def users_add(
    name: str,
    role: RoleOpt = "reviewer",
    workspace: WorkspaceOpt = None,
    stdin: PasswordStdin = False,
) -> None:
    """Add a user who logs in to the app with a password."""
    ws = Workspace.open(workspace)
    try:
        user = administration.add_user(ws, cli_principal(), name, _password(stdin), role)
    except (AccountError, ValueError) as error:
        _fail(str(error))
        return
    console.print(f"added {user.name} ({user.role})")


@users_app.command("passwd")
def users_passwd(name: str, workspace: WorkspaceOpt = None, stdin: PasswordStdin = False) -> None:
    """Set a user's password."""
    ws = Workspace.open(workspace)
    try:
        administration.set_password(ws, cli_principal(), name, _password(stdin))
    except AccountError as error:
        _fail(str(error))
    console.print(f"password of {name} changed")


@users_app.command("role")
def users_role(
    name: str, role: Annotated[str, typer.Argument()], workspace: WorkspaceOpt = None
) -> None:
    """Change a user's role."""
    ws = Workspace.open(workspace)
    try:
        administration.set_role(ws, cli_principal(), name, role)
    except (AccountError, ValueError) as error:
        _fail(str(error))
    console.print(f"{name} is now {role}")


@users_app.command("remove")
def users_remove(name: str, workspace: WorkspaceOpt = None) -> None:
    """Remove a user (their corrections stay, under their name)."""
    ws = Workspace.open(workspace)
    try:
        administration.remove_user(ws, cli_principal(), name)
    except AccountError as error:
        _fail(str(error))
    console.print(f"removed {name}")


@users_app.command("list")
def users_list(workspace: WorkspaceOpt = None) -> None:
    """List the users and their roles."""
    ws = Workspace.open(workspace)
    table = Table("user", "role", "created")
    for user in AccountStore(ws.root).users():
        table.add_row(user.name, user.role, user.created_at)
    console.print(table)


@keys_app.command("create")
def keys_create(name: str, role: RoleOpt = "reviewer", workspace: WorkspaceOpt = None) -> None:
    """Create an API key; it is printed once and only its hash is kept."""
    ws = Workspace.open(workspace)
    try:
        key, token = administration.create_key(ws, cli_principal(), name, role)
    except (AccountError, ValueError) as error:
        _fail(str(error))
        return
    console.print(
        f"key {key.key_id} for {key.name} ({key.role}); keep it now, it is not shown again:"
    )
    print(token)


@keys_app.command("revoke")
def keys_revoke(key_id: str, workspace: WorkspaceOpt = None) -> None:
    """Revoke an API key at once (the service checks on every request)."""
    ws = Workspace.open(workspace)
    try:
        administration.revoke_key(ws, cli_principal(), key_id)
    except AccountError as error:
        _fail(str(error))
    console.print(f"revoked {key_id}")


@keys_app.command("list")
def keys_list(workspace: WorkspaceOpt = None) -> None:
    """List API keys (ids, names, roles, state; never the secrets)."""
    ws = Workspace.open(workspace)
    table = Table("id", "name", "role", "created", "state")
    for key in AccountStore(ws.root).api_keys():
        state = "active" if key.active else f"revoked {key.revoked_at}"
        table.add_row(key.key_id, key.name, key.role, key.created_at, state)
    console.print(table)


@audit_app.command("verify")
def audit_verify(workspace: WorkspaceOpt = None) -> None:
    """Check the hash chain: exit 1 and list the rows when any was changed or deleted."""
    from pipelines.security.audit_verify import verify_audit_log

    ws = Workspace.open(workspace)
    checked, problems = verify_audit_log(ws)
    if not problems:
        console.print(f"audit log intact: {checked} rows, chain and head verified")
        return
    for problem in problems:
        console.print(f"[red]seq {problem.seq}[/] {problem.action}: {problem.problem}")
    _fail(f"audit log tampered: {len(problems)} problem(s) in {checked} rows", code=1)


@audit_app.command("show")
def audit_show(
    workspace: WorkspaceOpt = None, limit: Annotated[int, typer.Option(min=1)] = 50
) -> None:
    """The newest audit events (actors as pseudonyms)."""
    from pipelines.cli import _print_arrow
    from pipelines.security.audit_verify import recent_events
    from pipelines.store.loader import load_best_effort

    ws = Workspace.open(workspace)
    load_best_effort(ws)  # what is staged, unless a batch holds the database
    _print_arrow(recent_events(ws, limit), "audit log, newest first")
