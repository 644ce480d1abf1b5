"""Erasure end to end: real documents through `folio run`, then `folio erase`, then not one byte
of the erased document in any file under the workspace root (database, WAL, staging, stored
inputs, service files, uploads, exports), while the other documents stay whole."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pipelines.security.erasure import normalise
from pipelines.security.pseudonyms import pseudonym
from pipelines.store.corrections import Correction, journal
from pipelines.store.database import load_document, query
from pipelines.store.loader import load_staged
from pipelines.store.schema import LATEST_VERSION
from pipelines.store.staging import stage_bundle
from pipelines.store.workspace import Workspace
from tests.conftest import text_image

CLI = [sys.executable, "-m", "service.cli"]  # the console script: erase and retention live here

# Each document carries strings found nowhere else (names, references, an email, its file name).
ALPHA = ["Qzorbla Vexmund", "ZQXALPHA7731", "qzorbla.vexmund@example.org", "zqxalpha-contract"]
BETA = ["Brimwell Tusk", "ZQXBETA4410", "brimwell-invoice"]
ALPHA_LINES = [
    "Service contract",
    "Patient: Qzorbla Vexmund",
    "Reference ZQXALPHA7731",
    "Email qzorbla.vexmund@example.org",
    "Total 120.00 EUR",
]
NAMES = {
    "zqxalpha-contract.pdf": "alpha",
    "brimwell-invoice.pdf": "beta",
    "gamma-receipt.png": "gamma",
}
GAMMA_TEXT = ["Receipt ZQXGAMMA5520", "Thank you, Corvina Delph"]


def folio(*args: str, check: bool = True, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200"}
    result = subprocess.run(
        [*CLI, *args], input=stdin, capture_output=True, text=True, timeout=600, env=env
    )
    if check and result.returncode != 0:
        raise AssertionError(f"folio {args} -> {result.returncode}\n{result.stdout}{result.stderr}")
    return result


def sql(root: Path, statement: str) -> list[dict[str, object]]:
    return json.loads(folio("sql", statement, "-w", str(root), "--format", "json").stdout)


def _pdf(path: Path, lines: list[str]) -> Path:
    from fpdf import FPDF

    document = FPDF()
    document.add_page()
    document.set_font("Helvetica", size=12)
    for line in lines:
        document.cell(0, 8, line, new_x="LMARGIN", new_y="NEXT")
    document.output(str(path))
    return path


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("inputs")
    alpha = _pdf(folder / "zqxalpha-contract.pdf", ALPHA_LINES)
    beta = _pdf(
        folder / "brimwell-invoice.pdf",
        ["Invoice 4410", "Customer: Brimwell Tusk", "Reference ZQXBETA4410", "Total 99.00 EUR"],
    )
    gamma = folder / "gamma-receipt.png"
    text_image(GAMMA_TEXT).save(gamma)
    return {"alpha": alpha, "beta": beta, "gamma": gamma}


@pytest.fixture(scope="module")
def template(inputs: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The three documents processed once (files named one by one, so the run's command
    holds their names); each test works on a copy."""
    root = tmp_path_factory.mktemp("template") / "ws"
    folio("run", *(str(p) for p in inputs.values()), "-w", str(root), "--workers", "1")
    return root


@pytest.fixture()
def ws(template: Path, tmp_path: Path) -> Workspace:
    shutil.copytree(template, tmp_path / "ws")
    return Workspace.open(tmp_path / "ws")


def ids_by_name(ws: Workspace) -> dict[str, str]:
    rows = query(ws, "SELECT source_name, document_id FROM documents").to_pylist()
    return {NAMES[row["source_name"]]: row["document_id"] for row in rows}


def hits(root: Path, values: list[str]) -> list[tuple[str, str]]:
    """`grep -a -i` over every file under root: UTF-8 and UTF-16, any letter case."""
    forms = {v: [v.lower().encode(), v.lower().encode("utf-16-le")] for v in values}
    found = []
    for folder, _, names in os.walk(root):
        for name in names:
            data = (Path(folder) / name).read_bytes().lower()
            rel = str((Path(folder) / name).relative_to(root))
            found += [(rel, v) for v, needles in forms.items() if any(n in data for n in needles)]
    return found


def snapshot(root: Path) -> dict[str, str]:
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def correct(ws: Workspace, document_id: str, text: str) -> None:
    document = load_document(ws, document_id)
    assert document is not None and document.pipeline is not None
    word = next(iter(document.pages[0].words()))
    journal(
        ws,
        Correction(
            document_id=document_id,
            result_id=f"{document_id}-{document.pipeline.config_hash[:12]}",
            target_type="word",
            target_id=word.id,
            page_index=0,
            action="edit",
            old_value=word.text,
            new_value=text,
            reviewer="cli:test",
        ),
    )


WAL_WRITER = """
import os, sys, duckdb
from pipelines.store.loader import load_staged
from pipelines.store.workspace import Workspace
ws = Workspace.open(sys.argv[1])
keep = duckdb.connect(str(ws.db_path))  # the loader's connection shares this instance
keep.execute("SET checkpoint_threshold = '10GB'")
load_staged(ws)
os._exit(0)  # killed after the commit, before any checkpoint: the rows are only in the WAL
"""


def plant_everything(ws: Workspace, document_id: str, source: Path) -> None:
    """Put the document wherever the code can leave it: a correction loaded the normal way and
    one only in the WAL, exports in the workspace, service files, an app upload, a set-aside
    entry, a temp file, and an unloaded bundle and correction."""
    correct(ws, document_id, "Qzorbla Vexmund-Smith")
    load_staged(ws)
    for fmt in ("json", "markdown", "parquet", "csv"):
        from pipelines.export import export_workspace

        export_workspace(ws, ws.root / "exports" / fmt, fmt)
    correct(ws, document_id, "ZQXALPHA7731 (in the WAL only)")
    subprocess.run([sys.executable, "-c", WAL_WRITER, str(ws.root)], check=True)
    assert hits(ws.root, ["in the wal only"]) == [("folio.duckdb.wal", "in the wal only")]
    document = load_document(ws, document_id)
    assert document is not None and document.pipeline is not None
    job_pages = ws.root / "service" / "pages" / "job-1.json"
    job_pages.parent.mkdir(parents=True)
    job_pages.write_text(document.to_json())
    (ws.root / "service" / "uploads").mkdir()
    shutil.copy(source, ws.root / "service" / "uploads" / "tmpa1b2c3.pdf")
    (ws.root / "uploads").mkdir()
    shutil.copy(source, ws.root / "uploads" / "contract for review.pdf")
    (ws.staging.corrupt_dir / "results-x.json").write_text(document.to_json()[:300])
    half = f'{{"document_id": "{document_id}", "new_value": "Qzorbla Vexmund'  # killed writer
    (ws.staging.tmp_dir / "journal-half.part").write_text(half)
    document.pipeline.config_hash = "e" * 64  # the same document under another profile
    stage_bundle(ws, document, "run-unloaded", "")
    correct(ws, document_id, "zqxalpha7731 staged, not loaded")


def erase_events(ws: Workspace) -> list[tuple[str, dict[str, str]]]:
    """Erase events, staged or (once a loader ran) in the audit log."""
    events = [json.loads(e.path.read_text()) for e in ws.staging.entries("audit")]
    found = [(e["target"], e["details"]) for e in events if e["action"] == "erase"]
    table = "SELECT count(*) n FROM information_schema.tables WHERE table_name = 'audit_log'"
    if query(ws, table).to_pylist() == [{"n": 1}]:
        rows = query(ws, "SELECT target, details FROM audit_log WHERE action = 'erase'")
        found += [(r["target"], json.loads(r["details"])) for r in rows.to_pylist()]
    return found


def parquet_ids(folder: Path) -> set[str]:
    import pyarrow.parquet as pq

    tables = [pq.read_table(path) for path in folder.glob("*.parquet")]
    return {
        i for t in tables if "document_id" in t.schema.names for i in t["document_id"].to_pylist()
    }


def test_erase_leaves_no_byte_of_the_document(ws: Workspace, inputs: dict[str, Path]) -> None:
    ids = ids_by_name(ws)
    plant_everything(ws, ids["alpha"], inputs["alpha"])
    others = "SELECT document_id, count(*) n FROM lines WHERE document_id <> ? GROUP BY 1"
    before = sorted(query(ws, others, [ids["alpha"]]).to_pylist(), key=str)
    everywhere = {path.split("/")[0] for path, _ in hits(ws.root, ALPHA)}
    assert {"folio.duckdb", "folio.duckdb.wal", "exports", "service", "staging"} <= everywhere
    assert ids["alpha"] in parquet_ids(ws.root / "exports" / "parquet")

    out = folio("erase", "--document", ids["alpha"], "--yes", "-w", str(ws.root)).stdout
    assert "erased 1 document(s)" in out

    assert hits(ws.root, ALPHA) == []
    assert not (ws.root / "folio.duckdb.wal").exists()
    assert ids["alpha"] not in parquet_ids(ws.root / "exports" / "parquet")
    assert not list((ws.root / "uploads").iterdir())
    assert len(list(ws.files_dir.iterdir())) == 2
    assert sorted(query(ws, others, [ids["alpha"]]).to_pylist(), key=str) == before
    version = query(ws, "SELECT max(version) v FROM schema_version").to_pylist()
    assert version == [{"v": LATEST_VERSION}]
    assert "brimwell tusk" in str(sql(ws.root, "SELECT text FROM lines")).lower()
    exported = {p.name.split(".")[0] for p in (ws.root / "exports" / "json").iterdir()}
    assert exported == {ids["beta"], ids["gamma"]}
    (run,) = sql(ws.root, "SELECT command FROM runs")
    assert "<erased>" in str(run["command"]) and "brimwell-invoice.pdf" in str(run["command"])
    assert erase_events(ws) == [(ids["alpha"], {"subject": "", "reason": "request"})]

    # The file itself is not gone from the world: processing it again brings it back.
    folio("run", str(inputs["alpha"]), "-w", str(ws.root), "--workers", "1")
    latest = "SELECT n_ok, n_skipped FROM runs ORDER BY started_at DESC LIMIT 1"
    assert sql(ws.root, latest) == [{"n_ok": 1, "n_skipped": 0}]
    assert ids["alpha"] in {d["document_id"] for d in sql(ws.root, "SELECT * FROM documents")}


def test_erase_by_subject(ws: Workspace) -> None:
    ids = ids_by_name(ws)
    correct(ws, ids["gamma"], "brimwell   TUSK")  # a reviewer typed the name on another one
    load_staged(ws)
    out = folio("erase", "--subject", "Brimwell Tusk", "--yes", "-w", str(ws.root)).stdout
    assert "the subject appears in 2 document(s)" in out
    assert hits(ws.root, [*BETA, "ZQXGAMMA5520"]) == []
    assert [d["document_id"] for d in sql(ws.root, "SELECT * FROM documents")] == [ids["alpha"]]
    assert hits(ws.root, ALPHA)  # the other document is untouched
    subject = pseudonym(ws.root, normalise("Brimwell Tusk"), kind="s")
    assert sorted(erase_events(ws)) == sorted(
        (ids[name], {"subject": subject, "reason": "request"}) for name in ("beta", "gamma")
    )


def test_dry_run_changes_nothing(ws: Workspace, inputs: dict[str, Path]) -> None:
    ids = ids_by_name(ws)
    correct(ws, ids["alpha"], "Qzorbla staged")  # staged, not loaded: a dry run leaves it
    before = snapshot(ws.root)
    out = folio("erase", "-d", ids["alpha"], "--dry-run", "-w", str(ws.root)).stdout
    assert "would erase 1 document(s)" in out and "rows: word_rows" in out
    out = folio("erase", "--subject", "qzorbla", "--dry-run", "-w", str(ws.root)).stdout
    assert "the subject appears in 1 document(s)" in out
    assert snapshot(ws.root) == before
    refused = folio("erase", "-w", str(ws.root), check=False)
    assert refused.returncode == 2 and "--document" in refused.stderr


def test_confirmation_is_asked(ws: Workspace) -> None:
    ids = ids_by_name(ws)
    result = folio("erase", "-d", ids["beta"], "-w", str(ws.root), check=False, stdin="n\n")
    assert result.returncode == 1 and "cannot be undone" in result.stdout
    assert len(sql(ws.root, "SELECT * FROM documents")) == 3


def test_retention_runs_the_same_path(ws: Workspace) -> None:
    root = str(ws.root)
    assert "no retention policies" in folio("retention", "show", "-w", root).stdout
    folio("retention", "set", "--type", "invoice", "--days", "0", "-w", root)
    assert "invoice" in folio("retention", "show", "-w", root).stdout
    out = folio("retention", "run", "-w", root).stdout
    assert "invoice keeps 0 days" in out and "erased 1 document(s)" in out
    assert hits(ws.root, BETA) == []
    assert len(sql(ws.root, "SELECT * FROM documents")) == 2
    refused = folio(
        "retention", "set", "--type", "invoices", "--days", "3", "-w", root, check=False
    )
    assert refused.returncode == 2 and "unknown document type" in refused.stderr
