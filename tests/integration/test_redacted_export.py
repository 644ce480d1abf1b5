"""`folio export --redact` end to end: a workspace holding a document with known PII and its
stored page image; the export's JSON and Markdown and the report carry none of the values, the
page image comes back black over the PII words, and Parquet refuses to be "redacted"."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from extractors.document import Document, PipelineInfo
from pipelines.export import export_workspace
from pipelines.store.loader import load_staged
from pipelines.store.staging import stage_bundle
from pipelines.store.workspace import Workspace
from tests.integration.test_cli import folio
from tests.unit.security.test_pii import make_document
from tests.unit.security.test_redaction import PII_BLOCKS

WIDTH, HEIGHT = 800, 1000
PII = [
    b"Jordan",
    b"Ellis",
    b"jordan.ellis@example.org",
    b"7946 0958",
    b"442079460958",
    b"NL91 ABNA",
    b"NL91ABNA0417164300",
    b"4111 1111",
    b"Baker",
    b"NW1 6XE",
    b"536-90-4399",
]


def _document() -> Document:
    doc = make_document(
        [*PII_BLOCKS, ["Invoice 2023-117 total 12.50"]], document_id="doc-" + "a" * 16
    )
    doc.sha256 = "a" * 64
    # A profile without the entities stage: the export runs the detectors itself.
    doc.pipeline = PipelineInfo(profile="text", config_hash="c" * 16, stages={"ocr.ppocr": "1"})
    return doc


def _page_image(doc: Document, path: Path) -> None:
    """The page with each word drawn in its box, so the stored file shows the PII."""
    image = Image.new("RGB", (WIDTH, HEIGHT), "white")
    draw = ImageDraw.Draw(image)
    for word in doc.pages[0].words():
        draw.text((word.bbox[0] * WIDTH, word.bbox[1] * HEIGHT), word.text, fill=(40, 40, 40))
    image.save(path)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> tuple[Workspace, Document]:
    root = tmp_path_factory.mktemp("redact")
    ws = Workspace.open(root / "ws")
    doc = _document()
    image = root / "scan.png"
    _page_image(doc, image)
    stage_bundle(ws, doc, "run-1", str(image))
    load_staged(ws)
    return ws, doc


def test_cli_redacted_export_has_no_pii(
    workspace: tuple[Workspace, Document], tmp_path: Path
) -> None:
    ws, doc = workspace
    out = tmp_path / "out"
    result = folio("export", "-w", str(ws.root), "--out", str(out), "--redact")
    assert "PII redacted:" in result.stdout and "EMAIL 1" in result.stdout
    files = sorted(p.name for p in out.iterdir())
    assert files == [
        f"{doc.document_id}-page-001.png",
        f"{doc.document_id}.json",
        "pii-report.json",
    ]
    for path in out.glob("*.json"):
        data = path.read_bytes()
        assert [v for v in PII if v.lower() in data.lower()] == [], path.name
    exported = Document.from_json((out / f"{doc.document_id}.json").read_bytes())
    assert "[EMAIL]" in exported.text and "12.50" in exported.text

    report = json.loads((out / "pii-report.json").read_text())
    assert report["schema"] == "folio.pii-report/1"
    counts = report["documents"][0]["counts"]
    assert {k: counts[k] for k in ("PERSON", "EMAIL", "PHONE", "IBAN", "CARD", "ADDRESS")} == {
        "PERSON": 1,
        "EMAIL": 1,
        "PHONE": 1,
        "IBAN": 1,
        "CARD": 1,
        "ADDRESS": 1,
    }
    assert counts["NATIONAL_ID"] == 1 and report["total"] == counts
    assert report["documents"][0]["images"] == [f"{doc.document_id}-page-001.png"]

    image = np.asarray(Image.open(out / f"{doc.document_id}-page-001.png").convert("RGB"))
    assert image.shape == (HEIGHT, WIDTH, 3)
    pii_ids = {i for f in report["documents"][0]["findings"] for i in f["word_ids"]}
    for word in doc.pages[0].words():
        x0, y0, x1, y1 = word.bbox
        box = image[int(y0 * HEIGHT) : int(y1 * HEIGHT), int(x0 * WIDTH) : int(x1 * WIDTH)]
        if word.id in pii_ids:
            assert box.max() == 0, word.text
        else:
            assert box.min() < 128 < box.max(), word.text  # text still drawn on white


def test_markdown_redacted_and_parquet_refused(
    workspace: tuple[Workspace, Document], tmp_path: Path
) -> None:
    ws, doc = workspace
    written = export_workspace(ws, tmp_path / "md", "markdown", redact=True)
    markdown = (tmp_path / "md" / f"{doc.document_id}.md").read_bytes()
    assert tmp_path / "md" / f"{doc.document_id}.md" in written
    assert [v for v in PII if v.lower() in markdown.lower()] == []
    assert b"Patient name: [PERSON] [PERSON]" in markdown
    with pytest.raises(ValueError, match="redact"):
        export_workspace(ws, tmp_path / "pq", "parquet", redact=True)
    refused = folio(
        "export",
        "-w",
        str(ws.root),
        "--out",
        str(tmp_path / "pq"),
        "-f",
        "parquet",
        "--redact",
        check=False,
    )
    assert refused.returncode != 0 and not (tmp_path / "pq").exists()
