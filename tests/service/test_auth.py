"""API keys and roles at the service: who may submit, read, export; revocation, rate limits,
other keys' jobs, the audit trail, and the loopback rule without keys."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from pipelines.security.accounts import AccountStore
from pipelines.security.audit_verify import recent_events
from pipelines.store.loader import load_staged
from tests.conftest import SAMPLES
from tests.service.conftest import run_steps, tick

INVOICE = SAMPLES / "invoice.pdf"


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture()
def keyed(make_client):
    client = make_client()
    store = AccountStore(client.app.state.workspace.root)
    keys = {
        role: _bearer(store.create_key(f"{role}-key", role)[1])
        for role in ("viewer", "reviewer", "admin")
    }
    return client, store, keys


def _submit(client: TestClient, headers: dict[str, str]):
    with INVOICE.open("rb") as handle:
        return client.post("/v1/jobs", files={"file": (INVOICE.name, handle)}, headers=headers)


def test_role_boundaries_at_every_endpoint(keyed):
    client, _, keys = keyed
    assert _submit(client, {}).status_code == 401
    assert client.get("/v1/jobs").status_code == 401
    denied = _submit(client, keys["viewer"])
    assert denied.status_code == 403 and "viewer role may not upload" in denied.json()["detail"]

    job = _submit(client, keys["reviewer"]).json()
    run_steps(client.app.state.redis)
    tick(client)
    # the viewer cannot see another key's job, let alone export it
    assert client.get(f"/v1/jobs/{job['id']}", headers=keys["viewer"]).status_code == 404
    assert client.get(f"/v1/jobs/{job['id']}/result", headers=keys["viewer"]).status_code == 403
    assert client.get(f"/v1/jobs/{job['id']}", headers=keys["reviewer"]).status_code == 200
    result = client.get(f"/v1/jobs/{job['id']}/result", headers=keys["reviewer"])
    assert result.status_code == 200 and result.json()["document_id"] == job["document_id"]
    # an admin sees every key's jobs
    listed = client.get("/v1/jobs", headers=keys["admin"]).json()["jobs"]
    assert [j["id"] for j in listed] == [job["id"]]
    assert client.get("/v1/jobs", headers=keys["viewer"]).json()["jobs"] == []
    # health, readiness and metrics stay open to probes and Prometheus
    assert client.get("/livez").status_code == 200


def test_revoked_and_wrong_keys_are_refused(keyed):
    client, store, keys = keyed
    assert client.get("/v1/jobs", headers=keys["reviewer"]).status_code == 200
    key_id = next(k.key_id for k in store.api_keys() if k.role == "reviewer")
    AccountStore(store.path.parents[1]).revoke_key(key_id)  # as `folio keys revoke` would
    refused = client.get("/v1/jobs", headers=keys["reviewer"])
    assert refused.status_code == 401 and "revoked" in refused.json()["detail"]
    wrong = client.get("/v1/jobs", headers=_bearer(keys["admin"]["Authorization"][7:-2] + "zz"))
    assert wrong.status_code == 401


def test_rate_limits_per_key_and_for_failed_keys(make_client):
    client = make_client(rate_limit_per_minute=3, failed_auth_per_minute=2)
    store = AccountStore(client.app.state.workspace.root)
    headers = _bearer(store.create_key("bot", "viewer")[1])
    codes = [client.get("/v1/jobs", headers=headers).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    limited = client.get("/v1/jobs", headers=headers)
    assert "FOLIO_RATE_LIMIT_PER_MINUTE" in limited.json()["detail"]
    assert int(limited.headers["retry-after"]) > 0
    guesses = [
        client.get("/v1/jobs", headers=_bearer(f"folio_x_{n}")).status_code for n in range(3)
    ]
    assert guesses == [401, 401, 429]


def test_audit_trail_of_the_service(keyed):
    client, _, keys = keyed
    job = _submit(client, keys["reviewer"]).json()
    _submit(client, keys["viewer"])
    run_steps(client.app.state.redis)
    tick(client)
    client.get(f"/v1/jobs/{job['id']}/result", headers=keys["reviewer"])
    workspace = client.app.state.workspace
    load_staged(workspace)
    events = {(e["action"], e["outcome"], e["via"]) for e in recent_events(workspace).to_pylist()}
    assert {
        ("upload", "ok", "api_key"),
        ("upload", "denied", "api_key"),
        ("export", "ok", "api_key"),
    } <= events


def test_without_keys_only_loopback_is_served(make_client):
    local = make_client()
    assert local.get("/v1/jobs").status_code == 200  # the laptop case: local admin
    exposed = make_client(host="0.0.0.0")
    refused = exposed.get("/v1/jobs")
    assert refused.status_code == 401 and "folio keys create" in refused.json()["detail"]


def test_serve_refuses_a_public_address_without_keys(tmp_path: Path):
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "service.cli",
            "serve",
            "--host",
            "0.0.0.0",
            "-w",
            str(tmp_path / "ws"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "refusing to listen on 0.0.0.0 without authentication" in " ".join(done.stderr.split())


def test_keys_never_reach_the_logs(keyed, caplog):
    client, _, keys = keyed
    token = keys["reviewer"]["Authorization"][7:]
    with caplog.at_level("DEBUG"):
        _submit(client, keys["reviewer"])
        client.get("/v1/jobs", headers=_bearer(token + "wrong"))
        client.get("/v1/jobs", headers={"X-API-Key": token})
    text = "\n".join(f"{r.getMessage()} {vars(r)}" for r in caplog.records)
    assert caplog.records and token not in text
    secret = token.rsplit("_", 1)[-1]
    assert secret not in text
