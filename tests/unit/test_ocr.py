"""ocr.ppocr: models/ppocr.py pieces on synthetic arrays, and the stage on rendered text."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from extractors.document import Line, Page
from extractors.stage import LINES, PageContext, build_stage
from extractors.stages.ocr import PpOcrStage, page_readings
from models.ppocr import (
    PpOcrDetector,
    PpOcrRecognizer,
    Recognition,
    TextScale,
    char_spans,
    crop_quad,
    detection_size,
    is_wide,
    line_heights,
    map_points,
    pad_quad,
    wide_classes,
)

FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
TEXT = ["Invoice number 20451", "Total amount 99.50 EUR"]

Box = tuple[float, float, float, float]


def render(
    lines: list[str], size: tuple[int, int] = (640, 200)
) -> tuple[np.ndarray, dict[str, Box]]:
    """White page with black text; returns the image and each word's pixel box."""
    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(str(FONT), 30) if FONT.exists() else ImageFont.load_default(30)
    boxes: dict[str, Box] = {}
    for row, line in enumerate(lines):
        x, y = 30.0, 40.0 + row * 70
        for word in line.split():
            box = draw.textbbox((x, y), word, font=font)
            draw.text((x, y), word, fill="black", font=font)
            boxes[word] = tuple(float(v) for v in box)  # type: ignore[assignment]
            x = box[2] + font.getlength(" ")
    return np.asarray(image), boxes


def cer(pred: str, truth: str) -> float:
    prev = list(range(len(truth) + 1))
    for i, a in enumerate(pred, 1):
        cur = [i]
        for j, b in enumerate(truth, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a != b)))
        prev = cur
    return prev[-1] / len(truth)


def context(image: np.ndarray) -> PageContext:
    h, w = image.shape[:2]
    page = Page(id="p0", index=0, width=w, height=h, unit="px")
    return PageContext(document_id="d", page=page, render=lambda: image)


@pytest.fixture(scope="module")
def stage() -> PpOcrStage:
    return PpOcrStage()


@pytest.fixture(scope="module")
def rendered() -> tuple[np.ndarray, dict[str, Box]]:
    return render(TEXT)


def run(stage: PpOcrStage, ctx: PageContext) -> list[Line]:
    stage([ctx])
    lines: list[Line] = ctx.scratch[LINES]
    return lines


def assert_words_at(lines: list[Line], truth: dict[str, Box], w: int, h: int) -> None:
    found = {word.text: word.bbox for line in lines for word in line.words}
    for text, (x0, y0, x1, y1) in truth.items():
        assert text in found, f"{text!r} not recognised as a word; got {sorted(found)}"
        bx0, by0, bx1, by1 = found[text]
        # Near where the word was drawn: detected lines carry a margin of up to about half
        # the text height across the line (DB's unclipped boxes), much less along it.
        got = np.array([bx0 * w, by0 * h, bx1 * w, by1 * h])
        margin = 0.6 * min(x1 - x0, y1 - y0)
        assert np.abs(got - [x0, y0, x1, y1]).max() < margin + 2, (text, got, (x0, y0, x1, y1))


def test_reads_rendered_text_with_word_boxes(stage: PpOcrStage, rendered) -> None:
    image, truth = rendered
    ctx = context(image)
    lines = run(stage, ctx)
    text = "\n".join(line.text for line in lines)
    assert cer(text, "\n".join(TEXT)) < 0.05, text
    assert ctx.page.text_source == "ocr"
    assert all(line.source == "ocr.ppocr" and 0.5 <= line.confidence <= 1 for line in lines)
    assert_words_at(lines, truth, image.shape[1], image.shape[0])
    assert len({w.id for line in lines for w in line.words}) == len(truth)


def test_boxes_map_back_from_a_rotated_work_image(stage: PpOcrStage, rendered) -> None:
    image, truth = rendered
    h, w = image.shape[:2]
    ctx = context(image)
    # Work image turned clockwise (lines read top-to-bottom, as PaddleOCR expects of tall
    # crops): work pixel (x, y) is page pixel (y, h - x).
    ctx.work_image = np.ascontiguousarray(np.rot90(image, k=-1))
    ctx.to_page = np.array([[0.0, 1.0, 0.0], [-1.0, 0.0, h]])
    lines = run(stage, ctx)
    # Lines come in work-image order (here bottom line first); reading order is a later stage.
    assert cer("\n".join(sorted(line.text for line in lines)), "\n".join(sorted(TEXT))) < 0.05
    assert_words_at(lines, truth, w, h)


def sideways(image: np.ndarray, truth: dict[str, Box]) -> tuple[PageContext, dict[str, Box]]:
    """A page presented turned counter-clockwise whose work image is upright again: the
    usual result of orientation correction. Returns the context and truth in the page frame."""
    w = image.shape[1]
    ctx = context(np.ascontiguousarray(np.rot90(image)))
    ctx.work_image = image
    ctx.to_page = np.array([[0.0, 1.0, 0.0], [-1.0, 0.0, w]])  # work (x, y) -> page (y, w - x)
    turned = {t: (y0, w - x1, y1, w - x0) for t, (x0, y0, x1, y1) in truth.items()}
    return ctx, turned


def test_boxes_land_in_the_presented_frame(stage: PpOcrStage, rendered) -> None:
    ctx, truth = sideways(*rendered)
    lines = run(stage, ctx)
    assert_words_at(lines, truth, ctx.image.shape[1], ctx.image.shape[0])


def test_skips_pages_with_a_text_layer(stage: PpOcrStage, rendered) -> None:
    ctx = context(rendered[0])
    ctx.text_layer_usable = True
    stage([ctx])
    assert LINES not in ctx.scratch


def test_batch_of_pages_and_blank_page(stage: PpOcrStage, rendered) -> None:
    blank = np.full((120, 300, 3), 255, np.uint8)
    ctxs = [context(rendered[0]), context(blank), context(render(["Hello world"])[0])]
    stage(ctxs)
    assert len(ctxs[0].scratch[LINES]) == 2
    assert ctxs[1].scratch[LINES] == []
    assert [line.text for line in ctxs[2].scratch[LINES]] == ["Hello world"]


def test_options_are_validated() -> None:
    stage = build_stage("ocr.ppocr", {"det_max_side": 640, "rec_batch_size": 4})
    assert isinstance(stage, PpOcrStage) and stage.options.det_max_side == 640
    with pytest.raises(ValueError):
        build_stage("ocr.ppocr", {"det_max_side": 650})
    with pytest.raises(ValueError):
        build_stage("ocr.ppocr", {"det_max_sid": 640})


def test_detection_size_caps_long_side_in_multiples_of_32() -> None:
    assert detection_size(7016, 4961, 960) == (960, 672)
    assert detection_size(100, 200, 960) == (96, 192)  # small pages stay small...
    assert detection_size(100, 200, 960, min_side=320) == (320, 640)  # ...unless asked
    assert detection_size(100, 2000, 960, min_side=320) == (64, 960)  # never past max_side


def test_character_list_puts_blank_first_and_space_last() -> None:
    chars = PpOcrRecognizer.read_characters({"character": "a\nb\nc"})
    assert chars == ["", "a", "b", "c", " "]
    with pytest.raises(ValueError):
        PpOcrRecognizer.read_characters({})


def test_ctc_greedy_decode_collapses_repeats_but_not_across_blanks() -> None:
    recognizer = PpOcrRecognizer.__new__(PpOcrRecognizer)
    recognizer.characters = ["", "a", "b", " "]
    recognizer.wide = wide_classes(recognizer.characters)
    best = [1, 1, 0, 1, 2, 2, 0, 3, 2]  # a a _ a b b _ ' ' b -> "aab b"
    probs = np.full((len(best), 4), 0.05, np.float32)
    probs[np.arange(len(best)), best] = 0.85
    rec = recognizer.decode(probs, column_width=10.0, crop_width=90)
    assert rec.text == "aab b"
    assert rec.confidence == pytest.approx(0.85)
    assert rec.char_spans.shape == (5, 2)
    assert np.all(np.diff(rec.char_spans[:, 0]) > 0) and rec.char_spans.max() <= 90


def test_char_spans_tile_the_line() -> None:
    spans = char_spans(np.array([2, 4, 8]), column_width=10.0, crop_width=200)
    assert spans.tolist() == [[10.0, 35.0], [35.0, 65.0], [65.0, 100.0]]
    assert char_spans(np.array([], dtype=int), 10.0, 200).shape == (0, 2)


def test_crop_quad_rotates_tall_text_and_maps_back() -> None:
    image = np.zeros((300, 100, 3), np.uint8)
    quad = np.array([[20, 10], [60, 10], [60, 250], [20, 250]], np.float32)
    crop, homography = crop_quad(image, quad)
    assert crop.shape[:2] == (40, 240)  # read along the long side
    corners = np.array([[0, 0], [240, 0], [240, 40], [0, 40]], np.float64)
    back = map_points(homography, corners)
    assert {tuple(p) for p in np.round(back)} == {tuple(p) for p in quad.astype(float)}


def test_recognition_batches_shrink_for_long_lines() -> None:
    import numpy as np

    from models.ppocr import PpOcrRecognizer

    recognizer = PpOcrRecognizer.__new__(PpOcrRecognizer)  # batching needs no model
    recognizer.batch_size, recognizer.min_width, recognizer.max_width_per_crop = 4, 320, 640
    short = [np.zeros((48, 100, 3), np.uint8)] * 6  # padded to 320: four fit in a batch
    long = [np.zeros((48, 1500, 3), np.uint8)] * 3  # 1500 wide: one per batch (budget 2560)
    crops = short + long
    batches = list(recognizer._batches(crops, list(range(len(crops)))))
    assert batches == [[0, 1, 2, 3], [4, 5], [6], [7], [8]]


def test_line_heights_measure_across_the_text_whatever_the_direction() -> None:
    flat = [[0, 0], [100, 0], [100, 20], [0, 20]]
    tall = [[0, 0], [10, 0], [10, 80], [0, 80]]  # vertical text: 10 px across
    assert line_heights(np.array([flat, tall], np.float32)).tolist() == [20.0, 10.0]
    assert line_heights(np.zeros((0, 4, 2), np.float32)).shape == (0,)


def test_text_scale_puts_lines_at_the_wanted_height_within_limits() -> None:
    policy = TextScale(probe_side=960, line_height=32, max_upscale=2.0, max_pixels=4_000_000)
    ten = np.full(20, 10.0)
    # 10 px lines want 3.2x; the upscale limit stops at 2x, the pixel budget lower still.
    assert policy.scale_for(1000, 800, ten) == pytest.approx(2.0)
    assert policy.scale_for(2000, 1600, ten) == pytest.approx(np.sqrt(4_000_000 / 3_200_000))
    # 64 px lines on a page the probe did not shrink: halve it.
    assert policy.scale_for(900, 600, np.full(20, 64.0)) == pytest.approx(0.5)
    # Already about right at the probe's scale, or too few lines to tell: no second pass.
    assert policy.scale_for(900, 600, np.full(20, 30.0)) is None
    assert policy.scale_for(900, 600, np.full(2, 10.0)) is None


def text_page(size: tuple[int, int], font_px: int, rows: int = 8) -> np.ndarray:
    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(str(FONT), font_px) if FONT.exists() else ImageFont.load_default()
    for row in range(rows):
        draw.text((40, 40 + row * 3 * font_px), f"Item {row} costs 4{row}.50", "black", font)
    return np.asarray(image)


def detection_sizes(detector: PpOcrDetector, image: np.ndarray) -> list[tuple[int, int]]:
    """The input sizes of each detector pass on `image`."""
    sizes: list[tuple[int, int]] = []
    detect_at = detector.detect_at

    def spy(img: np.ndarray, size: tuple[int, int]):  # type: ignore[no-untyped-def]
        sizes.append(size)
        return detect_at(img, size)

    detector.detect_at = spy  # type: ignore[method-assign]
    detector(image)
    return sizes


def test_detector_resolution_follows_the_text_size() -> None:
    detector = PpOcrDetector(text_scale=TextScale(line_height=32, max_pixels=4_000_000))
    # Big print on a big page: the probe (960 px) sees right-sized lines and is kept.
    assert detection_sizes(detector, text_page((1000, 1500), 40)) == [(960, 640)]
    # Small print on a tall page: a second pass at the scale that makes the lines the probe
    # measured 32 px tall, which finds every line again.
    tall = text_page((700, 2400), 16)
    probe, second = detection_sizes(detector, tall)
    assert probe == (960, 288) and second[0] > 1.5 * probe[0]
    measured = np.median(line_heights(detector.detect_at(tall, probe).quads))
    assert second[0] / tall.shape[0] == pytest.approx(32 / measured, rel=0.05)
    assert len(detector.detect_at(tall, second)) == 8


def test_pad_quad_grows_every_side_by_a_share_of_the_height() -> None:
    quad = np.array([[10, 20], [110, 20], [110, 40], [10, 40]], np.float32)
    padded = pad_quad(quad, 0.25)  # 20 px tall: 5 px more on each side
    assert padded.tolist() == [[5, 15], [115, 15], [115, 45], [5, 45]]
    assert np.array_equal(pad_quad(quad, 0.0), quad)


def test_wide_characters_are_east_asian_and_full_width_forms() -> None:
    assert [is_wide(c) for c in "二：口Aa:=é"] == [
        True,
        True,
        True,
        False,
        False,
        False,
        False,
        False,
    ]
    assert wide_classes(["", "a", "中", "："]).tolist() == [False, False, True, True]


def reading(text: str, narrow: str | None = None) -> Recognition:
    empty = np.zeros(0, np.float32)
    alt = None if narrow is None else reading(narrow)
    return Recognition(text, 0.9, empty, np.zeros((0, 2), np.float32), alt)


def test_decode_offers_a_reading_without_wide_characters() -> None:
    recognizer = PpOcrRecognizer.__new__(PpOcrRecognizer)
    recognizer.characters = ["", "N", "o", ":", "：", " "]
    recognizer.wide = wide_classes(recognizer.characters)
    probs = np.full((3, 6), 0.01, np.float32)
    probs[0, 1], probs[1, 2] = 0.9, 0.9
    probs[2, 4], probs[2, 3] = 0.6, 0.3  # the full-width colon wins, the ASCII one is next
    rec = recognizer.decode(probs, column_width=8.0, crop_width=24)
    assert rec.text == "No：" and rec.narrow is not None and rec.narrow.text == "No:"
    assert rec.narrow.char_probs[-1] == pytest.approx(0.3)
    assert recognizer.decode(probs[:2], 8.0, 16).narrow is None  # nothing wide: no second reading


def test_latin_pages_take_the_readings_without_wide_characters() -> None:
    latin = [reading("Bill no：C1-0170778", "Bill no:C1-0170778"), reading("二", "=")]
    latin += [reading("TOTAL 15.00"), reading("海鲜楼 Restoran", "Restoran")]
    assert [r.text for r in page_readings(latin)] == [
        "Bill no:C1-0170778",
        "=",
        "TOTAL 15.00",
        "海鲜楼 Restoran",  # a run of wide letters is real text, kept
    ]
    chinese = [reading("合计：15.00", "15.00"), reading("谢谢光临 A", "A")]
    assert [r.text for r in page_readings(chinese)] == ["合计：15.00", "谢谢光临 A"]


def test_letters_inside_numbers_read_as_digits() -> None:
    from extractors.stages.ocr import digits_in_numbers

    assert digits_in_numbers("NO 29O, JALAN") == "NO 290, JALAN"  # after two digits
    assert digits_in_numbers("7/1l8B 1O5 12O.50") == "7/118B 105 120.50"  # between digits
    assert digits_in_numbers("4|2") == "412"
    # A letter beside the number is a word, not a misread digit.
    for word in ("H2O", "CO2", "3RD", "100OK", "NO.2", "2OO", "Ollie 2"):
        assert digits_in_numbers(word) == word
    assert len(digits_in_numbers("1l1O1")) == 5  # one character for one: spans still hold
