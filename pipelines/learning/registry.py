"""Learned model versions in a workspace, and the one in use.

Layout: `<workspace>/models/<task>/<version>/model.npz` with `report.json` beside it (when and
on how much it was trained, its score and the score of the model it was measured against), and
`<workspace>/models/<task>/active.json` naming the version in use. Versions are never changed
or removed by training; activating one is one atomic write. The files hold weights and counts,
no document text or ids, so erasing a document leaves them alone (its reviews no longer train
the next version).

`with_learned_models` is how a batch uses them: the configuration of every `folio run` (and
the app's and the service's batches) gets the active model's path and checksum as stage
options, so results made with one model are told from results made with another.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from models.assets import file_sha256
from models.feature_classifier import FeatureClassifier
from pipelines.execution.config import PipelineConfig
from pipelines.store.workspace import Workspace, atomic_write_json

MODELS_DIR = "models"
FORM_LABELLER = "forms.kv"  # a task is named after the stage that uses its model
DOC_TYPER = "classify.doctype"
LEARNED_STAGES = (FORM_LABELLER, DOC_TYPER)
MODEL_FILE = "model.npz"


@dataclass(frozen=True)
class ModelVersion:
    task: str
    version: str
    path: Path  # the model file
    sha256: str
    report: dict[str, Any]


def task_dir(workspace: Workspace, task: str) -> Path:
    return workspace.root / MODELS_DIR / task


def register(
    workspace: Workspace, task: str, model: FeatureClassifier, report: dict[str, Any]
) -> ModelVersion:
    """Store a new version (never replacing one): `v<n>-<UTC time>`."""
    folder = task_dir(workspace, task)
    folder.mkdir(parents=True, exist_ok=True)
    n = 1 + max((_number(p.name) for p in folder.iterdir() if p.is_dir()), default=0)
    version = f"v{n}-{datetime.now(UTC):%Y%m%dT%H%M%SZ}"
    target = folder / version
    target.mkdir()
    model.save(target / MODEL_FILE)
    sha = file_sha256(target / MODEL_FILE)
    full = {**report, "task": task, "version": version, "sha256": sha}
    atomic_write_json(target / "report.json", json.dumps(full, indent=2))
    return ModelVersion(task, version, target / MODEL_FILE, sha, full)


def _number(name: str) -> int:
    head = name.split("-", 1)[0]
    return int(head[1:]) if head.startswith("v") and head[1:].isdigit() else 0


def versions(workspace: Workspace, task: str) -> list[ModelVersion]:
    folder = task_dir(workspace, task)
    if not folder.is_dir():
        return []
    found = [_read(folder / name) for name in sorted(p.name for p in folder.iterdir())]
    return sorted((v for v in found if v is not None), key=lambda v: _number(v.version))


def _read(folder: Path) -> ModelVersion | None:
    try:
        report = json.loads((folder / "report.json").read_text())
    except (FileNotFoundError, NotADirectoryError, ValueError):
        return None
    return ModelVersion(report["task"], folder.name, folder / MODEL_FILE, report["sha256"], report)


def activate(workspace: Workspace, version: ModelVersion) -> None:
    atomic_write_json(
        task_dir(workspace, version.task) / "active.json",
        {"version": version.version, "activated_at": datetime.now(UTC).isoformat()},
    )


def active(workspace: Workspace, task: str) -> ModelVersion | None:
    """The version in use (None: the rules alone)."""
    try:
        name = json.loads((task_dir(workspace, task) / "active.json").read_text())["version"]
    except (FileNotFoundError, ValueError, KeyError, TypeError):
        return None
    return _read(task_dir(workspace, task) / str(name))


def with_learned_models(config: PipelineConfig, workspace: Workspace) -> PipelineConfig:
    """`config` with the workspace's active models as options of the stages that use them
    (stages the configuration already gives a model keep theirs)."""
    models = {task: active(workspace, task) for task in LEARNED_STAGES}
    if not any(models.values()):
        return config
    stages = []
    for spec in config.stages:
        model = models.get(spec.kind)
        if model is not None and "model" not in spec.options:
            options = {**spec.options, "model": str(model.path), "model_sha256": model.sha256}
            spec = spec.model_copy(update={"options": options})
        stages.append(spec)
    return config.model_copy(update={"stages": stages})
