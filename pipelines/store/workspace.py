"""A workspace is a folder: the DuckDB file, a staging area, and copies of the input files.

Workers never open the database. Each finished document, run record and review correction is
staged as an immutable file (`pipelines.store.staging` owns that area); a single loader moves
them into DuckDB in short transactions. Whatever is staged survives a crash and is loaded on
the next start.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipelines.store.staging import StagingArea, write_atomically

DEFAULT_WORKSPACE = Path(__file__).resolve().parents[2] / "data" / "workspace"
WORKSPACE_ENV = "FOLIO_WORKSPACE"


def resolve_workspace(path: str | Path | None) -> Path:
    """Flag first, then $FOLIO_WORKSPACE, then data/workspace in the project."""
    chosen = path or os.environ.get(WORKSPACE_ENV) or DEFAULT_WORKSPACE
    return Path(chosen).expanduser().resolve()


@dataclass(frozen=True)
class Workspace:
    root: Path

    @classmethod
    def open(cls, path: str | Path | None = None) -> Workspace:
        """The workspace at `path`, created when missing. EncryptionUnavailable when encryption
        at rest was asked for (pipelines.security.encryption): nothing is written then."""
        from pipelines.security.encryption import check_encryption_policy

        workspace = cls(resolve_workspace(path))
        check_encryption_policy(workspace.root)
        workspace.staging.create()
        workspace.files_dir.mkdir(parents=True, exist_ok=True)
        return workspace

    @property
    def db_path(self) -> Path:
        return self.root / "folio.duckdb"

    @property
    def staging(self) -> StagingArea:
        return StagingArea(self.root / "staging")

    @property
    def results_dir(self) -> Path:
        return self.staging.folder("results")

    @property
    def runs_dir(self) -> Path:
        return self.staging.folder("runs")

    @property
    def journal_dir(self) -> Path:
        return self.staging.folder("journal")

    @property
    def files_dir(self) -> Path:
        return self.root / "files"

    def stored_file(self, sha256: str, suffix: str) -> Path:
        return self.files_dir / f"{sha256}{safe_suffix(suffix)}"

    def keep_copy(self, source: Path, sha256: str) -> Path:
        """Keep the input in the workspace so review and retries work after the original moves.
        One copy per content: the same bytes under another name reuse the first copy (ingest
        reads the type from the bytes, the suffix is only a hint for people)."""
        target = self.stored_file(sha256, source.suffix)
        if target.exists():  # the usual rerun: no listing of the folder
            return target
        bare = self.files_dir / sha256
        same = sorted(self.files_dir.glob(f"{sha256}.*")) or ([bare] if bare.exists() else [])
        if same:
            return same[0]
        # Streamed copy, then rename: big inputs never sit in memory, a kill leaves no stub.
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=".part")
        os.close(fd)
        try:
            shutil.copyfile(source, tmp)
            os.replace(tmp, target)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        return target

    @contextlib.contextmanager
    def loader_lock(self, blocking: bool = True) -> Iterator[bool]:
        """One loader at a time per workspace (CLI batches and the app may both load)."""
        self.root.mkdir(parents=True, exist_ok=True)
        with (self.root / "loader.lock").open("a") as handle:
            flags = fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB)
            try:
                fcntl.flock(handle, flags)
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


_SUFFIX = re.compile(r"^\.[a-z0-9]{1,8}$")


def safe_suffix(suffix: str) -> str:
    """A file suffix fit for a name in the workspace: `.pdf`, `.tiff`; anything else (control
    characters, NUL, path separators, long runs) becomes no suffix."""
    lowered = suffix.lower()
    return lowered if _SUFFIX.match(lowered) else ""


def atomic_write_bytes(target: Path, data: bytes) -> None:
    """Write-then-rename in the target folder: readers see the old file or the whole new one."""
    target.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(target, data, target.parent)


def atomic_write_json(target: Path, payload: dict[str, Any] | str) -> None:
    text = payload if isinstance(payload, str) else json.dumps(payload)
    atomic_write_bytes(target, text.encode())


def remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
