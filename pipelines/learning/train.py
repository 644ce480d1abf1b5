"""`folio train`: reviewed documents in, a better form labeller out (or the current one kept).

1. Examples from every reviewed form page (form_examples.py).
2. Documents are split by a hash of their id: one in five is held back (at least one), so a
   document is wholly on one side and a rerun splits the same way.
3. A candidate is fitted on the rest (fit.py).
4. Candidate and current model (the active version, else the rules) label the held-back
   segments; the score is micro F1 over KEY, VALUE and HEADER against the reviewed labels.
5. The candidate is stored as a new version either way (with both scores), and made active
   only when it scores higher.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

from extractors.stages.forms.features import FEATURES_VERSION, LABELS, RULE_COLUMNS
from models.feature_classifier import FeatureClassifier, ModelFileError
from pipelines.learning.fit import FitSettings, fit_classifier
from pipelines.learning.form_examples import PageExamples, form_examples
from pipelines.learning.registry import (
    FORM_LABELLER,
    ModelVersion,
    activate,
    active,
    register,
    versions,
)
from pipelines.security import audit
from pipelines.security.principal import Principal
from pipelines.store.workspace import Workspace

HELD_BACK = 5
MIN_DOCUMENTS = 10  # reviewed form documents before a model is worth fitting


@dataclass(frozen=True)
class TrainReport:
    task: str
    documents: int
    train_documents: int
    held_back_documents: int
    train_segments: int
    held_back_segments: int
    current: str  # "rules" or the active version
    current_f1: float
    candidate_f1: float
    version: ModelVersion | None  # the candidate as stored (None: too few documents)
    promoted: bool
    reason: str


def held_back(document_id: str) -> bool:
    return int(hashlib.sha256(document_id.encode()).hexdigest(), 16) % HELD_BACK == 0


def split_documents(examples: Sequence[PageExamples]) -> tuple[set[str], set[str]]:
    """(train ids, held-back ids); never an empty side when there are two documents."""
    ids = sorted({e.document_id for e in examples})
    back = {d for d in ids if held_back(d)}
    if not back and len(ids) > 1:
        back = {ids[-1]}
    if len(back) == len(ids) and len(ids) > 1:
        back = set(ids[:-1][: max(1, len(ids) // HELD_BACK)])
    return set(ids) - back, back


def label_f1(predicted: np.ndarray, targets: np.ndarray) -> float:
    """Micro F1 over the form labels ("" = class 0 is no label)."""
    tp = int(np.sum((predicted == targets) & (targets != 0)))
    n_pred, n_true = int(np.sum(predicted != 0)), int(np.sum(targets != 0))
    if n_pred == 0 or n_true == 0:
        return 1.0 if n_pred == n_true else 0.0
    precision, recall = tp / n_pred, tp / n_true
    return 0.0 if tp == 0 else 2 * precision * recall / (precision + recall)


def _stack(examples: Sequence[PageExamples], ids: set[str]) -> tuple[np.ndarray, ...]:
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


def train_form_labeller(
    workspace: Workspace,
    min_documents: int = MIN_DOCUMENTS,
    settings: FitSettings | None = None,
    device: str = "cpu",
    examples: Sequence[PageExamples] | None = None,
) -> TrainReport:
    """The loop of the module docstring over the workspace's reviewed forms."""
    examples = list(form_examples(workspace) if examples is None else examples)
    train_ids, back_ids = split_documents(examples)
    n_docs = len(train_ids | back_ids)
    x_train, y_train, _ = _stack(examples, train_ids)
    x_back, y_back, rules_back = _stack(examples, back_ids)
    if n_docs < min_documents or not len(y_train) or not len(y_back):
        return TrainReport(
            FORM_LABELLER, n_docs, len(train_ids), len(back_ids), len(y_train), len(y_back),
            "rules", 0.0, 0.0, None, False,
            f"{n_docs} reviewed form documents, {min_documents} needed",
        )  # fmt: skip
    current = active(workspace, FORM_LABELLER)
    current_name, current_pred = "rules", rules_back
    if current is not None:
        try:
            model = FeatureClassifier.load(current.path, LABELS, FEATURES_VERSION)
            current_name, current_pred = current.version, _predict(model, x_back)
        except ModelFileError:
            pass  # an active model this code cannot read is measured as the rules it falls to
    trained_at = datetime.now(UTC).isoformat()
    candidate = fit_classifier(
        x_train,
        y_train,
        LABELS,
        RULE_COLUMNS,
        settings,
        device,
        meta={"features_version": FEATURES_VERSION, "trained_at": trained_at},
    )
    current_f1 = label_f1(current_pred, y_back)
    candidate_f1 = label_f1(_predict(candidate, x_back), y_back)
    promoted = candidate_f1 > current_f1
    report = {
        "trained_at": trained_at,
        "documents": n_docs,
        "train_documents": len(train_ids),
        "held_back_documents": len(back_ids),
        "train_segments": len(y_train),
        "held_back_segments": len(y_back),
        "measured_against": current_name,
        "held_back_f1": round(candidate_f1, 4),
        "current_f1": round(current_f1, 4),
        "promoted": promoted,
    }
    version = register(workspace, FORM_LABELLER, candidate, report)
    if promoted:
        activate(workspace, version)
    reason = f"held-back label F1 {candidate_f1:.3f} vs {current_f1:.3f} ({current_name}): " + (
        "now active" if promoted else f"not better, {current_name} stays"
    )
    return TrainReport(
        FORM_LABELLER, n_docs, len(train_ids), len(back_ids), len(y_train), len(y_back),
        current_name, current_f1, candidate_f1, version, promoted, reason,
    )  # fmt: skip


def train_as(
    workspace: Workspace,
    actor: Principal,
    min_documents: int = MIN_DOCUMENTS,
    device: str = "cpu",
) -> TrainReport:
    """`train_form_labeller` for an admin (the CLI's user, the app's Admin page), audited."""
    actor.require("admin")
    report = train_form_labeller(workspace, min_documents, device=device)
    if report.version is not None:
        audit.record(
            workspace, actor, "model.train", f"{report.task}:{report.version.version}",
            {"promoted": report.promoted, "documents": report.documents,
             "held_back_f1": round(report.candidate_f1, 4),
             "current_f1": round(report.current_f1, 4)},
        )  # fmt: skip
    return report


def activate_as(workspace: Workspace, actor: Principal, version: str) -> ModelVersion:
    """Put a stored version in use (a roll back, or a candidate the gate kept out), audited."""
    actor.require("admin")
    chosen = next((v for v in versions(workspace, FORM_LABELLER) if v.version == version), None)
    if chosen is None:
        raise ValueError(f"no version {version!r} of {FORM_LABELLER} in this workspace")
    activate(workspace, chosen)
    audit.record(workspace, actor, "model.activate", f"{FORM_LABELLER}:{version}")
    return chosen
