"""Bombs and tricks, one file each: zip and decompression bombs, entity expansion, headers that
claim huge images, oversized and missing PDF pages, broken, truncated and encrypted PDFs, empty
files and wrong extensions. Each is opened by ingest and run through the pipeline in a child
with a memory limit; the case says what must come of it, within what peak memory."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.fuzz import seeds
from tests.fuzz.contract import MAX_PIXELS, assert_ingest_contract, assert_pipeline_contract
from tests.fuzz.hostile import CASES, Case
from tests.fuzz.isolated import Sandbox


@pytest.fixture(scope="module")
def hostile_folder(fuzz_root: Path) -> Path:
    folder = fuzz_root / "hostile"
    (folder / "seeds").mkdir(parents=True)
    return folder


def _write(case: Case, folder: Path) -> Path:
    path = folder / case.name
    path.write_bytes(case.build(folder / "seeds"))
    return path


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_hostile_file_ends_as_the_case_says(
    case: Case, hostile_folder: Path, sandbox: Sandbox, pipeline_sandbox: Sandbox
) -> None:
    path = _write(case, hostile_folder)
    data = path.read_bytes()
    # Enough pages to reach the failing ones, never all 3000.
    outcome = sandbox.run(path, max_pages=max((*case.failing_pages, 2)) + 1)
    assert_ingest_contract(outcome, case.name)
    assert outcome.peak_rss_mib <= case.max_rss_mib, f"peak RSS {outcome.peak_rss_mib:.0f} MiB"
    if case.refused is not None:
        assert outcome.kind == "raised", f"opened: {outcome}"
        assert re.search(case.refused, outcome.error), outcome.error
    else:
        assert outcome.kind == "opened", f"{outcome.error_type}: {outcome.error}"
        assert outcome.page_count == case.pages
        first = outcome.pages[0]
        if case.size is not None:  # the input's size as it is, not the reduced render's
            assert (first.width, first.height, first.unit) == case.size
        for index, page in enumerate(outcome.pages):
            if index in case.failing_pages:
                assert re.search(case.render_refused, page.error), page
            else:
                assert page.shape is not None, page
                assert page.shape[0] * page.shape[1] <= MAX_PIXELS
    assert path.read_bytes() == data, "ingest changed its input"

    if case.in_batch:  # the per-document path: a document, failed alone with the reason
        document = pipeline_sandbox.run(path, mode="pipeline")
        assert_pipeline_contract(document, case.name)
        assert document.status == case.status, document.errors
        if case.refused is not None:
            assert [stage for stage, _, _ in document.errors] == ["ingest"]
            assert re.search(case.refused, document.errors[0][2])
    strays = {p.name for p in hostile_folder.iterdir()} - {"seeds", *(c.name for c in CASES)}
    assert not strays, f"written next to the inputs: {strays}"


@pytest.mark.skipif(not seeds.robustness_items(), reason="shared robustness set not present")
@pytest.mark.parametrize("item", seeds.robustness_items(), ids=lambda item: str(item["id"]))
def test_real_world_problem_files_end_as_their_ground_truth_says(
    item: dict[str, Any], sandbox: Sandbox
) -> None:
    expected = item["expected"]
    outcome = sandbox.run(seeds.ROBUSTNESS / item["doc"])
    assert_ingest_contract(outcome, item["id"])
    assert outcome.peak_rss_mib <= 600  # ocr_hugemono decodes to 1.2 gigapixels uncapped
    if expected.get("opens") is False or "password" in expected:
        assert outcome.kind == "raised"
        if "password" in expected:
            assert "password is required" in outcome.error
    else:
        assert outcome.kind == "opened" and outcome.page_count == expected["n_pages"]


def test_the_sandbox_notices_a_crash_and_a_hang_and_goes_on(fuzz_root: Path) -> None:
    folder = fuzz_root / "selftest"
    folder.mkdir()
    child = Sandbox(folder)
    try:
        crashed = child.run(folder, mode="abort")
        assert crashed.kind == "crashed" and "-6" in crashed.error  # SIGABRT
        assert child.run(folder, mode="hang", timeout_s=1).kind == "hung"
        (folder / "empty.pdf").write_bytes(b"")
        assert child.run(folder / "empty.pdf").kind == "raised"  # a fresh child took over
        assert child.starts == 3
    finally:
        child.close()
