"""The Dashboards page and its queries, on the workspace of tests/unit/test_quality_views.py.

There: run-1 (default profile, 2026-11-26) made invoice A (2 pages, 5 words, 2 under 0.8,
review reasons); run-2 (tesseract, 11-27) made receipt B (2 words, 1 under 0.8) and failed C.
ana corrected 4 elements of A's page 0 and accepted it on 11-28 (and added an entity); bo
accepted B on 11-29 without a correction. Two evaluations of sroie/dev: fields f1 0.5 (11-25)
and 0.75 (11-27).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from pipelines.store.query import run_user_sql
from pipelines.store.workspace import WORKSPACE_ENV, Workspace
from tests.app.conftest import APP, open_page
from tests.unit.test_quality_views import build_workspace
from workbench import dashboard_queries as dq

PAGE = "views/dashboards.py"
PAGE_ORDER = list(dq.QUERIES)  # the page draws the charts in the order the queries are named


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    return build_workspace(tmp_path_factory.mktemp("dash") / "ws")


def records(ws: Workspace, name: str, filters: dq.Filters | None = None) -> list[dict]:
    frame = dq.run_query(ws, name, filters or dq.Filters())
    return frame.to_dict("records")


def test_throughput_and_stage_latency_per_run(ws: Workspace) -> None:
    runs = records(ws, "throughput")
    assert [(r["run_id"], r["n_pages"], r["pages_per_s"]) for r in runs] == [
        ("run-1", 2, 0.5),
        ("run-2", 1, 0.5),
    ]
    stages = records(ws, "stage_latency", dq.Filters(runs=("run-1",)))
    assert [(r["stage"], r["total_ms"], r["ms_per_page"]) for r in stages] == [
        ("fields.invoice", 20.0, 10.0),
        ("ocr.ppocr", 800.0, 400.0),
    ]


def test_confidence_histogram_counts_every_kind(ws: Workspace) -> None:
    bins = {(r["kind"], round(r["bin_start"], 2)): r["n"] for r in records(ws, "confidence")}
    # words 0.6 0.95 0.9 0.7 0.99 (A), 0.4 0.97 (B); cells 0.5 0.6 twice; fields 0.7 0.9 0.95
    assert bins == {
        ("cells", 0.5): 2,
        ("cells", 0.6): 2,
        ("entities", 0.8): 1,
        ("fields", 0.7): 1,
        ("fields", 0.9): 1,
        ("fields", 0.95): 1,
        ("words", 0.4): 1,
        ("words", 0.6): 1,
        ("words", 0.7): 1,
        ("words", 0.9): 1,
        ("words", 0.95): 3,
    }
    only_b = records(ws, "confidence", dq.Filters(profiles=("tesseract",)))
    assert sum(r["n"] for r in only_b) == 3  # B's 2 words and its field


def test_review_need_state_and_progress(ws: Workspace) -> None:
    need = records(ws, "needs_review")
    assert [
        (r["run_id"], r["n_documents"], r["share_needs_review"], r["n_low_words"], r["n_words"])
        for r in need
    ] == [("run-1", 1, 1.0, 2, 5), ("run-2", 2, 0.0, 1, 2)]
    state = {r["state"]: r["n_documents"] for r in records(ws, "review_state")}
    assert state == {"in review": 1, "not reviewed": 1, "reviewed": 1}
    progress = records(ws, "review_progress")
    assert [(str(r["day"])[:10], r["reviewed"], r["cumulative"]) for r in progress] == [
        ("2026-11-29", 1, 1)
    ]
    people = records(ws, "reviewer_throughput")
    assert [(r["reviewer"], r["documents"], r["elements"], r["corrections"]) for r in people] == [
        ("ana", 0, 12, 5),  # 4 corrected and 1 added
        ("bo", 1, 4, 0),
    ]


def test_correction_rates_by_field_and_type(ws: Workspace) -> None:
    rates = {(r["field"], r["doc_type"]): r for r in records(ws, "correction_rates")}
    assert rates["total", "invoice"]["correction_rate"] == 1.0
    assert rates["total", "receipt"]["correction_rate"] == 0.0
    assert rates["word", "invoice"]["n_reviewed"] == 3
    assert rates["word", "invoice"]["n_corrected"] == 1
    assert rates["ORG", "invoice"]["n_added"] == 1
    # the period bounds the review time: bo's day only
    late = records(ws, "correction_rates", dq.Filters(first_day=date(2026, 11, 29)))
    assert {r["doc_type"] for r in late} == {"receipt"}


def test_evaluations_and_failures(ws: Workspace) -> None:
    evals = records(ws, "evaluations")
    assert [(r["value"], r["delta"]) for r in evals][1] == (0.75, 0.25)
    assert len(records(ws, "evaluations", dq.Filters(last_day=date(2026, 11, 26)))) == 1
    assert records(ws, "evaluations", dq.Filters(profiles=("tesseract",))) == []
    failures = records(ws, "failures")
    assert [(r["stage"], r["reason"], r["n_documents"]) for r in failures] == [
        ("ingest", "corrupt PDF", 1)
    ]
    assert records(ws, "failures", dq.Filters(runs=("run-1",))) == []


@pytest.mark.parametrize("name", sorted(dq.QUERIES))
def test_shown_sql_runs_as_user_sql_with_the_same_rows(ws: Workspace, name: str) -> None:
    filters = dq.Filters(runs=("run-2",), profiles=("tesseract", "o'brien"))
    shown = run_user_sql(ws, dq.render_sql(name, filters)).to_pandas()
    assert "$" not in dq.render_sql(name, filters).replace("'$", "")
    assert len(shown) == len(dq.run_query(ws, name, filters))


def test_filter_options(ws: Workspace) -> None:
    options = dq.filter_options(ws)
    assert options["runs"] == ["run-1", "run-2"]
    assert options["profiles"] == ["default", "tesseract"]
    assert options["days"] == [date(2026, 11, 25), date(2026, 11, 29)]


@pytest.fixture()
def app_on(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> Iterator[AppTest]:
    monkeypatch.setenv(WORKSPACE_ENV, str(ws.root))
    st.cache_data.clear()
    yield AppTest.from_file(APP, default_timeout=30)
    st.cache_data.clear()


def test_page_renders_every_chart_with_its_sql(app_on: AppTest) -> None:
    at = open_page(app_on, PAGE)
    assert at.title[0].value == "Dashboards"
    assert len(at.expander) == len(dq.QUERIES)
    shown = [c.value for c in at.code]
    assert shown == [dq.render_sql(n, dq.Filters()) for n in PAGE_ORDER]
    assert at.selectbox(key="dash_eval_metric").value == "fields f1"


def test_filters_change_what_the_page_queries(app_on: AppTest) -> None:
    at = open_page(
        app_on, PAGE, dash_runs=["run-1"], dash_period=(date(2026, 11, 26), date(2026, 11, 28))
    )
    expected = dq.Filters(("run-1",), (), date(2026, 11, 26), date(2026, 11, 28))
    assert [c.value for c in at.code] == [dq.render_sql(n, expected) for n in PAGE_ORDER]
    assert "['run-1']" in at.code[0].value
    # run-1 has no failure and nobody reviewed all of A: those charts say so
    captions = " ".join(c.value for c in at.caption)
    assert "No failed or partial documents in this selection." in captions
    assert "No document reviewed in this selection yet." in captions


def test_empty_workspace_shows_an_empty_state(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = Workspace.open(tmp_path / "empty")
    # Create the schema first: on a brand-new file the app's background loader and the page's
    # first reader would both migrate it at once (a race outside this page).
    assert dq.filter_options(empty) == {"runs": [], "profiles": [], "days": []}
    monkeypatch.setenv(WORKSPACE_ENV, str(empty.root))
    st.cache_data.clear()
    at = open_page(AppTest.from_file(APP, default_timeout=30), PAGE)
    assert "Nothing to show yet" in at.info[0].value
    assert not at.code
    st.cache_data.clear()


def test_low_words_follow_the_calibrated_threshold_of_their_stage(ws: Workspace) -> None:
    # a calibration that says OCR words are likely right only from 0.96 raw; other stages
    # (none here) would keep the review target as is
    calibrated = dq.Filters(low_by_stage=(("ocr.ppocr", 0.96), ("pdf.text", 0.5)))
    need = records(ws, "needs_review", calibrated)
    assert [(r["run_id"], r["n_low_words"]) for r in need] == [("run-1", 4), ("run-2", 1)]
    shown = run_user_sql(ws, dq.render_sql("needs_review", calibrated)).to_pandas()
    assert list(shown["n_low_words"]) == [4, 1]
