"""Evaluation records: staged, loaded by the loader, compared with the previous evaluation."""

from __future__ import annotations

from pathlib import Path

from pipelines.evaluation.counts import Counts
from pipelines.evaluation.evaluate import PageScore
from pipelines.evaluation.evaluate_fields import FieldScores
from pipelines.evaluation.metrics import field_metrics, ocr_metrics
from pipelines.evaluation.record import format_changes, record_evaluation
from pipelines.execution.config import load_profile
from pipelines.store.database import query
from pipelines.store.evaluations import Metric, evaluation_record, stage_evaluation
from pipelines.store.loader import load_staged
from pipelines.store.workspace import Workspace


def test_two_evaluations_and_the_change_between_them(tmp_path: Path) -> None:
    ws = Workspace.open(tmp_path / "ws")
    config = load_profile("text")
    dataset = tmp_path / "sroie"
    first = record_evaluation(
        ws, dataset, "dev", config, [Metric("fields", "f1", "micro", 0.80, 20)], 20, 1.0, "x"
    )
    assert first == [(Metric("fields", "f1", "micro", 0.80, 20), None)]
    second = record_evaluation(
        ws, dataset, "dev", config, [Metric("fields", "f1", "micro", 0.85, 20)], 20, 1.0, "x"
    )
    assert second[0][1] == 0.80
    assert "+0.0500" in format_changes(second)
    rows = query(
        ws,
        "SELECT value, previous_value, round(delta, 4) AS delta, profile, config_hash "
        "FROM eval_history ORDER BY started_at",
    ).to_pylist()
    assert [(r["value"], r["previous_value"], r["delta"]) for r in rows] == [
        (0.80, None, None),
        (0.85, 0.80, 0.05),
    ]
    assert {r["profile"] for r in rows} == {"text"}
    assert {r["config_hash"] for r in rows} == {config.config_hash()}
    # another split or profile is another history
    other = record_evaluation(
        ws, dataset, "train", config, [Metric("fields", "f1", "micro", 0.7, 100)], 100, 1.0, "x"
    )
    assert other[0][1] is None


def test_a_record_loaded_twice_is_stored_once(tmp_path: Path) -> None:
    ws = Workspace.open(tmp_path / "ws")
    record = evaluation_record(
        "eval-1",
        {"started_at": "2026-12-01T10:00:00+00:00", "dataset": "d", "split": "dev"},
        [Metric("ocr", "cer", "mean", 0.05, 3)],
    )
    stage_evaluation(ws, record)
    stage_evaluation(ws, record)  # a crash between commit and removal stages it again
    load_staged(ws)
    counts = query(
        ws, "SELECT (SELECT count(*) FROM eval_runs) AS runs, count(*) AS metrics FROM eval_metrics"
    ).to_pylist()
    assert counts == [{"runs": 1, "metrics": 1}]
    assert ws.staging.is_empty()


def test_metrics_of_ocr_and_fields() -> None:
    ocr = ocr_metrics([PageScore("a", 0.1, "ok"), PageScore("b", 0.3, "ok")])
    assert [(m.metric, m.scope, round(m.value, 3), m.n) for m in ocr] == [
        ("cer", "mean", 0.2, 2),
        ("cer", "median", 0.2, 2),
    ]
    scores = FieldScores(n_documents=2, per_field={"total": Counts(tp=1, predicted=2, truth=2)})
    by_key = {(m.metric, m.scope): m.value for m in field_metrics(scores)}
    assert by_key[("precision", "total")] == 0.5 and by_key[("f1", "micro")] == 0.5
