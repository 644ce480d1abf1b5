"""The contract every hostile input is judged by, and the fuzzing settings."""

from __future__ import annotations

import hashlib
import math
import os
import re
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, settings

from tests.fuzz.isolated import Outcome

INGEST_ERROR = "extractors.ingest.IngestError"
MAX_PIXELS = 25_000_000  # IngestOptions().max_pixels
# A fixed seed (derandomize) and a fixed budget per test: CI runs the same examples every time.
# FOLIO_FUZZ_SCALE=20 multiplies every budget for a longer hunt on a workstation.
SCALE = float(os.environ.get("FOLIO_FUZZ_SCALE", "1"))


def examples(count: int) -> int:
    return max(1, round(count * SCALE))


FUZZ = settings(
    derandomize=True,
    database=None,
    deadline=None,
    print_blob=False,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


class Sample:
    """Fuzzed bytes with a short repr: Hypothesis prints the falsifying example, and a repr of
    200 kB of zip is no help; `keep` saves the bytes for a rerun."""

    __slots__ = ("data",)

    def __init__(self, data: bytes) -> None:
        self.data = data

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.data).hexdigest()[:16]

    def __repr__(self) -> str:
        return f"Sample({len(self.data)} bytes, sha256 {self.digest}...)"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:  # Hypothesis's printer
        printer.text(repr(self))

    def keep(self, folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{self.digest}.bin"
        path.write_bytes(self.data)
        return path


def assert_readable(message: str) -> None:
    """A reason a user can act on: words, one line of sane length, no traceback or repr dump."""
    assert isinstance(message, str) and message.strip(), "empty reason"
    assert len(message) <= 2000, f"reason too long ({len(message)} chars)"
    assert "Traceback" not in message, message
    assert re.search(r"[A-Za-z]{3,}", message), f"no words in the reason: {message!r}"


def assert_ingest_contract(outcome: Outcome, label: str = "") -> None:
    """Opened with capped, well-formed pages, or refused with IngestError and a reason; never
    another exception type, a crash or a hang."""
    where = f"{label}: " if label else ""
    assert outcome.kind in ("opened", "raised"), f"{where}{outcome.kind}: {outcome.error}"
    if outcome.kind == "raised":
        assert outcome.error_type == INGEST_ERROR, f"{where}{outcome.error_type}\n{outcome.trace}"
        assert_readable(outcome.error)
        return
    assert outcome.page_count >= 1, f"{where}a document without pages opened"
    for page in outcome.pages:
        assert math.isfinite(page.width) and math.isfinite(page.height), f"{where}{page}"
        assert page.width >= 0 and page.height >= 0, f"{where}{page}"
        if page.error_type:
            assert page.error_type == INGEST_ERROR, f"{where}render raised:\n{page.trace}"
            assert_readable(page.error)
            continue
        assert page.shape is not None and page.dtype == "uint8", f"{where}{page}"
        height, width, channels = page.shape
        assert channels == 3 and height * width <= MAX_PIXELS, f"{where}{page.shape}"


def assert_pipeline_contract(outcome: Outcome, label: str = "") -> None:
    """The pipeline always returns a document: failed with a reason, partial, or ok."""
    where = f"{label}: " if label else ""
    assert outcome.kind == "processed", (
        f"{where}{outcome.kind} {outcome.error_type}\n{outcome.trace}"
    )
    assert outcome.status in ("ok", "partial", "failed"), f"{where}{outcome.status}"
    for _, _, message in outcome.errors:
        assert_readable(message)
    if outcome.status == "failed":
        assert outcome.errors, f"{where}failed without a reason"
    if outcome.status == "ok":
        assert not outcome.errors and outcome.page_count >= 1, f"{where}{outcome}"
