"""Pseudonyms: keyed hashes (HMAC-SHA256 with a per-workspace secret) that stand in for people
and personal values in the audit log. The same value always maps to the same pseudonym within a
workspace, so an officer can follow one actor through the log, but the log alone does not say
who it is; without the secret a dictionary of names cannot be hashed to match.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import secrets
import tempfile
from pathlib import Path

SECRET_NAME = "secret.key"


def security_dir(workspace_root: Path) -> Path:
    return workspace_root / "security"


def workspace_secret(workspace_root: Path) -> bytes:
    """The workspace's secret (32 random bytes, mode 0600), created on first use; concurrent
    first uses agree on one."""
    folder = security_dir(workspace_root)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / SECRET_NAME
    if not path.exists():
        # Written whole under a temp name, then hard-linked into place: link() fails when the
        # name exists, so a racing first use never reads a half-written secret.
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".secret-", suffix=".part")
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(secrets.token_bytes(32))
                handle.flush()
                os.fsync(handle.fileno())
            with contextlib.suppress(FileExistsError):
                os.link(tmp, path)
        finally:
            os.unlink(tmp)
    secret = path.read_bytes()
    if len(secret) != 32:
        raise RuntimeError(f"{path} is damaged ({len(secret)} bytes, expected 32)")
    return secret


def pseudonym(workspace_root: Path, value: str, kind: str = "p") -> str:
    """`<kind>_<16 hex>`: e.g. `p_...` for principals, `s_...` for erasure subjects."""
    digest = hmac.new(workspace_secret(workspace_root), value.encode(), hashlib.sha256)
    return f"{kind}_{digest.hexdigest()[:16]}"
