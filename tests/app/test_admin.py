"""The Admin page: admins only; users, keys, audit check and erasure through the app, each
action by the signed-in admin and in the audit log."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from pipelines.security.accounts import AccountStore
from pipelines.security.audit_verify import recent_events
from pipelines.store.database import query
from pipelines.store.workspace import Workspace
from tests.app.conftest import OK_ID, open_page


@pytest.mark.parametrize("role", ["viewer", "reviewer"])
def test_only_admins_get_the_page(app: AppTest, role: str) -> None:
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        open_page(app, "views/admin.py", reviewer="rex", role=role)


def test_admin_manages_users_and_keys(app: AppTest, workspace: Workspace) -> None:
    # ada is a configured admin (once users exist, only configured users stay signed in)
    AccountStore(workspace.root).add_user("ada", "the admin's password", "admin")
    at = open_page(app, "views/admin.py", reviewer="ada", role="admin")
    at.text_input(key="new_user").input("rita")
    at.text_input(key="new_password").input("a good long password")
    at.selectbox(key="new_role").select("viewer")
    next(b for b in at.button if b.label == "Add user").click().run()
    assert not at.exception
    users = [(u.name, u.role) for u in AccountStore(workspace.root).users()]
    assert users == [("ada", "admin"), ("rita", "viewer")]

    at.text_input(key="new_key_name").input("bot")
    at.button(key="create_key").click().run()
    assert not at.error, [e.value for e in at.error]
    token = at.code[0].value
    store = AccountStore(workspace.root)
    assert store.principal_for_key(token) is not None
    at.button(key="revoke_key").click().run()
    assert store.principal_for_key(token) is None

    at.button(key="verify_audit").click().run()
    assert any("Intact" in s.value for s in at.success)
    actions = {e["action"] for e in recent_events(workspace).to_pylist()}
    assert {"user.add", "key.create", "key.revoke"} <= actions


def test_admin_erases_a_document(app: AppTest, workspace: Workspace) -> None:
    at = open_page(app, "views/admin.py", reviewer="ada", role="admin")
    at.text_input(key="erase_id").input(OK_ID)
    at.checkbox(key="erase_confirm").check().run()
    at.button(key="erase").click().run()
    assert not at.exception, at.exception
    assert any(f"Erased {OK_ID}" in s.value for s in at.success)
    left = query(workspace, f"SELECT count(*) AS n FROM documents WHERE document_id = '{OK_ID}'")
    assert left.column("n").to_pylist() == [0]


def test_admin_trains_and_chooses_the_model_in_use(app: AppTest, workspace: Workspace) -> None:
    import numpy as np

    from extractors.stages.forms.features import LABELS, n_features
    from models.feature_classifier import FeatureClassifier
    from pipelines.learning.registry import FORM_LABELLER, active, register
    from pipelines.store.loader import load_with_retries

    at = open_page(app, "views/admin.py", reviewer="ada", role="admin")
    at.button(key="train_models").click().run()
    assert not at.exception, at.exception
    # the fixture workspace has no reviewed forms: nothing is fitted, and the app says why
    assert any("reviewed form documents, 10 needed" in i.value for i in at.info)
    assert any("classify.doctype: 0 reviewed documents" in i.value for i in at.info)
    n, k = n_features(), len(LABELS)
    model = FeatureClassifier(
        w1=np.zeros((n, 2), np.float32), b1=np.zeros(2, np.float32),
        w2=np.zeros((2, k), np.float32), b2=np.zeros(k, np.float32),
        mean=np.zeros(n, np.float32), scale=np.ones(n, np.float32), labels=LABELS,
        meta={"features_version": "1"},
    )  # fmt: skip
    version = register(workspace, FORM_LABELLER, model, {"documents": 12, "held_back_score": 0.7})
    at.run()
    table = next(df.value for df in at.dataframe if "cross-validated" in df.value.columns)
    assert table["version"].tolist() == [version.version]
    assert table["documents"].tolist() == [12] and table["in use"].tolist() == [False]
    at.button(key="activate_model").click().run()
    assert any(f"{version.version} is in use" in s.value for s in at.success)
    assert active(workspace, FORM_LABELLER) == version
    load_with_retries(workspace)  # the audit event is staged; the app's loader is not running
    actions = {e["action"] for e in recent_events(workspace).to_pylist()}
    assert "model.activate" in actions
