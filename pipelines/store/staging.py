"""The staging area of a workspace: the one owner of its files (write, list, read, set aside,
remove).

Workers, the batch and the app never write the database; they stage immutable JSON entries here
and one loader moves them into DuckDB. Five kinds of entry, one folder each:

- `results/`: one bundle per finished document (`<result_id>.<stamp>.json`);
- `runs/`: run records, append-only (`<run_id>.<seq>.json`, a new file for every update);
- `journal/`: review corrections (`<created_at>-<correction_id>.<stamp>.json`);
- `evals/`: evaluation records of `folio evaluate` (`<eval_run_id>.<stamp>.json`);
- `audit/`: audit events (`event.<stamp>.json`), chained by the loader in stamp order.

Every name is written once and never rewritten, so a loader that reads a file and removes it
after its commit can never remove a newer state: an update is a new file with a higher stamp.
Temp files live in a sibling folder (`tmp/`, same filesystem, so the rename is atomic) that no
listing looks at; `pathlib.Path.glob("*.json")` would otherwise match `.tmp-x.json` dot files and
hand readers half-written data. A file that vanished or does not parse yet is "not ready" and is
retried; only one that stays unreadable past a grace period is set aside into `corrupt/`.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from extractors.document import Document
from pipelines.store.rows import result_id_for

if TYPE_CHECKING:
    from pipelines.store.workspace import Workspace

logger = logging.getLogger(__name__)

Kind = Literal["results", "runs", "journal", "evals", "audit"]
KINDS: tuple[Kind, ...] = ("results", "runs", "journal", "evals", "audit")
SUFFIX = ".json"
# An entry that stays unparseable this long is broken, not in flight: set it aside.
UNREADABLE_GRACE_S = 60.0
# Temp files older than this were left by a killed writer (a write takes milliseconds).
STALE_TEMP_S = 600.0


@dataclass(frozen=True, order=True)
class Entry:
    """A staged file: `key` names what it is about (result, run), `stamp` orders its versions."""

    key: str
    stamp: str
    path: Path


def _stamp() -> str:
    # Sortable across processes: wall-clock nanoseconds, then randomness for ties.
    return f"{time.time_ns():020d}-{uuid.uuid4().hex[:8]}"


class StagingArea:
    def __init__(self, root: Path) -> None:
        self.root = root

    def folder(self, kind: Kind) -> Path:
        return self.root / kind

    @property
    def tmp_dir(self) -> Path:
        return self.root / "tmp"

    @property
    def corrupt_dir(self) -> Path:
        return self.root / "corrupt"

    def create(self) -> None:
        for folder in (*(self.folder(kind) for kind in KINDS), self.tmp_dir, self.corrupt_dir):
            folder.mkdir(parents=True, exist_ok=True)

    # -- write ---------------------------------------------------------------------------------

    def write(
        self, kind: Kind, key: str, payload: dict[str, Any], stamp: str | None = None
    ) -> Path:
        """Stage one entry atomically: temp file in tmp/, fsync, rename into the kind's folder."""
        if "." in key or "/" in key:
            raise ValueError(f"staging key {key!r} may not contain '.' or '/'")
        target = self.folder(kind) / f"{key}.{stamp or _stamp()}{SUFFIX}"
        write_atomically(target, json.dumps(payload).encode(), self.tmp_dir, prefix=f"{kind}-")
        return target

    # -- list and read -------------------------------------------------------------------------

    def entries(self, kind: Kind) -> list[Entry]:
        """Complete entries of a kind, oldest first. Dot files (legacy temp names) never match."""
        found: list[Entry] = []
        with contextlib.suppress(FileNotFoundError):
            for name in os.listdir(self.folder(kind)):
                if name.startswith(".") or not name.endswith(SUFFIX):
                    continue
                stem = name[: -len(SUFFIX)]
                key, _, stamp = stem.partition(".")
                found.append(Entry(key, stamp, self.folder(kind) / name))
        return sorted(found, key=lambda e: (e.stamp, e.key))

    def keys(self, kind: Kind) -> set[str]:
        return {entry.key for entry in self.entries(kind)}

    def is_empty(self) -> bool:
        return not any(self.entries(kind) for kind in KINDS)

    @staticmethod
    def read(entry: Entry) -> dict[str, Any] | None:
        """The entry's payload, or None when it vanished (loaded meanwhile) or does not parse."""
        try:
            payload = json.loads(entry.path.read_bytes())
        except (FileNotFoundError, ValueError):
            return None
        return payload if isinstance(payload, dict) else None

    # -- set aside and remove ------------------------------------------------------------------

    def is_overdue(self, entry: Entry, now: float | None = None) -> bool:
        """Unreadable for longer than the grace period (so broken, not in flight)."""
        try:
            age = (now if now is not None else time.time()) - entry.path.stat().st_mtime
        except FileNotFoundError:
            return False
        return age > UNREADABLE_GRACE_S

    def set_aside(self, entry: Entry, reason: str) -> None:
        """Move a broken entry out of every listing, keeping it for a person to look at."""
        self.corrupt_dir.mkdir(parents=True, exist_ok=True)
        target = self.corrupt_dir / f"{entry.path.parent.name}-{entry.path.name}"
        with contextlib.suppress(FileNotFoundError):
            os.replace(entry.path, target)
            logger.error("staged %s set aside as unreadable: %s", entry.path.name, reason)

    @staticmethod
    def remove(entries: Iterable[Entry]) -> None:
        """Remove loaded entries, oldest first: a crash part-way leaves only newer versions."""
        for entry in sorted(entries, key=lambda e: e.stamp):
            with contextlib.suppress(FileNotFoundError):
                entry.path.unlink()

    def sweep_temps(self, max_age_s: float = STALE_TEMP_S) -> int:
        """Delete temp files a killed writer left in tmp/, and non-entries (round 1's `.tmp-*`
        temp names) in the entry folders."""
        now = time.time()
        removed = 0
        folders = [self.tmp_dir, *(self.folder(kind) for kind in KINDS)]
        for folder in folders:
            with contextlib.suppress(FileNotFoundError):
                for name in os.listdir(folder):
                    is_entry = not name.startswith(".") and name.endswith(SUFFIX)
                    if folder != self.tmp_dir and is_entry:
                        continue
                    path = folder / name
                    with contextlib.suppress(FileNotFoundError):
                        if now - path.stat().st_mtime > max_age_s:
                            path.unlink()
                            removed += 1
        return removed


def write_atomically(target: Path, data: bytes, tmp_dir: Path, prefix: str = ".tmp-") -> None:
    """Temp file in `tmp_dir` (same filesystem), fsync, rename: readers of `target` see the old
    file or the whole new one. Temp names end in `.part`, which no listing matches."""
    tmp_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=tmp_dir, prefix=prefix, suffix=".part")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def latest_per_key(entries: Iterable[Entry]) -> dict[str, Entry]:
    """The newest version of each key (entries of one kind)."""
    latest: dict[str, Entry] = {}
    for entry in entries:
        if entry.key not in latest or entry.stamp > latest[entry.key].stamp:
            latest[entry.key] = entry
    return latest


def bundle_payload(document: Document, run_id: str, stored_path: str) -> dict[str, Any]:
    assert document.pipeline is not None
    return {
        "kind": "folio.result/1",
        "run_id": run_id,
        "result_id": result_id_for(document.document_id, document.pipeline.config_hash),
        "stored_path": stored_path,
        "document": document.model_dump(mode="json", by_alias=True),
    }


def stage_bundle(workspace: Workspace, document: Document, run_id: str, stored_path: str) -> str:
    """Stage a finished document's result bundle; returns its result id."""
    payload = bundle_payload(document, run_id, stored_path)
    workspace.staging.write("results", payload["result_id"], payload)
    return str(payload["result_id"])
