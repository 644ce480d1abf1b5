"""Users and API keys: argon2id hashes only, roles, revocation, the bind policy."""

from __future__ import annotations

import pytest

from pipelines.security.accounts import AccountError, AccountStore
from pipelines.security.policy import InsecureBind, auth_mode, is_loopback
from pipelines.security.principal import PermissionDenied, Principal

PASSWORD = "correct horse battery"


def test_password_login_and_nothing_stored_in_clear(tmp_path):
    store = AccountStore(tmp_path)
    store.add_user("rita", PASSWORD, "reviewer")
    assert store.authenticate("rita", PASSWORD) == Principal("rita", "reviewer", "user")
    assert store.authenticate("rita", PASSWORD + "x") is None
    assert store.authenticate("nobody", PASSWORD) is None
    text = store.path.read_text()
    assert PASSWORD not in text and "$argon2id$" in text
    assert store.path.stat().st_mode & 0o077 == 0


def test_weak_password_bad_name_and_duplicates_are_refused(tmp_path):
    store = AccountStore(tmp_path)
    with pytest.raises(AccountError, match="12 characters"):
        store.add_user("rita", "short", "viewer")
    with pytest.raises(AccountError, match="user name"):
        store.add_user("../rita", PASSWORD, "viewer")
    with pytest.raises(ValueError, match="unknown role"):
        store.add_user("rita", PASSWORD, "owner")
    store.add_user("rita", PASSWORD, "viewer")
    with pytest.raises(AccountError, match="exists"):
        store.add_user("rita", PASSWORD, "admin")


def test_role_change_password_change_and_removal(tmp_path):
    store = AccountStore(tmp_path)
    store.add_user("rita", PASSWORD, "viewer")
    store.set_role("rita", "admin")
    store.set_password("rita", PASSWORD + " 2")
    assert store.authenticate("rita", PASSWORD) is None
    assert store.authenticate("rita", PASSWORD + " 2") == Principal("rita", "admin", "user")
    store.remove_user("rita")
    assert not store.has_users()
    assert store.authenticate("rita", PASSWORD + " 2") is None


def test_api_key_roundtrip_and_revocation(tmp_path):
    store = AccountStore(tmp_path)
    key, token = store.create_key("ingest-bot", "reviewer")
    principal = store.principal_for_key(token)
    assert principal == Principal("ingest-bot", "reviewer", "api_key", key.key_id)
    assert store.principal_for_key(token) == principal  # cached path
    assert token.split("_", 2)[2] not in store.path.read_text()
    # another process (a second AccountStore) revokes: this one refuses at the next request
    AccountStore(tmp_path).revoke_key(key.key_id)
    assert store.principal_for_key(token) is None


@pytest.mark.parametrize(
    "token", ["", "folio_", "folio_abc", "Bearer x", "folio_000000000000_secret", "x" * 5000]
)
def test_malformed_and_unknown_keys_are_refused(tmp_path, token):
    store = AccountStore(tmp_path)
    _, good = store.create_key("bot", "viewer")
    assert store.principal_for_key(token) is None
    assert store.principal_for_key(good[:-1] + ("A" if good[-1] != "A" else "B")) is None


def test_role_boundaries():
    viewer = Principal("v", "viewer", "user")
    reviewer = Principal("r", "reviewer", "user")
    admin = Principal("a", "admin", "user")
    assert viewer.can("view") and viewer.can("sql")
    assert not viewer.can("edit") and not viewer.can("export") and not viewer.can("upload")
    assert reviewer.can("edit") and reviewer.can("export") and not reviewer.can("admin")
    assert admin.can("admin")
    with pytest.raises(PermissionDenied, match="needs the admin role"):
        reviewer.require("admin")


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("127.0.0.2", True),
        ("0.0.0.0", False),
        ("::", False),
        ("10.0.0.5", False),
        ("example.org", False),
    ],
)
def test_loopback_detection(host, loopback):
    assert is_loopback(host) is loopback


def test_bind_policy():
    assert auth_mode("127.0.0.1", False, "users", "folio users add") == "local"
    assert auth_mode("0.0.0.0", True, "users", "folio users add") == "accounts"
    with pytest.raises(InsecureBind, match="folio users add"):
        auth_mode("0.0.0.0", False, "users", "folio users add")


def test_admin_actions_refuse_a_reviewer_and_change_nothing(tmp_path):
    from pipelines.security import administration
    from pipelines.security.erasure import erase_documents
    from pipelines.security.retention import set_policy
    from pipelines.store.workspace import Workspace

    ws = Workspace.open(tmp_path / "ws")
    reviewer = Principal("rex", "reviewer", "user")
    attempts = [
        lambda: administration.add_user(ws, reviewer, "eve", PASSWORD, "admin"),
        lambda: administration.create_key(ws, reviewer, "bot", "admin"),
        lambda: erase_documents(ws, ["doc-x"], reviewer),
        lambda: set_policy(ws, "*", 1, reviewer),
    ]
    for attempt in attempts:
        with pytest.raises(PermissionDenied, match="needs the admin role"):
            attempt()
    store = AccountStore(ws.root)
    assert not store.users() and not store.api_keys()
