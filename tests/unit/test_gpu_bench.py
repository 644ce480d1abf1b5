"""The GPU benchmark runs end to end (on the CPU here) and prints its table."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.execution.config import load_profile
from pipelines.gpu_bench import main, print_table, run_cell, with_batch_size

SAMPLES = Path(__file__).resolve().parents[2] / "data" / "samples"


def test_batch_size_reaches_every_model_stage_and_never_the_config_hash() -> None:
    config = load_profile("default")
    tuned = with_batch_size(config, 32)
    batches = {s.kind: s.pages_per_batch for s in tuned.build_stages()}
    assert batches["ocr.ppocr"] == batches["layout.cdla"] == 32
    assert tuned.documents_per_batch == 32
    assert tuned.config_hash() == config.config_hash()


def test_a_cell_measures_a_whole_batch(capsys: pytest.CaptureFixture[str]) -> None:
    cell = run_cell([SAMPLES / "invoice.pdf"], load_profile("text"), "born-digital", "cpu", 1, 4)
    assert cell.pages >= 1 and cell.failed == 0 and cell.pages_per_s > 0
    assert abs(sum(cell.stage_ms.values()) - 1.0) < 1e-6  # shares of the stage time
    print_table([cell])
    out = capsys.readouterr().out
    assert "born-digital" in out and "1.00" in out  # its own baseline


def test_the_command_line_runs_on_a_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "pdfs"
    folder.mkdir()
    (folder / "a.pdf").write_bytes((SAMPLES / "invoice.pdf").read_bytes())
    main(["--born-digital", str(folder), "--device", "cpu", "--workers", "1", "--batch", "2",
          "--profile", "text"])  # fmt: skip
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("born")]
    assert len(lines) == 3  # the cell as it finished, then the table: baseline and cell
