"""ocr.tesseract: TSV parsing always; the real binary when it is installed."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from extractors.stage import LINES, StageError
from extractors.stages.tesseract import TesseractOptions, TesseractStage, parse_tsv
from tests.unit.test_ocr import TEXT, assert_words_at, cer, context, render, sideways

HEADER = (
    "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext"
)
TSV = "\n".join(
    [
        HEADER,
        "1\t1\t0\t0\t0\t0\t0\t0\t640\t200\t-1\t",
        "4\t1\t1\t1\t1\t0\t30\t40\t300\t30\t-1\t",
        "5\t1\t1\t1\t1\t1\t30\t40\t100\t30\t96.5\tHello",
        "5\t1\t1\t1\t1\t2\t140\t40\t120\t30\t91.0\tworld",
        "5\t1\t1\t1\t2\t1\t30\t100\t80\t30\t-1\t ",
        "5\t1\t1\t1\t2\t2\t30\t100\t80\t30\t55\tagain",
    ]
)

needs_tesseract = pytest.mark.skipif(shutil.which("tesseract") is None, reason="no tesseract")


def test_parse_tsv_groups_words_into_lines() -> None:
    lines = parse_tsv(TSV, scale=0.5)
    assert [[w.text for w in line] for line in lines] == [["Hello", "world"], ["again"]]
    hello = lines[0][0]
    assert hello.box == (60.0, 80.0, 260.0, 140.0)  # scaled back to the full-size page
    assert hello.confidence == pytest.approx(0.965)
    assert parse_tsv("") == []


def test_missing_binary_is_a_readable_stage_error() -> None:
    stage = TesseractStage(TesseractOptions(binary="no-such-tesseract"))
    with pytest.raises(StageError, match="not installed"):
        stage([context(np.full((50, 50, 3), 255, np.uint8))])


@needs_tesseract
def test_reads_rendered_text_with_word_boxes() -> None:
    image, truth = render(TEXT)
    ctx = context(image)
    TesseractStage()([ctx])
    lines = ctx.scratch[LINES]
    assert cer("\n".join(line.text for line in lines), "\n".join(TEXT)) < 0.05
    assert all(line.source == "ocr.tesseract" and 0 < line.confidence <= 1 for line in lines)
    assert ctx.page.text_source == "ocr"
    assert_words_at(lines, truth, image.shape[1], image.shape[0])


@needs_tesseract
def test_boxes_land_in_the_presented_frame() -> None:
    ctx, truth = sideways(*render(TEXT))
    TesseractStage()([ctx])
    assert_words_at(ctx.scratch[LINES], truth, ctx.image.shape[1], ctx.image.shape[0])
