"""models/feature_classifier.py: the numpy classifier, its file, and what a bad file says."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from models.feature_classifier import FeatureClassifier, ModelFileError

LABELS = ("", "KEY", "VALUE")


def _model(prior: float = 2.0, seed: int = 0) -> FeatureClassifier:
    rng = np.random.default_rng(seed)
    return FeatureClassifier(
        w1=rng.normal(size=(5, 4)).astype(np.float32),
        b1=np.zeros(4, np.float32),
        w2=rng.normal(size=(4, 3)).astype(np.float32),
        b2=np.zeros(3, np.float32),
        mean=np.zeros(5, np.float32),
        scale=np.ones(5, np.float32),
        labels=LABELS,
        prior=prior,
        prior_columns=(0, 1, 2),
        meta={"features_version": "7"},
    )


def test_probabilities_are_the_formula() -> None:
    model = _model()
    x = np.array([[1, 0, 0, 0.5, -1], [0, 0, 1, 2, 3]], np.float32)
    hidden = np.maximum(x @ model.w1, 0)
    logits = hidden @ model.w2 + 2.0 * x[:, :3]
    expected = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    assert np.allclose(model.probabilities(x), expected, atol=1e-6)
    assert np.allclose(model.probabilities(x).sum(axis=1), 1.0)


def test_untrained_output_layer_repeats_the_prior() -> None:
    model = _model(prior=3.0)
    blank = FeatureClassifier(**{**model.__dict__, "w2": np.zeros((4, 3), np.float32)})
    x = np.eye(3, 5, dtype=np.float32)  # rows say "", KEY, VALUE in the prior columns
    assert blank.probabilities(x).argmax(axis=1).tolist() == [0, 1, 2]


def test_file_round_trip(tmp_path: Path) -> None:
    model, path = _model(), tmp_path / "m.npz"
    model.save(path)
    again = FeatureClassifier.load(path, labels=LABELS, features_version="7")
    x = np.random.default_rng(1).normal(size=(6, 5)).astype(np.float32)
    assert np.allclose(again.probabilities(x), model.probabilities(x))
    assert again.labels == LABELS and again.prior == 2.0 and again.prior_columns == (0, 1, 2)
    assert not list(tmp_path.glob(".*"))  # no temp file left beside it


def test_bad_files_fail_with_the_reason(tmp_path: Path) -> None:
    path = tmp_path / "m.npz"
    _model().save(path)
    with pytest.raises(ModelFileError, match="features version 7"):
        FeatureClassifier.load(path, features_version="8")
    with pytest.raises(ModelFileError, match="predicts"):
        FeatureClassifier.load(path, labels=("", "KEY"))
    with pytest.raises(ModelFileError, match="not found"):
        FeatureClassifier.load(tmp_path / "none.npz")
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(ModelFileError, match="not a model file"):
        FeatureClassifier.load(tmp_path / "junk.npz")
    with pytest.raises(ModelFileError, match="5 features"):
        _model().probabilities(np.zeros((1, 4), np.float32))
