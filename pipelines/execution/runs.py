"""Run records: one row of `runs` per batch (or per service day and profile), staged
append-only as it changes, so a loader can never remove a newer state than the one it read."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime

from pipelines.store.workspace import Workspace


@dataclass
class RunRecord:
    run_id: str
    started_at: datetime
    profile: str
    config_hash: str
    workers: int
    command: str
    state: str = "running"
    finished_at: datetime | None = None
    n_files: int = 0
    n_skipped: int = 0
    n_ok: int = 0
    n_partial: int = 0
    n_failed: int = 0
    n_pages: int = 0
    elapsed_s: float = 0.0
    stage_ms: dict[str, float] = field(default_factory=dict)

    def stage(self, workspace: Workspace, stamp: str) -> None:
        """Stage this state of the run; `stamp` orders it after every earlier one."""
        payload = asdict(self)
        payload["started_at"] = self.started_at.isoformat()
        payload["finished_at"] = self.finished_at.isoformat() if self.finished_at else None
        payload["elapsed_s"] = round(self.elapsed_s, 3)
        payload["pages_per_s"] = round(self.n_pages / self.elapsed_s, 3) if self.elapsed_s else 0
        payload["stage_ms"] = {k: round(v, 1) for k, v in self.stage_ms.items()}
        workspace.staging.write("runs", self.run_id, payload, stamp=stamp)
