"""The learned parts of the pipeline: what each reads, predicts, and how it is scored.

A task is named after the stage that uses its model (`forms.kv`, `classify.doctype`); the
registry keeps its versions under that name and gives the active one to that stage as its
`model` / `model_sha256` options.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from extractors.stages import doctype
from extractors.stages.forms import features as form_features
from pipelines.learning.examples import Examples, doctype_examples, form_examples
from pipelines.store.workspace import Workspace


def label_f1(predicted: np.ndarray, targets: np.ndarray) -> float:
    """Micro F1 over the labels other than class 0 ("no label")."""
    tp = int(np.sum((predicted == targets) & (targets != 0)))
    n_pred, n_true = int(np.sum(predicted != 0)), int(np.sum(targets != 0))
    if n_pred == 0 or n_true == 0:
        return 1.0 if n_pred == n_true else 0.0
    precision, recall = tp / n_pred, tp / n_true
    return 0.0 if tp == 0 else 2 * precision * recall / (precision + recall)


def accuracy(predicted: np.ndarray, targets: np.ndarray) -> float:
    return float(np.mean(predicted == targets)) if len(targets) else 0.0


@dataclass(frozen=True)
class Task:
    name: str  # the stage that uses the model
    what: str  # for messages: "form documents", "documents"
    labels: tuple[str, ...]
    features_version: str
    prior_columns: tuple[int, ...]  # the rules' answer, one-hot, in the feature rows
    examples: Callable[[Workspace], list[Examples]]
    score: Callable[[np.ndarray, np.ndarray], float]
    score_name: str


FORM_LABELS = Task(
    "forms.kv", "form documents", form_features.LABELS, form_features.FEATURES_VERSION,
    form_features.RULE_COLUMNS, form_examples, label_f1, "label F1",
)  # fmt: skip
DOC_TYPES = Task(
    "classify.doctype", "documents", doctype.TYPES, doctype.FEATURES_VERSION,
    doctype.RULE_COLUMNS, doctype_examples, accuracy, "accuracy",
)  # fmt: skip
TASKS = (FORM_LABELS, DOC_TYPES)
