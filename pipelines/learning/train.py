"""`folio train`: reviewed documents in, better models out (or the current ones kept).

For each learned part (tasks.py: the form labeller, the document-type classifier):
1. Examples from the reviewed documents (examples.py).
2. Cross-validation by document: the documents are dealt into up to five folds by a hash of
   their id (so a document is wholly in one fold and a rerun deals the same way); a candidate
   fitted on the other folds predicts each fold. Every reviewed document is held back once,
   so the comparison rests on all of them, not on the few a single split would hold back.
3. The task's score (form labels: micro F1 over KEY, VALUE and HEADER; document types:
   accuracy) of those held-back predictions, against what the reviewers left, is compared
   with the current model's (the active version, else the rules) on the same documents.
4. The model fitted on every document is stored as a new version either way (with both
   scores), and made active only when the cross-validated score is higher.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

from models.feature_classifier import FeatureClassifier, ModelFileError
from pipelines.learning.examples import Examples
from pipelines.learning.fit import FitSettings, fit_classifier
from pipelines.learning.registry import ModelVersion, activate, active, register, versions
from pipelines.learning.tasks import FORM_LABELS, TASKS, Task, label_f1
from pipelines.security import audit
from pipelines.security.principal import Principal
from pipelines.store.workspace import Workspace

FOLDS = 5
MIN_DOCUMENTS = 10  # reviewed documents of a task before a model is worth fitting


@dataclass(frozen=True)
class TrainReport:
    task: str
    documents: int
    folds: int
    rows: int
    current: str  # "rules" or the active version
    current_score: float
    candidate_score: float  # cross-validated: each document predicted by a model not fitted on it
    version: ModelVersion | None  # the model fitted on every document (None: too few)
    promoted: bool
    reason: str


def _hash(document_id: str) -> int:
    return int(hashlib.sha256(document_id.encode()).hexdigest(), 16)


def folds(document_ids: Sequence[str], k: int = FOLDS) -> list[set[str]]:
    """The documents dealt into min(k, n) folds in the order of their hashes (sizes differ by
    at most one; the same ids always give the same folds)."""
    ordered = sorted(set(document_ids), key=_hash)
    n = min(k, len(ordered))
    return [set(ordered[i::n]) for i in range(n)] if n else []


def _stack(examples: Sequence[Examples], ids: set[str]) -> tuple[np.ndarray, ...]:
    chosen = [e for e in examples if e.document_id in ids]
    if not chosen:
        return np.zeros((0, 0), np.float32), np.zeros(0, np.int64), np.zeros(0, np.int64)
    return (
        np.concatenate([e.features for e in chosen]),
        np.concatenate([e.targets for e in chosen]),
        np.concatenate([e.rules for e in chosen]),
    )


def _predict(model: FeatureClassifier, features: np.ndarray) -> np.ndarray:
    return np.asarray(model.probabilities(features).argmax(axis=1), dtype=np.int64)


def train_task(
    workspace: Workspace,
    task: Task,
    min_documents: int = MIN_DOCUMENTS,
    settings: FitSettings | None = None,
    device: str = "cpu",
    examples: Sequence[Examples] | None = None,
) -> TrainReport:
    """The loop of the module docstring for one task over the workspace's reviews."""
    examples = list(task.examples(workspace) if examples is None else examples)
    ids = {e.document_id for e in examples}
    n_rows = sum(len(e.targets) for e in examples)
    parts = folds(sorted(ids))
    if len(ids) < min_documents or len(parts) < 2:
        reason = f"{len(ids)} reviewed {task.what}, {max(2, min_documents)} needed"
        return TrainReport(task.name, len(ids), 0, n_rows, "rules", 0.0, 0.0, None, False, reason)
    trained_at = datetime.now(UTC).isoformat()
    meta = {"features_version": task.features_version, "trained_at": trained_at}

    def fit(chosen: set[str]) -> FeatureClassifier:
        x, y, _ = _stack(examples, chosen)
        return fit_classifier(x, y, task.labels, task.prior_columns, settings, device, meta)

    held_pred, held_true, held_x = [], [], []
    for part in parts:
        x, y, _ = _stack(examples, part)
        held_pred.append(_predict(fit(ids - part), x))
        held_true.append(y)
        held_x.append(x)
    y_held = np.concatenate(held_true)
    candidate_score = task.score(np.concatenate(held_pred), y_held)
    current = active(workspace, task.name)
    current_name, current_pred = "rules", np.concatenate([_stack(examples, p)[2] for p in parts])
    if current is not None:
        try:
            model = FeatureClassifier.load(current.path, task.labels, task.features_version)
            current_name = current.version
            current_pred = np.concatenate([_predict(model, x) for x in held_x])
        except ModelFileError:
            pass  # an active model this code cannot read is measured as the rules it falls to
    current_score = task.score(current_pred, y_held)
    promoted = candidate_score > current_score
    report = {
        "trained_at": trained_at,
        "documents": len(ids),
        "folds": len(parts),
        "rows": n_rows,
        "score": task.score_name,
        "measured_against": current_name,
        "held_back_score": round(candidate_score, 4),
        "current_score": round(current_score, 4),
        "promoted": promoted,
    }
    version = register(workspace, task.name, fit(ids), report)
    if promoted:
        activate(workspace, version)
    verdict = "now active" if promoted else f"not better, {current_name} stays"
    reason = (
        f"{task.score_name} of {len(ids)} documents held back in {len(parts)} folds: "
        f"{candidate_score:.3f} vs {current_score:.3f} ({current_name}): {verdict}"
    )
    return TrainReport(task.name, len(ids), len(parts), n_rows, current_name, current_score,
                       candidate_score, version, promoted, reason)  # fmt: skip


def train_form_labeller(
    workspace: Workspace,
    min_documents: int = MIN_DOCUMENTS,
    settings: FitSettings | None = None,
    device: str = "cpu",
    examples: Sequence[Examples] | None = None,
) -> TrainReport:
    return train_task(workspace, FORM_LABELS, min_documents, settings, device, examples)


def train_as(
    workspace: Workspace,
    actor: Principal,
    min_documents: int = MIN_DOCUMENTS,
    device: str = "cpu",
    tasks: Sequence[Task] = TASKS,
) -> list[TrainReport]:
    """Every task's loop for an admin (the CLI's user, the app's Admin page), audited."""
    actor.require("admin")
    reports = []
    for task in tasks:
        report = train_task(workspace, task, min_documents, device=device)
        if report.version is not None:
            audit.record(
                workspace, actor, "model.train", f"{report.task}:{report.version.version}",
                {"promoted": report.promoted, "documents": report.documents,
                 "held_back_score": round(report.candidate_score, 4),
                 "current_score": round(report.current_score, 4)},
            )  # fmt: skip
        reports.append(report)
    return reports


def activate_as(workspace: Workspace, actor: Principal, task: str, version: str) -> ModelVersion:
    """Put a stored version in use (a roll back, or a candidate the gate kept out), audited."""
    actor.require("admin")
    chosen = next((v for v in versions(workspace, task) if v.version == version), None)
    if chosen is None:
        raise ValueError(f"no version {version!r} of {task} in this workspace")
    activate(workspace, chosen)
    audit.record(workspace, actor, "model.activate", f"{task}:{version}")
    return chosen


__all__ = ["TASKS", "TrainReport", "label_f1", "train_as", "train_task"]
