"""Admin actions on accounts, shared by `folio users`/`folio keys` and the app's Admin page:
each checks the actor's role, changes the account store, and records an audit event (with a
pseudonym for the user acted on, never the name)."""

from __future__ import annotations

from pipelines.security import audit
from pipelines.security.accounts import AccountStore, ApiKey, User
from pipelines.security.principal import Principal
from pipelines.security.pseudonyms import pseudonym
from pipelines.store.workspace import Workspace


def _user_ref(workspace: Workspace, name: str) -> str:
    return pseudonym(workspace.root, f"user:{name}", kind="p")


def add_user(workspace: Workspace, actor: Principal, name: str, password: str, role: str) -> User:
    actor.require("admin")
    user = AccountStore(workspace.root).add_user(name, password, role)
    audit.record(workspace, actor, "user.add", _user_ref(workspace, name), {"role": user.role})
    return user


def set_password(workspace: Workspace, actor: Principal, name: str, password: str) -> None:
    actor.require("admin")
    AccountStore(workspace.root).set_password(name, password)
    audit.record(workspace, actor, "user.password", _user_ref(workspace, name))


def set_role(workspace: Workspace, actor: Principal, name: str, role: str) -> None:
    actor.require("admin")
    AccountStore(workspace.root).set_role(name, role)
    audit.record(workspace, actor, "user.role", _user_ref(workspace, name), {"role": role})


def remove_user(workspace: Workspace, actor: Principal, name: str) -> None:
    actor.require("admin")
    AccountStore(workspace.root).remove_user(name)
    audit.record(workspace, actor, "user.remove", _user_ref(workspace, name))


def create_key(workspace: Workspace, actor: Principal, name: str, role: str) -> tuple[ApiKey, str]:
    """The key and its token (shown once; only the hash is kept)."""
    actor.require("admin")
    key, token = AccountStore(workspace.root).create_key(name, role)
    audit.record(workspace, actor, "key.create", key.key_id, {"role": key.role})
    return key, token


def revoke_key(workspace: Workspace, actor: Principal, key_id: str) -> ApiKey:
    actor.require("admin")
    key = AccountStore(workspace.root).revoke_key(key_id)
    audit.record(workspace, actor, "key.revoke", key_id)
    return key
