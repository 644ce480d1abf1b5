"""The `folio` command end to end: real models, a real DuckDB workspace in a temp folder."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import text_image

CLI = [sys.executable, "-m", "pipelines.cli"]


def folio(*args: str, check: bool = True, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [*CLI, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "COLUMNS": "200"},
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"folio {' '.join(args)} -> {result.returncode}\n{result.stdout}\n{result.stderr}"
        )
    return result


def sql(workspace: Path, query: str) -> list[dict[str, object]]:
    return json.loads(folio("sql", query, "-w", str(workspace), "--format", "json").stdout)


@pytest.fixture(scope="module")
def processed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled samples processed once into a workspace shared by this module's tests."""
    workspace = tmp_path_factory.mktemp("ws")
    samples = Path(__file__).resolve().parents[2] / "data" / "samples"
    folio("run", str(samples), "-w", str(workspace), "--workers", "2")
    return workspace


def test_samples_are_processed_with_real_text(processed: Path) -> None:
    docs = {d["source_name"]: d for d in sql(processed, "SELECT * FROM documents")}
    assert set(docs) == {"invoice.pdf", "receipt.jpg", "form.png"}
    assert {d["status"] for d in docs.values()} == {"ok"}
    pages = {
        r["source_name"]: r["text_source"]
        for r in sql(
            processed,
            "SELECT d.source_name, p.text_source FROM pages p JOIN documents d USING (document_id)",
        )
    }
    assert pages == {"invoice.pdf": "pdf", "receipt.jpg": "ocr", "form.png": "ocr"}
    text = {
        r["source_name"]: str(r["t"]).lower()
        for r in sql(
            processed,
            "SELECT d.source_name, string_agg(l.text, ' ' ORDER BY l.page_index, l.line_no) t "
            "FROM lines l JOIN documents d USING (document_id) GROUP BY 1",
        )
    }
    assert "inv-2026-0412" in text["invoice.pdf"] and "663.35" in text["invoice.pdf"]
    assert "total" in text["receipt.jpg"] and "12.95" in text["receipt.jpg"]
    assert "equipment loan request" in text["form.png"] and "jordan ellis" in text["form.png"]


def test_rerun_does_nothing(processed: Path) -> None:
    samples = Path(__file__).resolve().parents[2] / "data" / "samples"
    before = sql(processed, "SELECT count(*) n FROM results")
    out = folio("run", str(samples), "-w", str(processed)).stdout
    assert "already done (skipped)" in out
    assert sql(processed, "SELECT count(*) n FROM results") == before
    runs = sql(processed, "SELECT n_skipped, n_ok FROM runs ORDER BY started_at DESC LIMIT 1")
    assert runs == [{"n_skipped": 3, "n_ok": 0}]


def test_export_formats(processed: Path, tmp_path: Path) -> None:
    folio("export", "-w", str(processed), "--out", str(tmp_path / "json"))
    exported = [json.loads(p.read_text()) for p in (tmp_path / "json").glob("*.json")]
    assert len(exported) == 3
    for doc in exported:
        assert doc["schema"] == "folio.document/4"
        for key in (
            "document_id",
            "source_name",
            "source_path",
            "sha256",
            "status",
            "errors",
            "doc_type",
            "pages",
            "entities",
            "fields",
            "relations",
        ):
            assert key in doc
        for page in doc["pages"]:
            assert page["unit"] in ("pt", "px") and page["text_source"] in ("pdf", "ocr")
            for block in page["blocks"]:
                assert 0 <= block["bbox"][0] <= block["bbox"][2] <= 1
    folio("export", "-w", str(processed), "--out", str(tmp_path / "md"), "--format", "markdown")
    markdown = "\n".join(p.read_text() for p in (tmp_path / "md").glob("*.md"))
    assert "INV-2026-0412" in markdown
    folio("export", "-w", str(processed), "--out", str(tmp_path / "pq"), "--format", "parquet")
    import pyarrow.parquet as pq

    assert pq.read_table(tmp_path / "pq" / "documents.parquet").num_rows == 3
    assert pq.read_table(tmp_path / "pq" / "words.parquet").num_rows > 50
    folio("export", "-w", str(processed), "--out", str(tmp_path / "graph"), "--format", "graph")
    graph = json.loads((tmp_path / "graph" / "workspace.graph.json").read_text())
    assert graph["nodes"] and {"nodes", "edges"} <= set(graph)
    assert (tmp_path / "graph" / "workspace.graphml").is_file()


def test_samples_get_their_fields(processed: Path) -> None:
    rows = sql(
        processed,
        "SELECT d.source_name, f.name, f.value FROM fields f JOIN documents d USING (document_id) "
        "WHERE f.item IS NULL",
    )
    fields = {(r["source_name"], r["name"]): r["value"] for r in rows}
    assert fields[("invoice.pdf", "invoice_number")] == "INV-2026-0412"
    assert fields[("invoice.pdf", "total")] == "663.35"
    assert fields[("invoice.pdf", "currency")] == "GBP"
    assert fields[("invoice.pdf", "vendor_name")] == "Northwind Office Supply Ltd."
    assert fields[("receipt.jpg", "total")] == "12.95"
    items = sql(processed, "SELECT count(DISTINCT item) n FROM fields WHERE item IS NOT NULL")
    assert items == [{"n": 4}]  # the invoice's four line items


def test_sql_refusals_are_clear(processed: Path) -> None:
    for statement in (
        "COPY documents TO '/tmp/x.csv'",
        "SELECT * FROM read_text('/etc/passwd')",
        "ATTACH '/tmp/o.duckdb'",
        "DROP VIEW documents",
    ):
        result = folio("sql", statement, "-w", str(processed), check=False)
        assert result.returncode == 2
        assert "refused" in result.stderr


def test_sql_as_csv_writes_list_columns_as_json(processed: Path) -> None:
    query = "SELECT source_name, errors FROM documents ORDER BY source_name"
    rows = list(
        csv.DictReader(io.StringIO(folio("sql", query, "-w", str(processed), "-f", "csv").stdout))
    )
    assert [r["source_name"] for r in rows] == [d["source_name"] for d in sql(processed, query)]
    assert all(isinstance(json.loads(r["errors"]), list) for r in rows)


def test_bad_inputs_fail_alone_with_reasons(tmp_path: Path) -> None:
    inputs = tmp_path / "in"
    inputs.mkdir()
    (inputs / "empty.pdf").write_bytes(b"")
    (inputs / "notes.pdf").write_text("this is not a pdf at all")
    (inputs / "truncated.pdf").write_bytes(b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog")
    (inputs / "archive.png").write_bytes(b"PK\x03\x04" + b"\x00" * 100)
    text_image(["Hello from a good page"]).save(inputs / "good.png")
    workspace = tmp_path / "ws"
    result = folio("run", str(inputs), "-w", str(workspace))
    assert "1 / 0 / 4" in result.stdout  # ok / partial / failed
    docs = {
        d["source_name"]: d
        for d in sql(workspace, "SELECT source_name, status, errors FROM documents")
    }
    assert docs["good.png"]["status"] == "ok"
    reasons = {
        name: json.loads(str(d["errors"]))[0]["message"].lower()
        for name, d in docs.items()
        if name != "good.png"
    }
    assert "empty" in reasons["empty.pdf"]
    assert "not a supported" in reasons["notes.pdf"] or "not a pdf" in reasons["notes.pdf"]
    assert "pdf" in reasons["truncated.pdf"]
    assert "not a supported" in reasons["archive.png"]


def test_per_document_timeout(tmp_path: Path) -> None:
    profile = tmp_path / "slow.toml"
    default = Path(__file__).resolve().parents[2] / "pipelines" / "profiles" / "default.toml"
    stalling = default.read_text().replace("stall_timeout_s = 300", "stall_timeout_s = 0.05")
    profile.write_text(stalling)
    inputs = tmp_path / "in"
    inputs.mkdir()
    text_image(["A page that takes longer than fifty milliseconds"]).save(inputs / "a.png")
    workspace = tmp_path / "ws"
    folio("run", str(inputs), "-w", str(workspace), "--profile", str(profile))
    docs = sql(workspace, "SELECT status, errors FROM documents")
    assert docs[0]["status"] == "failed"
    assert "no page finished for 0.05 s" in str(docs[0]["errors"])


def test_kill_and_rerun_processes_every_document_exactly_once(tmp_path: Path) -> None:
    inputs = tmp_path / "in"
    inputs.mkdir()
    for i in range(8):
        text_image([f"Document number {i}", "Killed batches lose nothing"], seed=i).save(
            inputs / f"doc{i}.png"
        )
    workspace = tmp_path / "ws"
    proc = subprocess.Popen(
        [*CLI, "run", str(inputs), "-w", str(workspace), "--workers", "2"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    staged = workspace / "staging" / "results"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        done = len(list(staged.glob("*.json"))) if staged.exists() else 0
        if done >= 2 or proc.poll() is not None:
            break
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)  # the batch and its workers, mid-batch
    proc.wait()
    folio("run", str(inputs), "-w", str(workspace), "--workers", "2")
    counts = sql(workspace, "SELECT document_id, count(*) n FROM results GROUP BY 1")
    assert len(counts) == 8 and {c["n"] for c in counts} == {1}
    lines = sql(workspace, "SELECT count(*) n, count(DISTINCT document_id || line_id) d FROM lines")
    assert lines[0]["n"] == lines[0]["d"] >= 16


def test_office_files_are_processed_and_unreadable_files_are_reported(tmp_path: Path) -> None:
    from tests.unit.test_office import make_docx, make_xlsx

    inputs = tmp_path / "in"
    inputs.mkdir()
    text_image(["Hello from a good page"]).save(inputs / "good.png")
    make_docx(inputs / "report.docx", picture=False)
    make_xlsx(inputs / "book.xlsx")
    (inputs / "secret.docx").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504 +
                                         "EncryptedPackage".encode("utf-16-le"))  # fmt: skip
    (inputs / "notes.txt").write_text("plain notes")
    (inputs / "todo.txt").write_text("more notes")
    (inputs / "old.doc").write_bytes(b"\xd0\xcf\x11\xe0" + b"\x00" * 100)
    workspace = tmp_path / "ws"
    result = folio("run", str(inputs), "-w", str(workspace))
    out = " ".join(result.stdout.replace("│", " ").split())  # table cells as plain words
    assert "files found 4" in out and "3 / 0 / 1" in out  # ok / partial / failed
    assert "not supported (left out) 3 (.txt 2, .doc 1)" in out
    assert "2 .txt files not a supported type (notes.txt, todo.txt)" in " ".join(
        result.stderr.split()
    )
    docs = {d["source_name"]: d for d in sql(workspace, "SELECT * FROM documents")}
    assert "password-protected" in str(docs["secret.docx"]["errors"])
    assert docs["report.docx"]["status"] == "ok" and docs["report.docx"]["n_pages"] == 2
    cells = sql(workspace, "SELECT text FROM cells ORDER BY row, col")
    assert {"Region", "Q1", "2024", "merged note"} <= {c["text"] for c in cells}
    named = folio("run", str(inputs / "notes.txt"), "-w", str(workspace))
    assert "not a supported file type (detected: text/plain)" in named.stdout.replace("\n", "")


def test_a_stalled_shared_task_blames_each_document_alone(tmp_path: Path) -> None:
    profile = tmp_path / "slow.toml"
    default = Path(__file__).resolve().parents[2] / "pipelines" / "profiles" / "default.toml"
    stalling = default.read_text().replace("stall_timeout_s = 300", "stall_timeout_s = 0.05")
    profile.write_text("documents_per_batch = 3\n" + stalling)
    inputs = tmp_path / "in"
    inputs.mkdir()
    for i in range(3):
        # 24 lines of text: OCR alone takes far longer than the 0.05 s stall limit.
        lines = [f"Page {i} line {k} takes longer than fifty milliseconds" for k in range(24)]
        text_image(lines, size=(1400, 1800), seed=i).save(inputs / f"p{i}.png")
    workspace = tmp_path / "ws"
    folio("run", str(inputs), "-w", str(workspace), "--profile", str(profile), "--workers", "1")
    docs = sql(workspace, "SELECT status, errors FROM documents")
    assert len(docs) == 3  # each retried alone after the shared task stalled, each failed alone
    assert all(d["status"] == "failed" and "no page finished" in str(d["errors"]) for d in docs), (
        docs
    )


def test_the_form_sample_gets_key_values_and_check_boxes(processed: Path) -> None:
    rows = sql(
        processed,
        "SELECT r.label, h.text AS head, t.text AS tail, t.value AS tail_value, h.value AS value "
        "FROM relations r JOIN documents d USING (document_id) "
        "JOIN entities h ON h.document_id = r.document_id AND h.entity_id = r.head "
        "JOIN entities t ON t.document_id = r.document_id AND t.entity_id = r.tail "
        "WHERE d.source_name = 'form.png'",
    )
    pairs = {(r["label"], r["head"], r["tail"]) for r in rows}
    assert ("key_value", "Name:", "Jordan Ellis") in pairs
    assert ("key_value", "Employee ID:", "E-20931") in pairs
    ticked = {r["tail"]: r["value"] for r in rows if r["label"] == "checkbox_label"}
    assert ticked == {"Teaching": "false", "Event": "true", "Other": "false"}
