"""Asked-for encryption that cannot be delivered is refused before anything is written."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from pipelines.security.encryption import (
    KEY_ENV,
    EncryptionUnavailable,
    duckdb_can_write_encrypted,
)
from pipelines.store.workspace import Workspace
from tests.conftest import SAMPLES


def test_the_probe_reports_what_this_duckdb_can_do():
    can_write, reason = duckdb_can_write_encrypted()
    # duckdb 2.0.1 without httpfs (measured): read-only crypto; a later build may write.
    assert can_write or "httpfs" in reason


def test_workspace_refuses_and_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv(KEY_ENV, "a-key-that-must-not-be-printed")
    with pytest.raises(EncryptionUnavailable, match="encrypted volume") as refused:
        Workspace.open(tmp_path / "ws")
    assert "a-key-that-must-not-be-printed" not in str(refused.value)
    assert not (tmp_path / "ws").exists()


def test_folio_run_refuses_with_a_plain_error(tmp_path):
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "service.cli",
            "run",
            str(SAMPLES / "receipt.jpg"),
            "-w",
            str(tmp_path / "ws"),
        ],
        env={**os.environ, KEY_ENV: "secret-key-value"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    message = " ".join(done.stderr.split())
    assert "will not write" in message and "Traceback" not in done.stderr
    assert "secret-key-value" not in done.stderr + done.stdout
    assert not (tmp_path / "ws").exists()
