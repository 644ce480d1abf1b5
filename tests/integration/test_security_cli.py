"""`folio users`, `folio keys`, `folio audit` through the real command line."""

from __future__ import annotations

import os
import subprocess
import sys

import duckdb

from pipelines.security.accounts import AccountStore

PASSWORD = "a long enough password"
# The console script's module: `folio` with every command (pipelines.cli alone lacks these).
CLI = [sys.executable, "-m", "service.cli"]


def folio(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [*CLI, *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "200"},
    )
    if check and result.returncode != 0:
        raise AssertionError(f"folio {' '.join(args)} -> {result.returncode}\n{result.stderr}")
    return result


def _stdin(*args: str, text: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args], input=text, capture_output=True, text=True, timeout=120, check=False
    )


def test_users_keys_and_a_tampered_audit_log(tmp_path):
    ws = str(tmp_path / "ws")
    added = _stdin(
        "users",
        "add",
        "rita",
        "--role",
        "viewer",
        "-w",
        ws,
        "--password-stdin",
        text=PASSWORD + "\n",
    )
    assert added.returncode == 0, added.stderr
    weak = _stdin("users", "add", "bob", "-w", ws, "--password-stdin", text="short\n")
    assert weak.returncode == 2 and "12 characters" in weak.stderr
    assert "rita" in folio("users", "list", "-w", ws).stdout

    created = folio("keys", "create", "bot", "--role", "reviewer", "-w", ws)
    token = created.stdout.strip().splitlines()[-1]
    store = AccountStore(tmp_path / "ws")
    assert store.principal_for_key(token) is not None
    key_id = store.api_keys()[0].key_id
    folio("keys", "revoke", key_id, "-w", ws)
    assert AccountStore(tmp_path / "ws").principal_for_key(token) is None
    assert "revoked" in folio("keys", "list", "-w", ws).stdout

    intact = folio("audit", "verify", "-w", ws)
    assert "audit log intact: 3 rows" in intact.stdout  # user.add, key.create, key.revoke
    shown = folio("audit", "show", "-w", ws).stdout
    assert "key.revoke" in shown and "rita" not in shown

    con = duckdb.connect(str(tmp_path / "ws" / "folio.duckdb"))
    con.execute("DELETE FROM audit_log WHERE seq = 2")
    con.close()
    tampered = folio("audit", "verify", "-w", ws, check=False)
    assert tampered.returncode == 1
    assert "seq 3" in tampered.stdout and "missing" in tampered.stdout
