"""Admin: users and roles, API keys, the audit log's check, erasure of a document, and the
learned models (train from reviews, choose the version in use).

Admins only: the router offers the page to them alone, and every action checks the role again
(pipelines.security.administration and erasure), so a crafted rerun cannot act either.
"""

from __future__ import annotations

import streamlit as st

from pipelines.learning.fit import TorchMissing
from pipelines.learning.registry import LEARNED_STAGES, versions
from pipelines.learning.registry import active as active_model
from pipelines.learning.train import activate_as, train_as
from pipelines.security import administration
from pipelines.security.accounts import AccountError, AccountStore
from pipelines.security.audit_verify import recent_events, verify_audit_log
from pipelines.security.erasure import erase_documents
from pipelines.security.principal import ROLES, PermissionDenied
from workbench import auth, resources

principal = auth.current()
if principal is None or not principal.can("admin"):
    st.error("Admin actions need the admin role.", icon=":material/block:")
    st.stop()
assert principal is not None
ws = resources.workspace()
store = AccountStore(ws.root)
st.title("Admin")
users_tab, keys_tab, audit_tab, erase_tab, models_tab = st.tabs(
    ["Users", "API keys", "Audit log", "Erase", "Models"]
)


def _report(action: str, run: object) -> None:
    try:
        run()  # type: ignore[operator]
    except (AccountError, ValueError, PermissionDenied) as error:
        st.error(str(error), icon=":material/block:")
    else:
        st.success(action, icon=":material/check:")


with users_tab:
    st.dataframe(
        [{"user": u.name, "role": u.role, "created": u.created_at} for u in store.users()],
        hide_index=True,
        key="admin_users",
    )
    with st.form("add_user", clear_on_submit=True):
        name = st.text_input("User name", key="new_user")
        password = st.text_input("Initial password", type="password", key="new_password")
        role = st.selectbox("Role", ROLES, index=1, key="new_role")
        if st.form_submit_button("Add user"):
            _report(
                f"Added {name}",
                lambda: administration.add_user(ws, principal, name, password, role),
            )
    names = [u.name for u in store.users()]
    if names:
        c1, c2, c3 = st.columns([3, 2, 2], vertical_alignment="bottom")
        who = c1.selectbox("User", names, key="edit_user")
        new_role = c2.selectbox("New role", ROLES, key="edit_role")
        if c3.button("Change role", key="change_role"):
            _report(
                f"{who} is now {new_role}",
                lambda: administration.set_role(ws, principal, who, new_role),
            )
        if st.button("Remove user", key="remove_user", type="secondary"):
            _report(f"Removed {who}", lambda: administration.remove_user(ws, principal, who))

with keys_tab:
    st.dataframe(
        [
            {
                "id": k.key_id,
                "name": k.name,
                "role": k.role,
                "created": k.created_at,
                "state": "active" if k.active else f"revoked {k.revoked_at}",
            }
            for k in store.api_keys()
        ],
        hide_index=True,
        key="admin_keys",
    )
    k1, k2, k3 = st.columns([3, 2, 2], vertical_alignment="bottom")
    key_name = k1.text_input("Key name", key="new_key_name")
    key_role = k2.selectbox("Role", ROLES, index=1, key="new_key_role")
    if k3.button("Create key", key="create_key"):
        try:
            _, token = administration.create_key(ws, principal, key_name, key_role)
        except (AccountError, ValueError) as error:
            st.error(str(error))
        else:
            st.code(token, language=None)
            st.caption("Copy it now: only its hash is kept.")
    active = [k.key_id for k in store.api_keys() if k.active]
    if active:
        r1, r2 = st.columns([3, 2], vertical_alignment="bottom")
        revoke = r1.selectbox("Key", active, key="revoke_key_id")
        if r2.button("Revoke", key="revoke_key"):
            _report(f"Revoked {revoke}", lambda: administration.revoke_key(ws, principal, revoke))

with audit_tab:
    if st.button("Verify the chain", key="verify_audit", icon=":material/verified:"):
        checked, problems = verify_audit_log(ws)
        if problems:
            st.error(f"Tampered: {len(problems)} problem(s) in {checked} rows")
            st.dataframe([vars(p) for p in problems], hide_index=True)
        else:
            st.success(f"Intact: {checked} rows, chain and head verified")
    st.dataframe(recent_events(ws, 200), hide_index=True, key="audit_events")

with erase_tab:
    st.caption(
        "Removes a document, its rows, corrections, staged files and stored input, and rewrites "
        "the database so no byte of it remains (docs/security-erasure.md)."
    )
    document_id = st.text_input("Document id", key="erase_id")
    confirm = st.checkbox("I understand this cannot be undone", key="erase_confirm")
    if st.button("Erase", key="erase", type="primary", disabled=not (document_id and confirm)):
        report = erase_documents(ws, [document_id.strip()], principal)
        resources.refresh()
        if report.document_ids:
            st.success(
                f"Erased {document_id}: {sum(report.rows.values())} rows, {len(report.files)} files"
            )
        else:
            st.warning(f"No document {document_id} in this workspace.")

with models_tab:
    st.caption(
        "The form labeller (KEY / VALUE / HEADER) and the document-type classifier learn from "
        "reviewed documents. A new version is kept in use only when it does better than the "
        "current one on reviewed documents it was not fitted on (cross-validated); later "
        "batches read with the versions in use (docs/learning.md)."
    )
    in_use = {task: active_model(ws, task) for task in LEARNED_STAGES}
    known = [v for task in LEARNED_STAGES for v in versions(ws, task)]
    st.dataframe(
        [
            {
                "task": v.task,
                "version": v.version,
                "trained": str(v.report.get("trained_at", ""))[:19],
                "documents": v.report.get("documents"),
                "cross-validated": v.report.get("held_back_score"),
                "against": f"{v.report.get('measured_against')} {v.report.get('current_score')}",
                "in use": v == in_use.get(v.task),
            }
            for v in known
        ],
        hide_index=True,
        key="model_versions",
    )
    if st.button("Train from reviews", key="train_models", icon=":material/model_training:"):
        with st.spinner("Training on the reviewed documents"):
            try:
                trained = train_as(ws, principal)
            except (TorchMissing, PermissionDenied) as error:
                st.error(str(error), icon=":material/block:")
            else:
                for outcome in trained:
                    show = st.success if outcome.promoted else st.info
                    show(f"{outcome.task}: {outcome.reason}")
    if known:
        m1, m2 = st.columns([3, 2], vertical_alignment="bottom")
        labels = [f"{v.task} {v.version}" for v in known]
        chosen = m1.selectbox("Version", labels, index=len(labels) - 1, key="model_version")
        task, version = str(chosen).split(" ", 1)
        if m2.button("Use this version", key="activate_model"):
            _report(f"{version} is in use", lambda: activate_as(ws, principal, task, version))
