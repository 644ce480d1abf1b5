"""A small classifier over feature vectors (one hidden layer), run with numpy.

Trained with torch (pipelines/learning/), applied without it: a stage that uses a learned
model needs only numpy and the `.npz` file, so workers, the service and machines without torch
read the same weights. The file holds the weights and the metadata that must match the
features the stage builds (`labels`, `features_version`, `n_features`); a mismatch fails at
load with the reason, never as a wrong prediction.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from models.assets import file_sha256


class ModelFileError(ValueError):
    """A model file that cannot be used: missing, unreadable or made for other features."""


@dataclass(frozen=True)
class FeatureClassifier:
    """`probabilities(x) = softmax(prior * x[:, prior_columns] + relu(z @ w1 + b1) @ w2 + b2)`
    with `z = (x - mean) / scale`. The prior columns hold a rule-based guess, one-hot per class:
    a model whose hidden part learned nothing (w2 = 0) repeats the rules, and training with
    weight decay only moves away from them as far as the reviewed examples push it."""

    w1: np.ndarray
    b1: np.ndarray
    w2: np.ndarray
    b2: np.ndarray
    mean: np.ndarray
    scale: np.ndarray
    labels: tuple[str, ...]
    prior: float = 0.0
    prior_columns: tuple[int, ...] = ()
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def n_features(self) -> int:
        return int(self.w1.shape[0])

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        if x.shape[1] != self.n_features:
            raise ModelFileError(f"model reads {self.n_features} features, got {x.shape[1]}")
        hidden = np.maximum((x - self.mean) / self.scale @ self.w1 + self.b1, 0.0)
        logits = hidden @ self.w2 + self.b2
        if self.prior_columns:
            logits = logits + self.prior * x[:, list(self.prior_columns)]
        logits -= logits.max(axis=1, keepdims=True)
        e = np.exp(logits)
        return np.asarray(e / e.sum(axis=1, keepdims=True), dtype=np.float32)

    def save(self, path: Path) -> None:
        """Write the model (numpy's `.npz`; metadata as JSON inside), replacing atomically."""
        tmp = path.with_name(f".{path.name}.tmp")
        with tmp.open("wb") as out:
            np.savez(
                out,
                w1=self.w1,
                b1=self.b1,
                w2=self.w2,
                b2=self.b2,
                mean=self.mean,
                scale=self.scale,
                meta=np.array(
                    json.dumps(
                        {
                            **self.meta,
                            "labels": list(self.labels),
                            "prior": self.prior,
                            "prior_columns": list(self.prior_columns),
                        }
                    )
                ),
            )
        tmp.replace(path)

    @classmethod
    def load(
        cls, path: Path, labels: tuple[str, ...] | None = None, features_version: str | None = None
    ) -> FeatureClassifier:
        """Read a model; with `labels`/`features_version`, check it was made for them."""
        try:
            with np.load(path, allow_pickle=False) as data:
                meta = json.loads(str(data["meta"]))
                arrays = {k: np.asarray(data[k], dtype=np.float32) for k in _ARRAYS}
        except FileNotFoundError as error:
            raise ModelFileError(f"model file not found: {path}") from error
        except (OSError, KeyError, ValueError) as error:
            raise ModelFileError(f"not a model file: {path} ({error})") from error
        model_labels = tuple(meta.get("labels", ()))
        if labels is not None and model_labels != labels:
            raise ModelFileError(f"{path} predicts {model_labels}, this stage needs {labels}")
        version = meta.get("features_version")
        if features_version is not None and version != features_version:
            raise ModelFileError(
                f"{path} was trained on features version {version}, this stage builds "
                f"{features_version}: train it again (folio train)"
            )
        prior_columns = tuple(int(c) for c in meta.get("prior_columns", ()))
        n_in = arrays["w1"].shape[0] if arrays["w1"].ndim == 2 else 0
        shapes_ok = (
            arrays["w1"].ndim == 2
            and arrays["w2"].shape == (arrays["w1"].shape[1], len(model_labels))
            and arrays["b1"].shape == (arrays["w1"].shape[1],)
            and arrays["b2"].shape == (len(model_labels),)
            and arrays["mean"].shape == arrays["scale"].shape == (n_in,)
            and len(prior_columns) in (0, len(model_labels))
            and all(0 <= c < n_in for c in prior_columns)
        )
        if not shapes_ok:
            raise ModelFileError(f"{path}: weight shapes do not fit together")
        return cls(
            labels=model_labels,
            prior=float(meta.get("prior", 0.0)),
            prior_columns=prior_columns,
            meta=meta,
            **arrays,
        )


_ARRAYS = ("w1", "b1", "w2", "b2", "mean", "scale")


@functools.lru_cache(maxsize=8)
def load_verified(
    path: str, sha256: str | None, labels: tuple[str, ...], features_version: str
) -> FeatureClassifier:
    """A stage's model, read once per worker; a file that is missing, is not the one the
    configuration names (checksum) or was made for other features fails with the reason."""
    if not Path(path).is_file():
        raise ModelFileError(f"model file not found: {path} (folio train makes one)")
    if sha256 is not None and file_sha256(Path(path)) != sha256:
        raise ModelFileError(f"{path} is not the model this configuration names (checksum)")
    return FeatureClassifier.load(Path(path), labels=labels, features_version=features_version)


def recorded_version(version: str, path: str | None, sha256: str | None) -> str:
    """A stage's version as results record it when a learned model may take part: the code's
    version, plus `+model.<checksum>` when a model file is configured."""
    if not path:
        return version
    return f"{version}+model.{sha256[:12]}" if sha256 else f"{version}+model"
