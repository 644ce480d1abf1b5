"""The learning loop on a real workspace: forms read by the pipeline, reviewed through the
journal, `folio train`, and the next batch reading with the model put in use."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont

from pipelines.execution.batch import run_batch
from pipelines.execution.config import load_profile
from pipelines.learning.examples import form_examples
from pipelines.learning.registry import FORM_LABELLER, activate, active, versions
from pipelines.learning.train import train_form_labeller
from pipelines.store.corrections import Correction, journal
from pipelines.store.database import load_document, query
from pipelines.store.loader import load_with_retries
from pipelines.store.workspace import Workspace
from tests.forms_fixtures import FONT

pytest.importorskip("torch")


def _form(path: Path, name: str) -> Path:
    image = Image.new("RGB", (1240, 1000), "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(str(FONT), 28) if FONT.exists() else ImageFont.load_default(28)
    rows = [
        ("MEMBERSHIP APPLICATION", 380, 60),
        ("Name:", 100, 200), (name, 400, 200),
        ("Date:", 100, 280), ("12/05/2024", 400, 280),
        ("Phone:", 100, 360), ("555-0199", 400, 360),
        ("City:", 100, 440), ("Springfield", 400, 440),
        ("Signature:", 100, 600), (name.split()[0], 400, 600),
    ]  # fmt: skip
    for text, x, y in rows:
        draw.text((x, y), text, fill="black", font=font)
    image.save(path)
    return path


def test_reviews_train_a_model_the_next_batch_uses(tmp_path: Path) -> None:
    files = tmp_path / "forms"
    files.mkdir()
    paths = [_form(files / f"f{n}.png", name) for n, name in enumerate(["Jane Doe", "Ann Lee"])]
    ws = Workspace.open(tmp_path / "ws")
    config = load_profile("default")
    run_batch(paths, config, ws, workers=1)
    rows = query(ws, "SELECT document_id, result_id FROM current_results").to_pylist()
    assert len(rows) == 2
    for row in rows:
        document = load_document(ws, row["document_id"])
        assert document is not None
        title = next(e for e in document.entities if "MEMBERSHIP" in e.text)
        # the reviewer: the title is no field; then the whole document is accepted
        for action, target_type, target_id in (
            ("delete", "entity", title.id),
            ("accept", "document", document.document_id),
        ):
            journal(
                ws,
                Correction(
                    document_id=document.document_id, result_id=row["result_id"],
                    target_type=target_type, target_id=target_id, action=action,
                    page_index=0 if target_type == "entity" else None, reviewer="tester",
                ),
            )  # fmt: skip
    load_with_retries(ws)

    examples = form_examples(ws)
    assert {e.document_id for e in examples} == {r["document_id"] for r in rows}
    for page in examples:
        assert 0 in page.targets.tolist()  # the deleted title is "no label" now
        assert (page.targets != 0).sum() >= 6  # keys and values as extracted
    report = train_form_labeller(ws, min_documents=2)
    assert report.version is not None and report.documents == 2 and report.folds == 2
    activate(ws, report.version)  # whatever the gate said: the next batch must use it

    summary = run_batch(paths, config, ws, workers=1)
    assert summary.n_skipped == 0  # a new model is a new configuration: read again
    model = active(ws, FORM_LABELLER)
    assert model is not None
    # each result records which model read it, and review statistics see it as the version
    for row in rows:
        document = load_document(ws, row["document_id"])
        assert document is not None and document.pipeline is not None
        assert document.pipeline.stages[FORM_LABELLER] == f"1+model.{model.sha256[:12]}"
        assert any(e.source == FORM_LABELLER for e in document.entities)

    listing = subprocess.run(
        [sys.executable, "-m", "service.cli", "train", "-w", str(ws.root), "--list"],
        capture_output=True, text=True, check=True, env={**os.environ, "COLUMNS": "200"},
    )  # fmt: skip
    assert model.version in listing.stdout and "in use" in listing.stdout
    assert len(versions(ws, FORM_LABELLER)) == 1
