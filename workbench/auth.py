"""Who is using the app: the login gate, the session's principal, role checks and audit events.

The rule is pipelines.security.policy's: with users configured (`folio users add`) everyone
signs in with a password (argon2id); without any, `folio app` serves loopback only and the
person at the machine is the local admin. `st.login` (OIDC) is used instead of the password
form when `.streamlit/secrets.toml` has an `[auth]` section; the signed-in e-mail then maps to a
user of the same name for its role, else to a viewer.
"""

from __future__ import annotations

import time
from collections import deque
from typing import Any

import streamlit as st

from pipelines.security import audit as audit_log
from pipelines.security.accounts import AccountStore
from pipelines.security.principal import Action, Principal, local_principal
from workbench import resources

PRINCIPAL_KEY = resources.PRINCIPAL_KEY
# Failed sign-ins per user name before the name is locked for a while (per app process).
MAX_FAILURES = 5
LOCKOUT_S = 15 * 60


@st.cache_resource
def _failures() -> dict[str, deque[float]]:
    return {}


def _accounts() -> AccountStore:
    return AccountStore(resources.workspace().root)


def _oidc_configured() -> bool:
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets file: FileNotFoundError or a streamlit-specific error
        return False


def current() -> Principal | None:
    value = st.session_state.get(PRINCIPAL_KEY)
    return value if isinstance(value, Principal) else None


def require_login() -> Principal:
    """The session's principal; draws the sign-in form and stops the script when there is none."""
    store = _accounts()
    principal = current()
    if not store.has_users() and not _oidc_configured():
        # `folio app` refused any non-loopback address already: this is the laptop case.
        principal = principal or local_principal()
        st.session_state[PRINCIPAL_KEY] = principal
        return principal
    if principal is not None and principal.kind == "user":
        # Role changes and removals take effect on the next rerun, not at the next sign-in.
        user = next((u for u in store.users() if u.name == principal.name), None)
        if user is not None and not user.disabled:
            refreshed = Principal(user.name, user.role, "user")
            st.session_state[PRINCIPAL_KEY] = refreshed
            return refreshed
        st.session_state.pop(PRINCIPAL_KEY, None)
    if _oidc_configured():
        return _oidc_principal(store)
    _login_form(store)
    st.stop()
    raise AssertionError("unreachable")  # st.stop() raises


def _oidc_principal(store: AccountStore) -> Principal:
    if not st.user.is_logged_in:
        st.title("Folio review")
        st.button("Sign in", key="oidc_login", on_click=st.login, type="primary")
        st.stop()
    email = str(st.user.get("email") or st.user.get("sub") or "")
    user = next((u for u in store.users() if u.name == email), None)
    principal = Principal(email, user.role if user else "viewer", "user")
    if current() != principal:
        st.session_state[PRINCIPAL_KEY] = principal
        audit_log.record(resources.workspace(), principal, "login", details={"method": "oidc"})
    return principal


def _login_form(store: AccountStore) -> None:
    st.title("Folio review")
    with st.form("login", border=True):
        name = st.text_input("User", key="login_user")
        password = st.text_input("Password", type="password", key="login_password")
        submitted = st.form_submit_button("Sign in", type="primary")
    if not submitted:
        return
    failures = _failures().setdefault(name, deque(maxlen=MAX_FAILURES))
    now = time.monotonic()
    if len(failures) == MAX_FAILURES and now - failures[0] < LOCKOUT_S:
        st.error("Too many failed sign-ins for this user; try again in 15 minutes.")
        return
    principal = store.authenticate(name, password or "")
    ws = resources.workspace()
    if principal is None:
        failures.append(now)
        anonymous = Principal(name or "-", "viewer", "user")
        audit_log.record(ws, anonymous, "login", outcome="failed")
        st.error("Unknown user or wrong password.")
        return
    failures.clear()
    st.session_state[PRINCIPAL_KEY] = principal
    st.session_state.pop("login_password", None)
    audit_log.record(ws, principal, "login", details={"method": "password"})
    st.rerun()


def sign_out() -> None:
    principal = current()
    if principal is not None:
        audit_log.record(resources.workspace(), principal, "logout")
    st.session_state.pop(PRINCIPAL_KEY, None)
    if _oidc_configured():
        st.logout()


def can(action: Action) -> bool:
    principal = current()
    return principal is not None and principal.can(action)


def record(action: str, target: str = "", **details: Any) -> None:
    """An audit event by the session's principal (nothing when nobody is signed in)."""
    principal = current()
    if principal is not None:
        audit_log.record(resources.workspace(), principal, action, target, details or None)


def record_view(document_id: str) -> None:
    """A document opened for review: once per session and document, not on every rerun."""
    seen: set[str] = st.session_state.setdefault("_audited_views", set())
    if document_id not in seen:
        seen.add(document_id)
        record("view", document_id)
