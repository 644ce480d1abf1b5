"""Fitting the segment classifier (models/feature_classifier.py) with torch, on CPU or GPU.

The network is the classifier's: standardised features, one hidden layer, and the rules' label
added to the logits with a fixed weight (`prior`). The output layer starts at zero, so before
training the model says what the rules say, and weight decay keeps it near them where the
reviewed examples are few. Settings measured on FUNSD (pipelines/evaluation/
evaluate_learning.py; docs/learning.md): hidden 64, 60 epochs, AdamW 3e-3, weight decay 1e-2,
dropout 0.2, prior 3, and at least 400 updates (a document-type model has one row per
document).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from models.feature_classifier import FeatureClassifier


class TorchMissing(RuntimeError):
    """`folio train` needs torch, which the default install leaves out."""


@dataclass(frozen=True)
class FitSettings:
    hidden: int = 64
    epochs: int = 60
    batch_size: int = 128
    learning_rate: float = 3e-3
    weight_decay: float = 1e-2
    dropout: float = 0.2
    prior: float = 3.0
    seed: int = 0
    min_steps: int = 400  # few rows (one per document) get more epochs, not fewer updates


def import_torch() -> Any:
    try:
        import torch
    except ImportError as error:
        raise TorchMissing(
            "training needs torch: install the project with the `train` extra "
            "(CPU machines: pip install torch==2.13.0 from the CPU index first)"
        ) from error
    return torch


def fit_classifier(
    features: np.ndarray,
    targets: np.ndarray,
    labels: tuple[str, ...],
    prior_columns: tuple[int, ...],
    settings: FitSettings | None = None,
    device: str = "cpu",
    meta: dict[str, Any] | None = None,
) -> FeatureClassifier:
    """A classifier fitted to `features` -> `targets` (class indexes into `labels`) on
    `device` (cpu, cuda, cuda:N; auto: CUDA when torch sees one)."""
    torch = import_torch()
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    s = settings or FitSettings()
    torch.manual_seed(s.seed)
    generator = torch.Generator().manual_seed(s.seed)
    mean = features.mean(axis=0)
    scale = features.std(axis=0) + 1e-3  # constant columns (a cue never seen) stay finite
    x = torch.tensor((features - mean) / scale, dtype=torch.float32, device=device)
    rule = torch.tensor(features[:, list(prior_columns)], dtype=torch.float32, device=device)
    y = torch.tensor(targets, dtype=torch.int64, device=device)
    hidden = torch.nn.Linear(features.shape[1], s.hidden).to(device)
    out = torch.nn.Linear(s.hidden, len(labels)).to(device)
    torch.nn.init.zeros_(out.weight)
    torch.nn.init.zeros_(out.bias)
    dropout = torch.nn.Dropout(s.dropout)
    params = [*hidden.parameters(), *out.parameters()]
    optimiser = torch.optim.AdamW(params, lr=s.learning_rate, weight_decay=s.weight_decay)
    batches = max(1, math.ceil(len(y) / s.batch_size))
    for _ in range(max(s.epochs, math.ceil(s.min_steps / batches))):
        order = torch.randperm(len(y), generator=generator).to(device)
        for start in range(0, len(y), s.batch_size):
            batch = order[start : start + s.batch_size]
            logits = s.prior * rule[batch] + out(dropout(torch.relu(hidden(x[batch]))))
            loss = torch.nn.functional.cross_entropy(logits, y[batch])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()

    def array(t: Any) -> np.ndarray:
        return np.asarray(t.detach().cpu().numpy(), dtype=np.float32)

    return FeatureClassifier(
        w1=array(hidden.weight.T),
        b1=array(hidden.bias),
        w2=array(out.weight.T),
        b2=array(out.bias),
        mean=mean.astype(np.float32),
        scale=scale.astype(np.float32),
        labels=labels,
        prior=s.prior,
        prior_columns=prior_columns,
        meta={**(meta or {}), "settings": s.__dict__},
    )
