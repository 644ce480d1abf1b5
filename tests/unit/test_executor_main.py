"""Worker processes do not re-import the parent's main script (under Streamlit: the whole app)."""

from __future__ import annotations

import sys
import types
from pathlib import Path

from pipelines.execution.batch import run_batch
from pipelines.execution.config import load_profile
from pipelines.store.workspace import Workspace
from tests.conftest import SAMPLES


def test_workers_start_without_the_main_script(tmp_path: Path, monkeypatch) -> None:
    marker = tmp_path / "imported"
    script = tmp_path / "app_like_main.py"
    script.write_text(f"from pathlib import Path\nPath({str(marker)!r}).write_text(__name__)\n")
    main = types.ModuleType("__main__")
    main.__file__ = str(script)
    monkeypatch.setitem(sys.modules, "__main__", main)

    summary = run_batch(
        [SAMPLES / "invoice.pdf"], load_profile("text"), Workspace.open(tmp_path / "ws"), workers=1
    )

    assert summary.statuses["ok"] == 1
    assert not marker.exists(), f"a worker imported the main script as {marker.read_text()}"
    assert sys.modules["__main__"] is main  # put back for the parent
