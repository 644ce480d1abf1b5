"""A batch, review corrections and SQL at the same time: nothing errors, nothing is lost."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from pipelines.store.corrections import Correction, journal
from pipelines.store.loader import load_staged
from pipelines.store.query import run_user_sql
from pipelines.store.workspace import Workspace
from tests.conftest import text_image

N_DOCUMENTS = 24


def test_batch_corrections_and_sql_side_by_side(tmp_path: Path) -> None:
    inputs = tmp_path / "in"
    inputs.mkdir()
    for i in range(N_DOCUMENTS):
        text_image([f"Invoice {i:03d}", "Total due 12.50"], size=(700, 220), seed=i).save(
            inputs / f"doc{i:02d}.png"
        )
    workspace = Workspace.open(tmp_path / "ws")
    batch = subprocess.Popen(
        [sys.executable, "-m", "pipelines.cli", "run", str(inputs), "-w", str(workspace.root)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    written: list[Correction] = []
    errors: list[str] = []
    corrected: set[tuple[str, str]] = set()
    queries = 0
    while batch.poll() is None or not written:
        try:
            words = run_user_sql(
                workspace, "SELECT document_id, word_id, text FROM words ORDER BY random() LIMIT 3"
            ).to_pylist()
            queries += 1
            for word in words:
                key = (word["document_id"], word["word_id"])
                if key in corrected:
                    continue
                corrected.add(key)
                result_id = (
                    run_user_sql(
                        workspace,
                        "SELECT result_id FROM documents WHERE document_id = "
                        f"'{word['document_id']}'",
                    )
                    .column(0)[0]
                    .as_py()
                )
                written.append(
                    journal(
                        workspace,
                        Correction(
                            document_id=word["document_id"],
                            result_id=result_id,
                            target_type="word",
                            target_id=word["word_id"],
                            action="edit",
                            old_value=word["text"],
                            new_value=word["text"].upper() + "!",
                            reviewer="concurrency",
                        ),
                    )
                )
            load_staged(workspace)
        except Exception as error:  # any lock or read error is a failure of the design
            errors.append(f"{type(error).__name__}: {error}")
        time.sleep(0.05)
    output = batch.communicate()[0]
    assert batch.returncode == 0, output
    assert errors == []
    load_staged(workspace)
    stored = set(
        run_user_sql(workspace, "SELECT correction_id FROM corrections").column(0).to_pylist()
    )
    assert {c.correction_id for c in written} <= stored
    print(f"corrections written: {len(written)}, queries: {queries}")
    assert len(written) >= 3 and queries >= 3
    applied = (
        run_user_sql(
            workspace, "SELECT count(*) FROM reviewed_words WHERE corrected AND text LIKE '%!'"
        )
        .column(0)[0]
        .as_py()
    )
    assert applied == len(written)
    statuses = run_user_sql(
        workspace, "SELECT status, count(*) n FROM documents GROUP BY 1"
    ).to_pylist()
    assert statuses == [{"status": "ok", "n": N_DOCUMENTS}]
