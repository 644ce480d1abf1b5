"""Overlay colours follow the workspace's calibration, like J/K and the doubtful counts."""

from __future__ import annotations

import json

from extractors.document import Block, Line, Page, Word
from pipelines.store.workspace import Workspace
from workbench import data
from workbench.overlay import Shading, page_boxes

GREEN, AMBER, RED = "#2e9d57", "#e0a100", "#d62728"


def _page(*words: tuple[str, float, str]) -> Page:
    page = Page(id="p0", index=0, width=100, height=100, unit="px")
    line = Line(
        id="p0-l0",
        bbox=[0, 0, 1, 0.1],
        text=" ".join(w[0] for w in words),
        confidence=0.99,
        source="ocr.ppocr",
        words=[
            Word(id=f"p0-w{i}", bbox=[i / 10, 0, (i + 1) / 10, 0.1], text=t, confidence=c, source=s)
            for i, (t, c, s) in enumerate(words)
        ],
    )
    page.blocks.append(Block(id="p0-b0", kind="text", bbox=[0, 0, 1, 0.1], lines=[line]))
    return page


def test_raw_confidence_is_shaded_at_the_defaults() -> None:
    shading = Shading()
    assert [shading.colour(c) for c in (0.95, 0.85, 0.5)] == [GREEN, AMBER, RED]


def test_a_calibrated_workspace_moves_the_colours_per_stage(tmp_path) -> None:
    ws = Workspace.open(tmp_path / "ws")
    # the reviews said OCR words are right only 70% of the time at 0.96 raw, 95% at 0.99
    (ws.root / "calibration.json").write_text(
        json.dumps({"maps": {"word:ocr.ppocr": {"x": [0.5, 0.96, 0.99], "y": [0.2, 0.7, 0.95]}}})
    )
    shading = data.shading(ws)
    page = _page(
        ("sure", 0.995, "ocr.ppocr"),
        ("meh", 0.975, "ocr.ppocr"),
        ("bad", 0.95, "ocr.ppocr"),
        ("pdf", 0.95, "pdf.text"),
    )
    colours = {b.id: b.colour for b in page_boxes(page, ["words"], shading=shading)}
    # 0.975 raw is ~0.83 calibrated: under 0.9 but above 0.8 - amber; 0.95 raw is red; a stage
    # without a map keeps its raw confidence (0.95 is green)
    assert colours == {"p0-w0": GREEN, "p0-w1": AMBER, "p0-w2": RED, "p0-w3": GREEN}
    raw = {b.id: b.colour for b in page_boxes(page, ["words"])}
    assert raw["p0-w1"] == GREEN and raw["p0-w2"] == GREEN  # what the overlay showed before
