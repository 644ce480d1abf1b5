"""A batch over a folder of hostile files, good documents among them (some with names that
try tricks): the good ones are processed, each hostile one fails alone with its reason, no
worker dies, the batch finishes, and nothing outside the workspace is touched."""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipelines.execution.batch import BatchSummary, run_batch
from pipelines.execution.config import load_profile
from pipelines.execution.executor import JobResult
from pipelines.store.database import query
from pipelines.store.workspace import Workspace
from tests.fuzz.contract import assert_readable
from tests.fuzz.hostile import CASES
from tests.unit.test_text_layer import PdfPageSpec, make_pdf, text

# Good documents whose names are the trick: the name is data, never a path to follow.
TRICKY_NAMES = (
    "invoice.pdf",
    " leading and trailing .pdf",
    "-rf --no-preserve-root.pdf",
    "ünïcødé ✓ 請求書.pdf",
    "new\nline.pdf",
    "quote'\"$(touch pwned).pdf",
    "%2e%2e%2fetc%2fpasswd.pdf",
    "back\\slash\\..\\x.pdf",
)


def _tree(root: Path, skip: Path) -> dict[str, tuple[int, str]]:
    """Every file below `root` except under `skip`: size and content hash."""
    found = {}
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if Path(folder, d) != skip]
        for name in files:
            path = Path(folder, name)
            found[str(path.relative_to(root))] = (
                path.stat().st_size,
                hashlib.sha256(path.read_bytes()).hexdigest(),
            )
    return found


@pytest.fixture()
def batch_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    cwd = tmp_path / "cwd"  # workers inherit it: a relative write would land here
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    yield tmp_path


def test_a_batch_of_hostile_files_fails_each_alone_and_finishes(batch_root: Path) -> None:
    inputs, seeds_folder = batch_root / "in", batch_root / "seeds"
    inputs.mkdir()
    seeds_folder.mkdir()
    cases = {case.name: case for case in CASES if case.in_batch}
    for case in cases.values():
        (inputs / case.name).write_bytes(case.build(seeds_folder))
    for n, name in enumerate(TRICKY_NAMES):
        (inputs / name).write_bytes(make_pdf([PdfPageSpec(text(72, 700, f"Invoice 47{n}"))]))
    workspace_root = batch_root / "ws"
    before = _tree(batch_root, workspace_root)

    results: dict[str, JobResult] = {}

    def collect(result: JobResult | None, _: BatchSummary) -> None:
        if result is not None:
            results[result.job.path.name] = result

    summary = run_batch(
        [inputs],
        load_profile("text"),
        Workspace.open(workspace_root),
        workers=1,
        command="folio run (hostile batch test)",
        on_result=collect,
    )

    assert summary.n_files == len(cases) + len(TRICKY_NAMES) and not summary.n_duplicates
    assert set(results) == set(cases) | set(TRICKY_NAMES), summary.problems
    for name in TRICKY_NAMES:
        assert results[name].status == "ok", results[name].errors
    for name, case in cases.items():
        result = results[name]
        assert result.status == case.status, f"{name}: {result.status} {result.errors}"
        for error in result.errors:
            assert_readable(error)
            assert not error.startswith("executor"), f"{name}: the worker died: {error}"
        if case.refused is not None:
            assert len(result.errors) == 1 and re.search(case.refused, result.errors[0])

    rows = query(Workspace(workspace_root), "SELECT source_name, status FROM documents")
    loaded = dict(zip(*(column.to_pylist() for column in rows.columns), strict=True))
    assert loaded == {name: result.status for name, result in results.items()}
    assert _tree(batch_root, workspace_root) == before, "files outside the workspace changed"
    assert not list((batch_root / "cwd").iterdir())
