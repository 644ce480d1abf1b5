"""The workspace store: staging -> DuckDB loading, idempotence, views and read-only SQL."""

from __future__ import annotations

import json
import multiprocessing as mp
from pathlib import Path

import pytest

from extractors.document import Block, Document, Line, Page, PipelineInfo, Word, document_id_for
from pipelines.store.database import query, write_connection
from pipelines.store.loader import load_staged
from pipelines.store.query import SqlRefused, run_user_sql
from pipelines.store.schema import LATEST_VERSION
from pipelines.store.staging import stage_bundle
from pipelines.store.workspace import Workspace


def make_document(sha: str, text: str = "hello world", config_hash: str = "c" * 64) -> Document:
    words = [
        Word(id=f"p0-w{i}", text=t, bbox=[0.1 + 0.2 * i, 0.1, 0.25 + 0.2 * i, 0.15], confidence=0.9)
        for i, t in enumerate(text.split())
    ]
    line = Line(id="p0-l0", text=text, bbox=[0.1, 0.1, 0.5, 0.15], confidence=0.8, words=words)
    page = Page(
        id="p0",
        index=0,
        width=600,
        height=800,
        unit="px",
        text_source="ocr",
        blocks=[Block(id="p0-b0", kind="text", bbox=[0.1, 0.1, 0.5, 0.15], lines=[line])],
    )
    return Document(
        document_id=document_id_for(sha),
        source_name=f"{sha[:4]}.png",
        source_path="/x",
        sha256=sha,
        pages=[page],
        pipeline=PipelineInfo(
            profile="default", config_hash=config_hash, started_at="2026-11-26T10:00:00+00:00"
        ),
    )


@pytest.fixture()
def workspace(tmp_path: Path) -> Workspace:
    return Workspace.open(tmp_path / "ws")


def test_staged_bundles_load_once_and_reload_idempotently(workspace: Workspace) -> None:
    docs = [make_document(f"{i:x}" * 64) for i in range(3)]
    for doc in docs:
        stage_bundle(workspace, doc, "run-1", "")
    assert load_staged(workspace).results == 3
    assert not workspace.staging.entries("results")
    # A crash after commit but before the bundle was removed: the same bundle is staged again.
    stage_bundle(workspace, docs[0], "run-1", "")
    load_staged(workspace)
    counts = query(
        workspace,
        "SELECT (SELECT count(*) FROM documents) d, "
        "(SELECT count(*) FROM words) w, (SELECT count(*) FROM lines) l",
    )
    assert counts.to_pylist() == [{"d": 3, "w": 6, "l": 3}]


def test_new_configuration_is_a_new_result_and_views_show_the_latest(workspace: Workspace) -> None:
    sha = "a" * 64
    stage_bundle(workspace, make_document(sha, "old text", "1" * 64), "run-1", "")
    newer = make_document(sha, "new text here", "2" * 64)
    assert newer.pipeline is not None
    newer.pipeline.started_at = "2026-11-26T11:00:00+00:00"
    stage_bundle(workspace, newer, "run-2", "")
    load_staged(workspace)
    assert query(workspace, "SELECT count(*) n FROM results").to_pylist() == [{"n": 2}]
    lines = query(workspace, "SELECT text FROM lines").column("text").to_pylist()
    assert lines == ["new text here"]


def test_schema_version_is_recorded(workspace: Workspace) -> None:
    with write_connection(workspace) as con:
        version = con.execute("SELECT max(version) FROM schema_version").fetchone()
    assert version == (LATEST_VERSION,)


@pytest.mark.parametrize(
    "statement",
    [
        "COPY (SELECT 1) TO '/tmp/folio-leak.csv'",
        "ATTACH '/tmp/other.duckdb' AS other",
        "SELECT * FROM read_text('/etc/passwd')",
        "SELECT * FROM read_csv('http://127.0.0.1:9/x.csv')",
        "DELETE FROM results",
        "CREATE TABLE evil (x INTEGER)",
        "SET enable_external_access = true",
        "INSTALL httpfs",
    ],
)
def test_user_sql_refuses_files_network_and_writes(workspace: Workspace, statement: str) -> None:
    with pytest.raises(SqlRefused, match="refused"):
        run_user_sql(workspace, statement)
    assert not Path("/tmp/folio-leak.csv").exists()


def test_user_sql_reads_views(workspace: Workspace) -> None:
    stage_bundle(workspace, make_document("c" * 64, "total 12.50"), "run-1", "")
    load_staged(workspace)
    table = run_user_sql(workspace, "SELECT text FROM words ORDER BY word_no")
    assert table.column("text").to_pylist() == ["total", "12.50"]
    with pytest.raises(SqlRefused, match="no_such_table"):
        run_user_sql(workspace, "SELECT * FROM no_such_table")


def _hold_write_lock(db: str, ready: mp.synchronize.Event, seconds: float) -> None:
    import time

    import duckdb

    con = duckdb.connect(db)
    ready.set()
    time.sleep(seconds)
    con.close()


def test_readers_wait_for_a_writer_instead_of_failing(workspace: Workspace) -> None:
    stage_bundle(workspace, make_document("d" * 64), "run-1", "")
    load_staged(workspace)
    ctx = mp.get_context("spawn")
    ready = ctx.Event()
    holder = ctx.Process(target=_hold_write_lock, args=(str(workspace.db_path), ready, 1.5))
    holder.start()
    assert ready.wait(30)
    rows = query(workspace, "SELECT count(*) n FROM documents").to_pylist()
    holder.join()
    assert rows == [{"n": 1}]


def test_bundle_is_the_export_contract(workspace: Workspace) -> None:
    doc = make_document("e" * 64)
    rid = stage_bundle(workspace, doc, "run-9", "/stored")
    [entry] = workspace.staging.entries("results")
    assert entry.key == rid
    bundle = json.loads(entry.path.read_text())
    assert bundle["document"]["schema"] == "folio.document/4"
    assert Document.model_validate(bundle["document"]) == doc


def test_user_sql_stops_at_the_statement_timeout(workspace: Workspace) -> None:
    with pytest.raises(SqlRefused, match="statement timeout"):
        run_user_sql(workspace, "SELECT count(*) FROM range(100000000000)", timeout_s=0.3)
    # the workspace answers the next query at once
    assert run_user_sql(workspace, "SELECT 1 AS x", timeout_s=0.3).num_rows == 1
