"""CDLA layout stage: real model on a generated two-column page, post-processing on hand-made
detections."""

from __future__ import annotations

import numpy as np
import pytest

from extractors.document import Line, Page
from extractors.rulings import Ruling
from extractors.stage import LINES, REGIONS, RULINGS, PageContext, Region
from extractors.stages.layout import (
    Candidate,
    CdlaLayoutStage,
    LayoutOptions,
    suppress_overlaps,
    text_coverage,
)
from extractors.stages.layout_lines import (
    column_sections,
    ink_lines,
    ink_outside_lines,
    one_column,
    paragraph_starts,
    regions_from_lines,
    split_paragraphs,
)
from models.layout_cdla import CDLA_LABELS, CdlaLayoutModel, LayoutDetections
from tests.unit.synthetic_pages import two_column_page


def _ctx(image: np.ndarray, text_layer: bool = False) -> PageContext:
    h, w = image.shape[:2]
    page = Page(id="p0", index=0, width=w, height=h, unit="px")
    return PageContext("doc-test", page, _image=image, text_layer_usable=text_layer)


def _covered(extent: list[float], regions: list[Region]) -> float:
    """Share of `extent` (relative box) covered by the union of the regions (raster estimate)."""
    grid = np.zeros((200, 200), bool)
    for r in regions:
        x0, y0, x1, y1 = (round(v * 200) for v in r.bbox)
        grid[y0:y1, x0:x1] = True
    x0, y0, x1, y1 = (round(v * 200) for v in extent)
    return float(grid[y0:y1, x0:x1].mean())


@pytest.fixture(scope="module")
def stage() -> CdlaLayoutStage:
    return CdlaLayoutStage()


def test_model_preprocess_and_batch(stage: CdlaLayoutStage) -> None:
    model: CdlaLayoutModel = stage.model
    image, _ = two_column_page()
    assert model.preprocess(image).shape == (1, 3, 800, 608)
    small = np.full((300, 200, 3), 255, np.uint8)
    results = model([image, small])
    assert len(results) == 2
    det = results[0]
    assert det.boxes.shape == (len(det), 4)
    # boxes are in the input image's pixels
    assert det.boxes[:, [0, 2]].max() <= image.shape[1] + 1e-3
    assert det.boxes[:, [1, 3]].max() <= image.shape[0] + 1e-3
    assert set(det.class_ids.tolist()) <= set(range(len(CDLA_LABELS)))


def test_two_column_page_finds_both_columns_and_title(stage: CdlaLayoutStage) -> None:
    image, extents = two_column_page()
    h, w = image.shape[:2]
    ctx = _ctx(image)
    stage([ctx])
    regions: list[Region] = ctx.scratch[REGIONS]
    rel = {k: [v[0] / w, v[1] / h, v[2] / w, v[3] / h] for k, v in extents.items()}
    text = [r for r in regions if r.kind == "text"]
    left = [r for r in text if (r.bbox[0] + r.bbox[2]) / 2 < 0.5]
    right = [r for r in text if (r.bbox[0] + r.bbox[2]) / 2 > 0.5]
    assert left and right
    assert _covered(rel["left"], left) > 0.8
    assert _covered(rel["right"], right) > 0.8
    # no text region straddles the gutter
    assert all(r.bbox[2] < 0.52 or r.bbox[0] > 0.48 for r in text)
    assert any(r.kind == "title" and r.bbox[1] < rel["title"][3] for r in regions)
    assert all(r.source == "layout.cdla" and 0.5 <= r.confidence <= 1 for r in regions)


def test_regions_are_in_presented_frame(stage: CdlaLayoutStage) -> None:
    image = np.full((100, 200, 3), 255, np.uint8)  # presented: 200 wide, 100 high
    ctx = _ctx(image)
    ctx.work_image = np.full((200, 100, 3), 255, np.uint8)  # upright work: turned 90 degrees
    ctx.to_page = np.array([[0.0, -1.0, 200.0], [1.0, 0.0, 0.0]])  # (x, y) -> (200 - y, x)
    det = LayoutDetections(
        np.array([[10.0, 20.0, 50.0, 60.0]], np.float32),
        np.array([0.9], np.float32),
        np.array([0]),
    )
    (region,) = stage.regions(ctx, det)
    assert region.bbox == pytest.approx([140 / 200, 10 / 100, 180 / 200, 50 / 100])


def test_suppress_overlaps() -> None:
    def cand(kind: str, box: list[float], score: float) -> Candidate:
        return Candidate(kind, np.array(box, dtype=np.float64), score)

    kept = suppress_overlaps(
        [
            cand("text", [0, 0, 100, 100], 0.9),
            cand("table", [2, 2, 100, 98], 0.7),  # same region, other class, worse: dropped
            cand("figure", [200, 0, 400, 200], 0.95),
            cand("text", [220, 20, 260, 30], 0.8),  # a label inside the figure: dropped
            cand("caption", [210, 150, 390, 190], 0.8),  # a caption inside it: kept
            cand("text", [10, 10, 60, 40], 0.6),  # nested in a text box: one region, dropped
            cand("title", [0, 300, 100, 320], 0.6),
        ],
        iou_threshold=0.5,
        containment=0.8,
    )
    assert [(c.kind, c.score) for c in kept] == [
        ("figure", 0.95),
        ("text", 0.9),
        ("caption", 0.8),
        ("title", 0.6),
    ]


def _line(i: int, box: list[float]) -> Line:
    return Line(id=f"l{i}", text="some words of text", bbox=box)


def test_text_layer_turns_text_filled_figure_into_text(stage: CdlaLayoutStage) -> None:
    image = np.full((1000, 800, 3), 255, np.uint8)
    lines = [_line(i, [0.1, 0.1 + i * 0.03, 0.5, 0.12 + i * 0.03]) for i in range(10)]
    det = LayoutDetections(
        np.array([[70, 90, 410, 420], [480, 90, 760, 420]], np.float32),  # 2nd: no lines
        np.array([0.8, 0.8], np.float32),
        np.array([CDLA_LABELS.index("figure"), CDLA_LABELS.index("figure")]),
    )
    scanned = _ctx(image)
    scanned.scratch[LINES] = lines
    assert [r.kind for r in stage.regions(scanned, det)] == ["figure", "figure"]
    digital = _ctx(image, text_layer=True)
    digital.scratch[LINES] = lines
    assert [r.kind for r in stage.regions(digital, det)] == ["text", "figure"]
    coverage, width_share, count = text_coverage([0.0875, 0.09, 0.5125, 0.42], lines)
    assert count == 10 and coverage > 0.25 and width_share > 0.9


def test_score_threshold_option() -> None:
    strict = CdlaLayoutStage(LayoutOptions(score_threshold=0.95))
    ctx = _ctx(np.full((100, 100, 3), 255, np.uint8))
    det = LayoutDetections(
        np.array([[0, 0, 50, 50], [50, 50, 90, 90]], np.float32),
        np.array([0.97, 0.9], np.float32),
        np.array([0, 1]),
    )
    assert [r.kind for r in strict.regions(ctx, det)] == ["text"]


def _column(paragraphs: list[int], indent: int, extra_gap: int) -> np.ndarray:
    """A grey crop of justified text lines drawn as bars: each paragraph's first line indented,
    its last line short, `extra_gap` pixels between paragraphs."""
    image = np.full((40 * sum(paragraphs) + extra_gap * len(paragraphs) + 40, 400), 255, np.uint8)
    y = 10
    for n in paragraphs:
        for i in range(n):
            x0 = 10 + (indent if i == 0 else 0)
            x1 = 390 if i < n - 1 else 200
            image[y : y + 20, x0:x1] = 0
            y += 30
        y += extra_gap
    return image


def test_paragraphs_found_by_indent_gap_and_short_last_line() -> None:
    indented = ink_lines(_column([3, 4, 2], indent=30, extra_gap=0))
    assert len(indented) == 9 and indented[0] == (10, 30, 40, 390)
    assert paragraph_starts(indented, 400) == [3, 7]
    spaced = ink_lines(_column([3, 4], indent=0, extra_gap=25))
    assert paragraph_starts(spaced, 400) == [3]
    # one paragraph, or a few short centred lines, stays whole
    assert paragraph_starts(ink_lines(_column([6], indent=30, extra_gap=0)), 400) == []
    narrow = np.full((200, 400), 255, np.uint8)
    for k in range(5):
        narrow[10 + 35 * k : 30 + 35 * k, 150 : 220 + 10 * k] = 0
    assert paragraph_starts(ink_lines(narrow), 400) == []


def test_split_paragraphs_cuts_in_the_gaps() -> None:
    page = np.full((600, 600), 255, np.uint8)
    crop = _column([3, 4], indent=30, extra_gap=0)
    page[50 : 50 + crop.shape[0], 100:500] = crop
    box = np.array([100.0, 50.0, 500.0, 50.0 + crop.shape[0]])
    top, bottom = split_paragraphs(box, page)
    assert top[1] == 50 and bottom[3] == box[3] and top[3] == bottom[1] == 50 + 95
    assert top[0] == bottom[0] == 100 and top[2] == bottom[2] == 500


def test_columns_of_paragraphs_become_paragraph_regions(stage: CdlaLayoutStage) -> None:
    image, _ = two_column_page()  # five paragraphs per column
    ctx = _ctx(image)
    stage([ctx])
    text = [r for r in ctx.scratch[REGIONS] if r.kind == "text"]
    left = [r for r in text if (r.bbox[0] + r.bbox[2]) / 2 < 0.5]
    right = [r for r in text if (r.bbox[0] + r.bbox[2]) / 2 > 0.5]
    assert len(left) == len(right) == 5
    whole = CdlaLayoutStage(LayoutOptions(split_paragraphs=False))
    ctx = _ctx(image)
    whole([ctx])
    assert len([r for r in ctx.scratch[REGIONS] if r.kind == "text"]) <= len(text)


def _stacked(n: int, top: float = 0.1, height: float = 0.02, pitch: float = 0.03) -> list[Line]:
    return [_line(i, [0.1, top + i * pitch, 0.9, top + i * pitch + height]) for i in range(n)]


def test_one_column_allows_labels_and_split_lines_not_columns_or_cells() -> None:
    lines = _stacked(12)  # line height 0.02 of the page
    assert one_column(lines)
    number = _line(99, [0.02, 0.1, 0.07, 0.12])  # "5.1." beside the first line
    bullets = [_line(300 + i, [0.07, ln.bbox[1], 0.08, ln.bbox[3]]) for i, ln in enumerate(lines)]
    assert one_column([*lines, number]) and one_column(lines + bullets)
    # a justified line the text layer split at its (equally) widened spaces
    words = [_line(400 + i, [0.1 + 0.2 * i, 0.1, 0.27 + 0.2 * i, 0.12]) for i in range(4)]
    assert one_column(words + lines[1:])
    second_column = [
        _line(100 + i, [0.55, ln.bbox[1], 0.9, ln.bbox[3]]) for i, ln in enumerate(lines)
    ]
    narrow = [ln.model_copy(update={"bbox": [0.1, ln.bbox[1], 0.45, ln.bbox[3]]}) for ln in lines]
    assert not one_column(narrow + second_column)
    # table rows: cells spaced unevenly, or one close gap at the same place on every row
    cells = [
        _line(200 + 3 * i + j, [x0, ln.bbox[1], x1, ln.bbox[3]])
        for i, ln in enumerate(lines)
        for j, (x0, x1) in enumerate([(0.1, 0.3), (0.32, 0.4), (0.45, 0.5)])
    ]
    assert not one_column(cells)
    pairs = [
        _line(500 + 2 * i + j, [x0, ln.bbox[1], x1, ln.bbox[3]])
        for i, ln in enumerate(lines)
        for j, (x0, x1) in enumerate([(0.1, 0.3), (0.33, 0.5)])
    ]
    assert not one_column(pairs)


def _draw_lines(lines: list[Line], size: tuple[int, int] = (1000, 800)) -> np.ndarray:
    h, w = size
    image = np.full((h, w, 3), 255, np.uint8)
    for ln in lines:
        x0, y0, x1, y1 = ln.bbox
        image[int(y0 * h) + 2 : int(y1 * h) - 2, int(x0 * w) : int(x1 * w)] = 0
    return image


def test_ink_outside_lines_sees_pictures_and_rules() -> None:
    lines = _stacked(10)
    image = _draw_lines(lines)
    assert ink_outside_lines(image, lines) == 0
    image[700:705, 50:750] = 0  # a rule below the text
    assert ink_outside_lines(image, lines) > LayoutOptions().max_ink_outside_lines


def test_regions_from_lines_title_paragraphs_footer() -> None:
    title = _line(0, [0.1, 0.05, 0.6, 0.09])  # twice the body height
    body = _stacked(8, top=0.15)
    body[3] = body[3].model_copy(update={"bbox": [0.1, body[3].bbox[1], 0.5, body[3].bbox[3]]})
    footer = _line(50, [0.45, 0.95, 0.55, 0.97])
    kinds = [kind for kind, _ in regions_from_lines([title, *body, footer])]
    assert kinds == ["title", "text", "text", "footer"]  # paragraph ends at the short 4th line


class _NoModel:
    def __call__(self, images: list[np.ndarray]) -> list[LayoutDetections]:
        raise AssertionError("the detector must not run on a plain text page")


def test_plain_text_pages_skip_the_detector() -> None:
    lines = _stacked(20)
    stage = CdlaLayoutStage()
    stage._model = _NoModel()
    ctx = _ctx(_draw_lines(lines), text_layer=True)
    ctx.scratch[LINES] = lines
    stage([ctx])
    regions = ctx.scratch[REGIONS]
    assert [r.kind for r in regions] == ["text"] and regions[0].bbox[1] == pytest.approx(0.1)
    # the same page with a picture needs the detector
    image = _draw_lines(lines)
    image[800:950, 100:700] = 90
    pictured = _ctx(image, text_layer=True)
    pictured.scratch[LINES] = lines
    assert not stage.plain_text(pictured)
    assert not CdlaLayoutStage(LayoutOptions(skip_plain_text_pages=False)).plain_text(ctx)


def _columns(n: int = 15, top: float = 0.2) -> tuple[list[Line], list[Line]]:
    left = [_line(i, [0.08, top + 0.03 * i, 0.46, top + 0.03 * i + 0.02]) for i in range(n)]
    right = [_line(50 + i, [0.54, top + 0.03 * i, 0.92, top + 0.03 * i + 0.02]) for i in range(n)]
    return left, right


def test_column_sections_cut_columns_under_a_full_width_title() -> None:
    title = _line(99, [0.1, 0.05, 0.9, 0.09])
    left, right = _columns()
    sections = column_sections([title, *right, *left])
    ids = sorted([ln.id for ln in section] for section in sections)
    assert ids == sorted([["l99"], [ln.id for ln in left], [ln.id for ln in right]])
    # paragraphs of one column stay one section (their gaps are not columns)
    one = _stacked(5) + _stacked(5, top=0.3)
    assert len(column_sections(one)) == 1


def test_a_two_column_page_with_table_rules_skips_the_detector() -> None:
    title = _line(99, [0.1, 0.05, 0.9, 0.09])
    left, right = _columns()
    lines = [title, *left, *right]
    image = _draw_lines(lines)
    image[150:153, 80:920] = 0  # a rule drawn as a PDF path under the title
    stage = CdlaLayoutStage()
    stage._model = _NoModel()
    ctx = _ctx(image, text_layer=True)
    ctx.scratch[LINES] = lines
    assert not stage.plain_text(ctx)  # ink the text layer does not explain
    ctx.scratch[RULINGS] = [Ruling(0.08, 0.151, 0.92, 0.151, "h", 0.5)]
    assert stage.plain_text(ctx)
    stage([ctx])
    regions = ctx.scratch[REGIONS]
    assert [r.kind for r in sorted(regions, key=lambda r: (r.bbox[1], r.bbox[0]))] == [
        "title",
        "text",
        "text",
    ]
    assert all(r.bbox[2] < 0.5 or r.bbox[0] > 0.5 for r in regions[1:] if r.kind == "text")


def test_hanging_indent_entries_are_paragraphs() -> None:
    # (top, bottom, left, right): three-line entries, first lines outdented
    lines = [(30.0 * i, 30.0 * i + 20, 10.0 if i % 3 == 0 else 40.0, 390.0) for i in range(8)]
    assert paragraph_starts(lines, 400) == [3, 6]


def test_regions_from_lines_marks_a_bibliography() -> None:
    heading = Line(id="h", text="References", bbox=[0.1, 0.1, 0.3, 0.12])
    entries = [
        Line(id=f"e{i}", text=f"[{i + 1}] A. Author. A paper. 2020.", bbox=[0.1, y, 0.9, y + 0.02])
        for i, y in enumerate((0.16, 0.22, 0.28))
    ]
    kinds = [kind for kind, _ in regions_from_lines([heading, *entries])]
    assert kinds[0] == "text" and set(kinds[1:]) == {"reference"}
    cited = [Line(id="c", text="[3] Cited entry", bbox=[0.1, 0.5, 0.9, 0.52])]
    assert [kind for kind, _ in regions_from_lines(cited)] == ["reference"]


def test_a_two_line_title_is_one_region() -> None:
    title = [_line(0, [0.1, 0.05, 0.8, 0.09]), _line(1, [0.2, 0.092, 0.5, 0.132])]  # indented
    regions = regions_from_lines([*title, *_stacked(6, top=0.2)])
    assert [kind for kind, _ in regions] == ["title", "text"]
    assert regions[0][1] == pytest.approx([0.1, 0.05, 0.8, 0.132])
