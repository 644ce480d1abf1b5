"""Learning from reviews (pipelines/learning/): examples from reviewed forms, the gate that keeps
a candidate only when it beats the current labeller, the versions, and the stage using them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from extractors.document import Document
from extractors.stages.forms.features import LABELS, RULE_COLUMNS, n_features
from extractors.stages.forms.kv import FormKvOptions, FormKvStage
from models.feature_classifier import FeatureClassifier, ModelFileError, load_verified
from pipelines.execution.config import load_profile
from pipelines.learning.examples import Examples, page_examples
from pipelines.learning.registry import (
    FORM_LABELLER,
    activate,
    active,
    register,
    versions,
    with_learned_models,
)
from pipelines.learning.tasks import label_f1
from pipelines.learning.train import folds, train_form_labeller
from pipelines.store.reviewed import apply_corrections
from pipelines.store.workspace import Workspace
from tests.forms_fixtures import APPLICATION, form_document

KEY, VALUE, HEADER = (LABELS.index(label) for label in ("KEY", "VALUE", "HEADER"))


def _processed() -> Document:
    document = form_document(APPLICATION)
    FormKvStage()(document)
    return document


def _entity(document: Document, text: str) -> str:
    return next(e.id for e in document.entities if e.text == text and e.source == "forms.kv")


def test_examples_carry_the_reviewed_labels() -> None:
    document = _processed()
    latest = [
        # the reviewer says the title is a key, and "J. Doe" is no field at all
        {"target_type": "entity", "target_id": _entity(document, "APPLICATION FORM"),
         "action": "relabel", "new_value": '{"label": "KEY", "text": "APPLICATION FORM"}'},
        {"target_type": "entity", "target_id": _entity(document, "J. Doe"),
         "action": "delete", "new_value": "null"},
    ]  # fmt: skip
    reviewed = apply_corrections(document, latest, [])
    (page,) = page_examples(document, reviewed)
    assert page.features.shape == (len(page.targets), n_features())
    rules = [LABELS[i] for i in page.rules]
    targets = [LABELS[i] for i in page.targets]
    changed = [(r, t) for r, t in zip(rules, targets, strict=True) if r != t]
    assert sorted(changed) == [("HEADER", "KEY"), ("VALUE", "")]
    # the rules' label is the one-hot prior of every row
    assert (page.features[:, list(RULE_COLUMNS)].argmax(axis=1) == page.rules).all()


def test_an_entity_added_by_box_labels_the_words_under_it() -> None:
    document = _processed()
    title = next(e for e in document.entities if e.text == "APPLICATION FORM")
    latest = [{"target_type": "entity", "target_id": title.id, "action": "delete",
               "new_value": "null"}]  # fmt: skip
    added = [{"target_id": "e-review-1", "page_index": 0,
              "new_value": {"label": "VALUE", "text": "APPLICATION FORM", "bbox": title.bbox,
                            "from": None}}]  # fmt: skip
    (page,) = page_examples(document, apply_corrections(document, latest, added))
    assert LABELS[page.targets[0]] == "VALUE" and LABELS[page.rules[0]] == "HEADER"


def test_label_f1_by_hand() -> None:
    t = np.array([KEY, VALUE, 0, HEADER])
    assert label_f1(t, t) == 1.0
    assert label_f1(np.zeros(4, int), t) == 0.0
    # 2 right of 3 predicted, 3 true: P = R = 2/3
    assert label_f1(np.array([KEY, VALUE, KEY, 0]), t) == pytest.approx(2 / 3)
    assert label_f1(np.zeros(2, int), np.zeros(2, int)) == 1.0


def _examples(n_docs: int, rule_wrong: bool, seed: int = 0) -> list[Examples]:
    """Pages where a cue (column 10) decides KEY vs VALUE; the rules say VALUE for all when
    `rule_wrong`, else they are right."""
    rng = np.random.default_rng(seed)
    out = []
    for d in range(n_docs):
        x = rng.normal(size=(40, n_features())).astype(np.float32)
        cue = rng.random(40) < 0.5
        x[:, 10] = cue
        targets = np.where(cue, KEY, VALUE)
        rules = np.full(40, VALUE) if rule_wrong else targets
        x[:, list(RULE_COLUMNS)] = np.eye(len(LABELS))[rules]
        out.append(Examples(f"doc-{d}", 0, x, targets, rules))
    return out


def test_folds_hold_every_document_once() -> None:
    for n in (2, 3, 7, 30):
        ids = [f"doc-{d}" for d in range(n)]
        parts = folds(ids)
        assert len(parts) == min(5, n)
        assert set().union(*parts) == set(ids) and sum(map(len, parts)) == n
        assert max(map(len, parts)) - min(map(len, parts)) <= 1
        assert folds(list(reversed(ids))) == parts  # the order given does not matter


def test_a_better_candidate_is_promoted_and_used(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    ws = Workspace.open(tmp_path)
    report = train_form_labeller(ws, min_documents=5, examples=_examples(12, rule_wrong=True))
    assert report.current == "rules" and report.promoted
    assert report.candidate_score > report.current_score + 0.2
    model = active(ws, FORM_LABELLER)
    assert model is not None and report.version is not None
    assert model.version == report.version.version
    config = with_learned_models(load_profile("default"), ws)
    (spec,) = [s for s in config.stages if s.kind == FORM_LABELLER]
    assert spec.options == {"model": str(model.path), "model_sha256": model.sha256}
    assert config.config_hash() != load_profile("default").config_hash()
    # a second round measures against the active version, and keeps it when not better
    again = train_form_labeller(ws, min_documents=5, examples=_examples(12, rule_wrong=True))
    assert again.current == model.version
    assert len(versions(ws, FORM_LABELLER)) == 2
    if not again.promoted:
        assert active(ws, FORM_LABELLER) == model


def test_no_better_than_the_rules_is_stored_but_not_used(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    ws = Workspace.open(tmp_path)
    report = train_form_labeller(ws, min_documents=5, examples=_examples(12, rule_wrong=False))
    assert report.current_score == 1.0 and not report.promoted and report.version is not None
    assert active(ws, FORM_LABELLER) is None
    assert with_learned_models(load_profile("default"), ws) == load_profile("default")


def test_too_few_documents_train_nothing(tmp_path: Path) -> None:
    ws = Workspace.open(tmp_path)
    report = train_form_labeller(ws, min_documents=10, examples=_examples(4, rule_wrong=True))
    assert report.version is None and not report.promoted and "4 reviewed" in report.reason
    assert versions(ws, FORM_LABELLER) == []


def _all_header_model() -> FeatureClassifier:
    n, k = n_features(), len(LABELS)
    return FeatureClassifier(
        w1=np.zeros((n, 2), np.float32), b1=np.zeros(2, np.float32),
        w2=np.zeros((2, k), np.float32), b2=np.eye(k, dtype=np.float32)[HEADER] * 5,
        mean=np.zeros(n, np.float32), scale=np.ones(n, np.float32), labels=LABELS,
        meta={"features_version": "1"},
    )  # fmt: skip


def test_the_stage_relabels_with_the_active_model(tmp_path: Path) -> None:
    ws = Workspace.open(tmp_path)
    version = register(ws, FORM_LABELLER, _all_header_model(), {"documents": 0})
    activate(ws, version)
    (spec,) = [
        s for s in with_learned_models(load_profile("default"), ws).stages
        if s.kind == FORM_LABELLER
    ]  # fmt: skip
    document = form_document(APPLICATION)
    FormKvStage(FormKvOptions(**spec.options))(document)
    labels = {e.label for e in document.entities if e.source == "forms.kv"}
    assert labels == {"HEADER"}
    assert not [r for r in document.relations if r.label == "key_value"]  # no keys left
    # a file that is not the one the configuration names fails the stage (a worker reads the
    # file once: a fresh one is what sees the change)
    version.path.write_bytes(version.path.read_bytes() + b"x")
    load_verified.cache_clear()
    with pytest.raises(ModelFileError, match="checksum"):
        FormKvStage(FormKvOptions(**spec.options)).annotate(form_document(APPLICATION), None)


def test_doctype_vector_holds_the_rules_answer_and_every_cue() -> None:
    from extractors.stages.doctype import FEATURE_NAMES, TYPES, feature_vector, features

    document = form_document(APPLICATION)
    assert set(features(document)) == set(FEATURE_NAMES)
    row = feature_vector(document)
    assert row.shape == (1, 2 * len(TYPES) + len(FEATURE_NAMES))
    assert row[0, : len(TYPES)].sum() == 1.0
    assert row[0, len(TYPES) : 2 * len(TYPES)].sum() == pytest.approx(1.0, abs=1e-5)


def test_the_reviewed_document_type_is_the_target() -> None:
    from extractors.stages.doctype import TYPES, DocTypeStage
    from pipelines.learning.examples import document_example

    document = form_document(APPLICATION, doc_type=None)
    DocTypeStage()(document)
    rule = document.doc_type
    latest = [{"target_type": "document", "target_id": document.document_id,
               "action": "relabel", "new_value": '{"doc_type": "letter"}'}]  # fmt: skip
    reviewed = apply_corrections(document, latest, [])
    assert reviewed.doc_type == "letter" and reviewed.doc_type_confidence == 1.0
    example = document_example(document, reviewed)
    assert example is not None
    assert TYPES[int(example.targets[0])] == "letter" and TYPES[int(example.rules[0])] == rule
    # accepted as extracted: the target is the rules' type
    accepted = document_example(document, apply_corrections(document, [], []))
    assert accepted is not None and accepted.targets[0] == accepted.rules[0]


def test_the_doctype_stage_reads_with_its_model(tmp_path: Path) -> None:
    from extractors.stages.doctype import FEATURE_NAMES, TYPES, DocTypeOptions, DocTypeStage
    from pipelines.learning.registry import DOC_TYPER

    n, k = 2 * len(TYPES) + len(FEATURE_NAMES), len(TYPES)
    letters = FeatureClassifier(
        w1=np.zeros((n, 2), np.float32), b1=np.zeros(2, np.float32),
        w2=np.zeros((2, k), np.float32), b2=np.eye(k, dtype=np.float32)[TYPES.index("letter")] * 5,
        mean=np.zeros(n, np.float32), scale=np.ones(n, np.float32), labels=TYPES,
        meta={"features_version": "1"},
    )  # fmt: skip
    ws = Workspace.open(tmp_path)
    version = register(ws, DOC_TYPER, letters, {"documents": 0})
    activate(ws, version)
    (spec,) = [
        s for s in with_learned_models(load_profile("default"), ws).stages if s.kind == DOC_TYPER
    ]
    stage = DocTypeStage(DocTypeOptions(**spec.options))
    document = form_document(APPLICATION, doc_type=None)
    stage(document)
    assert document.doc_type == "letter" and document.doc_type_confidence > 0.9
    assert stage.recorded_version == f"1+model.{version.sha256[:12]}"
    assert load_profile("default").stage_versions()[DOC_TYPER] == "1"


def test_a_better_doctype_model_is_promoted(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    from extractors.stages.doctype import FEATURE_NAMES, TYPES
    from pipelines.learning.tasks import DOC_TYPES
    from pipelines.learning.train import train_task

    rng = np.random.default_rng(0)
    n = 2 * len(TYPES) + len(FEATURE_NAMES)
    examples = []
    for d in range(40):  # the rules say "report" for all; a cue column tells form from letter
        x = np.zeros((1, n), np.float32)
        x[0, 30] = rng.normal()  # a cue that says nothing
        target = TYPES.index("form") if d % 2 else TYPES.index("letter")
        x[0, 20] = float(d % 2)
        x[0, : len(TYPES)] = np.eye(len(TYPES))[TYPES.index("report")]
        examples.append(Examples(f"doc-{d}", None, x, np.array([target]),
                                 np.array([TYPES.index("report")])))  # fmt: skip
    ws = Workspace.open(tmp_path)
    report = train_task(ws, DOC_TYPES, min_documents=10, examples=examples)
    assert report.current_score == 0.0 and report.candidate_score == 1.0 and report.promoted
    assert "accuracy" in report.reason
