"""Signing in to the app: the password form once users exist, roles from the account store,
lockout after repeated failures, and audit events for each attempt."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from pipelines.security.accounts import AccountStore
from pipelines.security.audit_verify import recent_events
from pipelines.store.loader import load_staged
from pipelines.store.workspace import Workspace
from workbench.resources import PRINCIPAL_KEY

PASSWORD = "reviewing all day long"


def _sign_in(at: AppTest, name: str, password: str) -> AppTest:
    at.text_input(key="login_user").input(name)
    at.text_input(key="login_password").input(password)
    return at.button[0].click().run()


def test_users_sign_in_and_get_their_role(app: AppTest, workspace: Workspace) -> None:
    AccountStore(workspace.root).add_user("rita", PASSWORD, "viewer")
    at = app.run()
    assert not at.exception
    assert [t.key for t in at.text_input] == ["login_user", "login_password"]
    assert not at.sidebar.markdown  # nothing of the workspace before signing in

    _sign_in(at, "rita", "not the password")
    assert any("wrong password" in e.value for e in at.error)
    assert PRINCIPAL_KEY not in at.session_state

    _sign_in(at, "rita", PASSWORD)
    assert not at.exception
    principal = at.session_state[PRINCIPAL_KEY]
    assert (principal.name, principal.role) == ("rita", "viewer")
    assert any("rita" in m.value for m in at.sidebar.markdown)

    # an admin promotes her: the next rerun has the new role, no new sign-in needed
    AccountStore(workspace.root).set_role("rita", "reviewer")
    at.run()
    assert at.session_state[PRINCIPAL_KEY].role == "reviewer"
    # and removing her signs her out (another user remains, so sign-in is still required)
    AccountStore(workspace.root).add_user("olga", PASSWORD, "admin")
    AccountStore(workspace.root).remove_user("rita")
    at.run()
    assert PRINCIPAL_KEY not in at.session_state
    assert [t.key for t in at.text_input] == ["login_user", "login_password"]

    load_staged(workspace)
    outcomes = [(e["action"], e["outcome"]) for e in recent_events(workspace).to_pylist()]
    assert ("login", "failed") in outcomes and ("login", "ok") in outcomes


def test_repeated_failures_lock_the_name(app: AppTest, workspace: Workspace) -> None:
    AccountStore(workspace.root).add_user("mallory-target", PASSWORD, "admin")
    at = app.run()
    for _ in range(5):
        _sign_in(at, "mallory-target", "guess")
    _sign_in(at, "mallory-target", PASSWORD)  # even the right password, while locked
    assert any("Too many failed sign-ins" in e.value for e in at.error)
    assert PRINCIPAL_KEY not in at.session_state


def test_without_users_the_local_person_is_admin(app: AppTest) -> None:
    at = app.run()
    assert not at.exception
    principal = at.session_state[PRINCIPAL_KEY]
    assert (principal.role, principal.kind) == ("admin", "local")
