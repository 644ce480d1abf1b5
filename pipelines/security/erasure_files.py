"""The file half of erasure: every file under the workspace root that holds an erased document.

What the code writes under a workspace root, and how each is matched:

- `folio.duckdb`: rewritten by the database half (pipelines.security.erasure_store); its WAL
  and DuckDB's spill folder `folio.duckdb.tmp/` are scanned like any other file;
- `files/<sha256><suffix>`: the stored input copies (batch, app, service), matched by the
  document id's hash prefix and kept while a remaining result still uses the same file; stale
  `.tmp-*.part` copies a killed copy left are removed too;
- `staging/results|journal|runs/`, `staging/corrupt/`, `staging/tmp/`: bundles, corrections,
  set-aside entries and temp files that mention the document;
- `service/pages/<job>.json` (a job's pages between its two steps) and `service/uploads/`
  (uploads while they are checked), `uploads/` (the app's uploads under their own names);
- anything else under the root (exports written into it, a user's copies): removed when its
  name, content hash, bytes or (parquet, whose strings are compressed) decoded string columns
  name the document's id or hash, the subject, or the document's file name. The workspace's
  own folders are matched without file names: two documents may share a name.

Kept: `security/` (the workspace secret, the audit head, retention policies), `staging/audit/`
and `staging/evals/` (pseudonymous events, dataset metrics), `calibration.json` (counts),
`loader.lock` (empty). Matching is on bytes, case-insensitive for ASCII letters.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

from models.assets import file_sha256
from pipelines.security.erasure_store import Targets
from pipelines.store.staging import STALE_TEMP_S
from pipelines.store.workspace import Workspace

KEPT_TOP = frozenset({"security", "loader.lock", "calibration.json"})
OWN_FOLDERS = frozenset({"staging", "service", "uploads", "files"})
KEPT_STAGING = frozenset({"audit", "evals"})
AUDIT_PREFIX = "audit-"  # audit entries in tmp/ and corrupt/ (pseudonymous, kept)
CHUNK = 1 << 20
MIN_NAME = 6


def needles(targets: Targets, subject: str = "") -> list[bytes]:
    """Byte strings whose presence ties a file to the documents (lower-case)."""
    found = {value.lower().encode() for value in targets.document_ids | targets.sha256s}
    if subject:
        found.add(subject.lower().encode())
        found.add(json.dumps(subject.lower())[1:-1].encode())  # as json.dumps escapes it
    return sorted(value for value in found if value)


def contains_any(path: Path, wanted: list[bytes]) -> bool:
    """Whether the file's bytes (ASCII-lower-cased) contain one of `wanted`, read in chunks."""
    if not wanted:
        return False
    overlap = max(len(value) for value in wanted) - 1
    tail = b""
    try:
        with path.open("rb") as handle:
            while chunk := handle.read(CHUNK):
                window = tail + chunk.lower()
                if any(value in window for value in wanted):
                    return True
                tail = window[-overlap:] if overlap else b""
    except OSError:  # vanished meanwhile, or unreadable: nothing to remove
        return False
    return False


def _walk(root: Path) -> Iterator[Path]:
    for folder, _, names in os.walk(root):
        for name in names:
            yield Path(folder) / name


def _parquet_mentions(path: Path, wanted: list[bytes]) -> bool:
    """Parquet exports compress their strings: search the decoded string columns instead."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except Exception:  # not a parquet file after all: its bytes were searched already
        return False
    for column in table.columns:
        if not pa.types.is_string(column.type) and not pa.types.is_large_string(column.type):
            continue
        lowered = pc.utf8_lower(column)
        for value in wanted:
            if pc.any(pc.match_substring(lowered, value.decode(errors="ignore"))).as_py():
                return True
    return False


def _is_stale_temp(path: Path) -> bool:
    with contextlib.suppress(FileNotFoundError):
        return path.name.endswith(".part") and time.time() - path.stat().st_mtime > STALE_TEMP_S
    return False


def _stored_copy(path: Path, targets: Targets, in_use: set[str]) -> bool:
    """A stored input copy of an erased document that no remaining result uses (`in_use`:
    their file names; stored paths stay absolute when a workspace is moved)."""
    if path.name in in_use:
        return False
    prefixes = {doc.removeprefix("doc-") for doc in targets.document_ids}
    named = any(path.name.startswith(prefix) for prefix in prefixes if prefix)
    return named or str(path) in targets.stored_paths or _is_stale_temp(path)


def _same_content(path: Path, targets: Targets) -> bool:
    """The input file itself under another name (an upload): same size, then same hash."""
    try:
        if path.stat().st_size not in targets.sizes:
            return False
        return file_sha256(path) in targets.sha256s
    except OSError:
        return False


def _mentions(path: Path, targets: Targets, wanted: list[bytes]) -> bool:
    name = path.name.lower()
    if any(doc.lower() in name for doc in targets.document_ids) or any(
        sha in name for sha in targets.sha256s
    ):
        return True
    if _same_content(path, targets) or contains_any(path, wanted):
        return True
    return path.suffix == ".parquet" and _parquet_mentions(path, wanted)


def _kept_entry(parts: tuple[str, ...]) -> bool:
    """`staging/<folder>/<name>`: audit events and evaluation records stay."""
    return len(parts) > 2 and (parts[1] in KEPT_STAGING or parts[-1].startswith(AUDIT_PREFIX))


def files_to_remove(
    workspace: Workspace, targets: Targets, subject: str = "", in_use: Iterable[str] = ()
) -> list[Path]:
    """Every file under the workspace root that holds one of the documents; `in_use`: stored
    paths of remaining results (a file two results share stays while one remains)."""
    root = workspace.root
    wanted = needles(targets, subject)
    # A very short name ("a.pdf") would match unrelated text.
    names = sorted({n.lower().encode() for n in targets.source_names if len(n) >= MIN_NAME})
    used = {Path(stored).name for stored in in_use}
    found: list[Path] = []
    for path in _walk(root):
        parts = path.relative_to(root).parts
        if path == workspace.db_path or parts[0] in KEPT_TOP:
            continue
        if parts[0] == "staging" and _kept_entry(parts):
            continue
        if parts[0] == "files" and len(parts) == 2:
            if _stored_copy(path, targets, used):
                found.append(path)
            continue
        # Exports and other copies also go when they name the document's file; the workspace's
        # own folders are matched by id and hash only (another document may share a name).
        if _mentions(path, targets, wanted if parts[0] in OWN_FOLDERS else [*wanted, *names]):
            found.append(path)
    return sorted(found)


def remove_files(paths: Iterable[Path]) -> list[Path]:
    removed = []
    for path in paths:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
            removed.append(path)
    return removed
