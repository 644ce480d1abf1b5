"""Mutation fuzzing of ingest (PDF via pdfium and its text layer, images via PIL, Office via
python-docx/openpyxl/python-pptx) and of the pipeline's per-document path.

Every damaged file goes to a sandboxed child (memory limit, time limit) and must end as the
contract says: opened with capped pages, or IngestError with a reason; the pipeline always
returns a document. Fixed seed, fixed number of examples per target.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.fuzz import seeds
from tests.fuzz.contract import (
    FUZZ,
    Sample,
    assert_ingest_contract,
    assert_pipeline_contract,
    examples,
)
from tests.fuzz.isolated import Mode, Sandbox
from tests.fuzz.mutations import (
    ALL_OPS,
    IN_PLACE_OPS,
    JPEG_TOKENS,
    PDF_TOKENS,
    PNG_TOKENS,
    TIFF_TOKENS,
    damaged_package,
    damaged_png,
    mutated,
)

OFFICE_KINDS = ("docx", "xlsx", "pptx")
# Inputs that broke the contract, kept outside pytest's rotating temp folders for a rerun.
FINDINGS = Path(tempfile.gettempdir()) / "folio-fuzz-findings"


@pytest.fixture(scope="module")
def inputs(fuzz_root: Path) -> Path:
    folder = fuzz_root / "inputs"
    folder.mkdir(exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def office_seeds(fuzz_root: Path) -> dict[str, bytes]:
    folder = fuzz_root / "office-seeds"
    folder.mkdir(exist_ok=True)
    return {kind: seeds.office_seed(kind, folder) for kind in OFFICE_KINDS}


def _check(sandbox: Sandbox, inputs: Path, sample: Sample, mode: Mode = "ingest") -> None:
    path = inputs / "input.bin"  # ingest sniffs the bytes; the name says nothing
    path.write_bytes(sample.data)
    outcome = sandbox.run(path, mode=mode)
    try:
        if mode == "ingest":
            assert_ingest_contract(outcome)
        else:
            assert_pipeline_contract(outcome)
    except AssertionError as error:
        kept = sample.keep(FINDINGS)
        raise AssertionError(f"{error}\n(the input is kept as {kept})") from None


@settings(FUZZ, max_examples=examples(300))
@given(sample=st.sampled_from((seeds.pdf_seed, seeds.fpdf_seed)).flatmap(
    lambda seed: mutated(seed(), PDF_TOKENS)).map(Sample))  # fmt: skip
def test_damaged_pdfs_open_or_fail_with_a_reason(
    sandbox: Sandbox, inputs: Path, sample: Sample
) -> None:
    _check(sandbox, inputs, sample)


@pytest.mark.skipif(not seeds.robustness_seeds(), reason="shared robustness set not present")
def test_damaged_real_world_files_open_or_fail_with_a_reason(
    sandbox: Sandbox, inputs: Path
) -> None:
    @settings(FUZZ, max_examples=examples(100))
    @given(sample=st.sampled_from(seeds.robustness_seeds()).flatmap(
        lambda seed: mutated(seed, PDF_TOKENS + TIFF_TOKENS)).map(Sample))  # fmt: skip
    def run(sample: Sample) -> None:
        _check(sandbox, inputs, sample)

    run()


@settings(FUZZ, max_examples=examples(200))
@given(sample=damaged_png(seeds.png_seed()).map(Sample))
def test_damaged_pngs_open_or_fail_with_a_reason(
    sandbox: Sandbox, inputs: Path, sample: Sample
) -> None:
    _check(sandbox, inputs, sample)


@pytest.mark.parametrize(
    ("seed", "tokens", "ops"),
    [(seeds.jpeg_seed, JPEG_TOKENS, ALL_OPS), (seeds.tiff_seed, TIFF_TOKENS, IN_PLACE_OPS)],
    ids=["jpeg", "tiff"],
)
def test_damaged_jpegs_and_tiffs_open_or_fail_with_a_reason(
    sandbox: Sandbox,
    inputs: Path,
    seed: Callable[[], bytes],
    tokens: tuple[bytes, ...],
    ops: tuple[str, ...],
) -> None:
    @settings(FUZZ, max_examples=examples(150))
    @given(sample=mutated(seed(), tokens, ops=ops).map(Sample))
    def run(sample: Sample) -> None:
        _check(sandbox, inputs, sample)

    run()


@pytest.mark.parametrize("kind", OFFICE_KINDS)
def test_damaged_office_files_open_or_fail_with_a_reason(
    sandbox: Sandbox, inputs: Path, office_seeds: dict[str, bytes], kind: str
) -> None:
    @settings(FUZZ, max_examples=examples(80))
    @given(sample=damaged_package(office_seeds[kind]).map(Sample))
    def run(sample: Sample) -> None:
        _check(sandbox, inputs, sample)

    run()


@settings(FUZZ, max_examples=examples(80))
@given(
    sample=st.sampled_from(
        (seeds.pdf_seed, seeds.fpdf_seed, seeds.png_seed, seeds.jpeg_seed, seeds.tiff_seed)
    )
    .flatmap(lambda seed: mutated(seed(), PDF_TOKENS + PNG_TOKENS))
    .map(Sample)
)
def test_the_pipeline_returns_a_document_for_any_damaged_file(
    pipeline_sandbox: Sandbox, inputs: Path, sample: Sample
) -> None:
    _check(pipeline_sandbox, inputs, sample, mode="pipeline")
