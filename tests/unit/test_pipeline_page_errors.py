"""A page the ingest layer cannot list or build fails its document alone, never the process:
the other documents of the same chunk still come out whole."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from extractors.ingest import open_document
from pipelines.execution import pipeline as pipeline_module
from pipelines.execution.config import load_profile
from pipelines.execution.pipeline import Pipeline
from tests.conftest import SAMPLES


class _BrokenPages:
    """The page sequence of a damaged document: listing raises, or one page raises."""

    def __init__(self, pages: Any, fail_listing: bool) -> None:
        self.pages, self.fail_listing = pages, fail_listing

    def __getitem__(self, index: slice) -> list[Any]:
        if self.fail_listing:
            raise KeyError("Kids")  # what pypdf-like page trees raise when /Count lies
        return [_BrokenPage(p) for p in self.pages[index]]

    def __len__(self) -> int:
        return len(self.pages)


class _BrokenPage:
    def __init__(self, page: Any) -> None:
        self.page = page

    def __getattr__(self, name: str) -> Any:
        if name == "width":
            raise ValueError("MediaBox is not a rectangle")
        return getattr(self.page, name)


@pytest.mark.parametrize("fail_listing", [True, False], ids=["page list", "one page"])
def test_a_broken_page_fails_its_document_alone(monkeypatch, fail_listing: bool) -> None:
    broken = SAMPLES / "invoice.pdf"

    def opening(path: Path, options: Any) -> Any:
        opened = open_document(path, options)
        if path == broken:
            opened.pages = _BrokenPages(opened.pages, fail_listing)
        return opened

    monkeypatch.setattr(pipeline_module, "open_document", opening)
    documents = list(
        Pipeline(load_profile("text")).process_many(
            [(SAMPLES / "form.png", None), (broken, None), (SAMPLES / "receipt.jpg", None)]
        )
    )
    assert [d.source_name for d in documents] == ["form.png", "invoice.pdf", "receipt.jpg"]
    bad = documents[1]
    assert bad.status in ("failed", "partial")
    assert bad.errors and bad.errors[0].stage == "ingest"
    assert ("KeyError" if fail_listing else "MediaBox") in bad.errors[0].message
    assert all(d.status == "ok" and d.pages[0].lines for d in (documents[0], documents[2]))
