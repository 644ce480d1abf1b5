"""Encryption at rest: asked for with FOLIO_ENCRYPTION_KEY (or FOLIO_ENCRYPTION_KEY_FILE).

Folio refuses to open a workspace when encryption was asked for and cannot be delivered, rather
than write plaintext. Measured on this stack (duckdb 2.0.1): writing an encrypted database needs
the httpfs extension's crypto module, and extensions cannot be installed offline; without it
DuckDB offers only an "unsafe" mode (`force_mbedtls_unsafe`), which Folio never uses. Page images
(the stored inputs) and staging bundles would be plaintext files beside the database anyway, so
encryption belongs to the volume: LUKS/dm-crypt, fscrypt or the cloud provider's encrypted
disks (docs/security.md). The key is never logged or printed.
"""

from __future__ import annotations

import functools
import os
import tempfile
from pathlib import Path

KEY_ENV = "FOLIO_ENCRYPTION_KEY"
KEY_FILE_ENV = "FOLIO_ENCRYPTION_KEY_FILE"


class EncryptionUnavailable(RuntimeError):
    """Encryption at rest was asked for and this installation cannot provide it."""


def encryption_requested() -> bool:
    return bool(os.environ.get(KEY_ENV) or os.environ.get(KEY_FILE_ENV))


@functools.cache
def duckdb_can_write_encrypted() -> tuple[bool, str]:
    """Whether this DuckDB build writes encrypted files, tried on a throwaway file; with the
    reason in DuckDB's words when not."""
    import duckdb

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "probe.duckdb"
        con = duckdb.connect()
        try:
            con.execute(f"ATTACH '{path}' AS probe (ENCRYPTION_KEY 'folio-probe')")
            con.execute("CREATE TABLE probe.t AS SELECT 'folio-plaintext-marker' AS v")
            con.execute("DETACH probe")
        except duckdb.Error as error:
            return False, str(error).strip().splitlines()[0]
        finally:
            con.close()
        if b"folio-plaintext-marker" in path.read_bytes():
            return False, "the file it wrote holds the plaintext"
    return True, ""


def check_encryption_policy(workspace_root: Path) -> None:
    """Raise EncryptionUnavailable when encryption was asked for: this version of Folio keeps
    page images and staging files as plain files, so it cannot honour the request even where
    DuckDB could encrypt its own file; the message says why and what to do instead."""
    if not encryption_requested():
        return
    can_write, reason = duckdb_can_write_encrypted()
    import duckdb

    database = (
        f"duckdb {duckdb.__version__} cannot write encrypted files here ({reason}); it needs "
        "the httpfs extension, which cannot be installed offline"
        if not can_write
        else f"duckdb {duckdb.__version__} could encrypt the database, but the workspace's "
        "page images and staging files would stay plaintext"
    )
    raise EncryptionUnavailable(
        f"encryption at rest was asked for ({KEY_ENV}/{KEY_FILE_ENV} is set) and Folio will "
        f"not write {workspace_root} in plaintext: {database}. Put the workspace on an "
        f"encrypted volume (LUKS, fscrypt, an encrypted cloud disk; see docs/security.md) "
        f"and unset {KEY_ENV}."
    )
