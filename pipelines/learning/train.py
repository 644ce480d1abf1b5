"""`folio train`: reviewed documents in, better models out (or the current ones kept).

For each learned part (tasks.py: the form labeller, the document-type classifier):
1. Examples from the reviewed documents (examples.py).
2. Documents are split by a hash of their id: one in five is held back (at least one), so a
   document is wholly on one side and a rerun splits the same way.
3. A candidate is fitted on the rest (fit.py).
4. Candidate and current model (the active version, else the rules) predict the held-back
   rows; the score is the task's (form labels: micro F1 over KEY, VALUE and HEADER; document
   types: accuracy) against what the reviewers left.
5. The candidate is stored as a new version either way (with both scores), and made active
   only when it scores higher.
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

HELD_BACK = 5
MIN_DOCUMENTS = 10  # reviewed documents of a task before a model is worth fitting


@dataclass(frozen=True)
class TrainReport:
    task: str
    documents: int
    train_documents: int
    held_back_documents: int
    train_rows: int
    held_back_rows: int
    current: str  # "rules" or the active version
    current_score: float
    candidate_score: float
    version: ModelVersion | None  # the candidate as stored (None: too few documents)
    promoted: bool
    reason: str


def held_back(document_id: str) -> bool:
    return int(hashlib.sha256(document_id.encode()).hexdigest(), 16) % HELD_BACK == 0


def split_documents(examples: Sequence[Examples]) -> tuple[set[str], set[str]]:
    """(train ids, held-back ids); never an empty side when there are two documents."""
    ids = sorted({e.document_id for e in examples})
    back = {d for d in ids if held_back(d)}
    if not back and len(ids) > 1:
        back = {ids[-1]}
    if len(back) == len(ids) and len(ids) > 1:
        back = set(ids[:-1][: max(1, len(ids) // HELD_BACK)])
    return set(ids) - back, back


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
    train_ids, back_ids = split_documents(examples)
    n_docs = len(train_ids | back_ids)
    x_train, y_train, _ = _stack(examples, train_ids)
    x_back, y_back, rules_back = _stack(examples, back_ids)
    sizes = (n_docs, len(train_ids), len(back_ids), len(y_train), len(y_back))
    if n_docs < min_documents or not len(y_train) or not len(y_back):
        reason = f"{n_docs} reviewed {task.what}, {min_documents} needed"
        return TrainReport(task.name, *sizes, "rules", 0.0, 0.0, None, False, reason)
    current = active(workspace, task.name)
    current_name, current_pred = "rules", rules_back
    if current is not None:
        try:
            model = FeatureClassifier.load(current.path, task.labels, task.features_version)
            current_name, current_pred = current.version, _predict(model, x_back)
        except ModelFileError:
            pass  # an active model this code cannot read is measured as the rules it falls to
    trained_at = datetime.now(UTC).isoformat()
    meta = {"features_version": task.features_version, "trained_at": trained_at}
    candidate = fit_classifier(
        x_train, y_train, task.labels, task.prior_columns, settings, device, meta
    )
    current_score = task.score(current_pred, y_back)
    candidate_score = task.score(_predict(candidate, x_back), y_back)
    promoted = candidate_score > current_score
    report = {
        "trained_at": trained_at,
        "documents": n_docs,
        "train_documents": len(train_ids),
        "held_back_documents": len(back_ids),
        "train_rows": len(y_train),
        "held_back_rows": len(y_back),
        "score": task.score_name,
        "measured_against": current_name,
        "held_back_score": round(candidate_score, 4),
        "current_score": round(current_score, 4),
        "promoted": promoted,
    }
    version = register(workspace, task.name, candidate, report)
    if promoted:
        activate(workspace, version)
    verdict = "now active" if promoted else f"not better, {current_name} stays"
    reason = (
        f"held-back {task.score_name} {candidate_score:.3f} vs {current_score:.3f} "
        f"({current_name}): {verdict}"
    )
    return TrainReport(
        task.name, *sizes, current_name, current_score, candidate_score, version, promoted, reason
    )


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
