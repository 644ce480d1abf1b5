"""Reading order on hand-built lines and regions: assignment, XY-cut order, ids."""

from __future__ import annotations

from extractors.document import BLOCK_KINDS, Line, Page, Word
from extractors.stage import LINES, REGIONS, PageContext, Region
from extractors.stages.reading_order import ReadingOrderStage, order_lines, xy_cut


def _line(text: str, box: list[float], conf: float = 0.9) -> Line:
    """A line whose words split its box evenly; ids deliberately scrambled."""
    words = text.split()
    step = (box[2] - box[0]) / len(words)
    return Line(
        id=f"raw-{text}",
        text=text,
        bbox=box,
        confidence=conf,
        words=[
            Word(
                id=f"raw-{text}-{i}",
                text=w,
                bbox=[box[0] + i * step, box[1], box[0] + (i + 1) * step, box[3]],
                confidence=conf,
            )
            for i, w in enumerate(words)
        ],
    )


def _column(tag: str, x0: float, x1: float, y0: float, n: int) -> list[Line]:
    return [
        _line(f"{tag}{i} word", [x0, y0 + i * 0.03, x1, y0 + i * 0.03 + 0.02]) for i in range(n)
    ]


def _run(lines: list[Line], regions: list[Region], index: int = 3) -> Page:
    page = Page(id=f"p{index}", index=index, width=612, height=792, unit="pt")
    ctx = PageContext("doc-test", page)
    ctx.scratch[LINES] = lines
    ctx.scratch[REGIONS] = regions
    ReadingOrderStage()([ctx])
    return page


def _region(kind: str, box: list[float], score: float = 0.9) -> Region:
    return Region(kind, box, score, "layout.cdla")


def test_two_columns_with_header_and_footer() -> None:
    header = [_line("Journal header", [0.1, 0.02, 0.5, 0.04])]
    footer = [_line("Page 3", [0.45, 0.95, 0.55, 0.97])]
    left = _column("L", 0.1, 0.45, 0.1, 5)
    right = _column("R", 0.55, 0.9, 0.1, 5)
    # shuffled input: order must come from geometry, not from the input
    lines = [right[2], footer[0], left[3], *right[:2], header[0], *left[:3], left[4], *right[3:]]
    regions = [
        _region("footer", [0.44, 0.94, 0.56, 0.98], 0.7),
        _region("text", [0.54, 0.09, 0.91, 0.25], 0.95),
        _region("text", [0.09, 0.09, 0.46, 0.25], 0.85),
        _region("header", [0.09, 0.01, 0.51, 0.05], 0.8),
    ]
    page = _run(lines, regions)
    assert [b.kind for b in page.blocks] == ["header", "text", "text", "footer"]
    assert [b.id for b in page.blocks] == ["p3-b0", "p3-b1", "p3-b2", "p3-b3"]
    assert [b.order for b in page.blocks] == [0, 1, 2, 3]
    assert [line.text.split()[0] for line in page.blocks[1].lines] == [f"L{i}" for i in range(5)]
    assert [line.text.split()[0] for line in page.blocks[2].lines] == [f"R{i}" for i in range(5)]
    assert [line.id for line in page.lines()] == [f"p3-l{i}" for i in range(12)]
    assert [word.id for word in page.words()] == [f"p3-w{i}" for i in range(24)]
    assert page.text.startswith("Journal header\n\nL0 word\nL1 word")
    # text blocks hug their lines; confidence is the region's score
    assert page.blocks[1].bbox == [0.1, 0.1, 0.45, 0.24]
    assert page.blocks[1].confidence == 0.85


def test_title_above_columns_and_aligned_paragraph_gaps() -> None:
    title = [_line("A Title", [0.1, 0.04, 0.9, 0.07])]  # taller than body lines
    # both columns have a paragraph break at the same height: still read column by column
    left = _column("La", 0.1, 0.45, 0.1, 3) + _column("Lb", 0.1, 0.45, 0.25, 3)
    right = _column("Ra", 0.55, 0.9, 0.1, 3) + _column("Rb", 0.55, 0.9, 0.25, 3)
    page = _run(title + right + left, [])
    firsts = [b.lines[0].text.split()[0] for b in page.blocks]
    assert firsts == ["A", "La0", "Lb0", "Ra0", "Rb0"]
    assert all(b.kind == "text" and b.source == "order.reading" for b in page.blocks)


def test_loose_lines_grouped_by_proximity_and_mean_confidence() -> None:
    para1 = _column("P", 0.1, 0.9, 0.1, 3)
    para2 = [
        _line(f"Q{i} word", [0.1, 0.5 + i * 0.03, 0.9, 0.52 + i * 0.03], 0.5) for i in range(2)
    ]
    page = _run(para2 + para1, [])
    assert [len(b.lines) for b in page.blocks] == [3, 2]
    assert page.blocks[1].confidence == 0.5
    assert page.blocks[0].bbox == [0.1, 0.1, 0.9, 0.18]


def test_empty_regions_kept_only_for_figures_tables_equations() -> None:
    lines = _column("T", 0.1, 0.9, 0.1, 2)
    regions = [
        _region("text", [0.05, 0.05, 0.95, 0.2]),
        _region("figure", [0.1, 0.3, 0.9, 0.6], 0.77),
        _region("title", [0.1, 0.7, 0.9, 0.75]),  # no lines: nothing to show, dropped
        _region("table", [0.1, 0.8, 0.9, 0.9]),
    ]
    page = _run(lines, regions)
    assert [b.kind for b in page.blocks] == ["text", "figure", "table"]
    figure = page.blocks[1]
    assert figure.lines == [] and figure.bbox == [0.1, 0.3, 0.9, 0.6] and figure.confidence == 0.77
    assert all(b.kind in BLOCK_KINDS for b in page.blocks)


def test_line_goes_to_region_holding_most_of_it_smaller_on_tie() -> None:
    title = _line("Nested title", [0.1, 0.1, 0.5, 0.12])
    body = _column("B", 0.1, 0.9, 0.15, 2)
    regions = [_region("text", [0.05, 0.05, 0.95, 0.3]), _region("title", [0.09, 0.09, 0.51, 0.13])]
    page = _run([*body, title], regions)
    assert [(b.kind, len(b.lines)) for b in page.blocks] == [("title", 1), ("text", 2)]


def test_no_lines_no_regions_gives_no_blocks() -> None:
    assert _run([], []).blocks == []


def test_order_lines_rows_then_left_to_right() -> None:
    a = _line("a", [0.5, 0.1, 0.6, 0.12])
    b = _line("b", [0.1, 0.101, 0.4, 0.121])  # same row as a, to its left
    c = _line("c", [0.1, 0.2, 0.4, 0.22])
    assert [ln.text for ln in order_lines([c, a, b])] == ["b", "a", "c"]


def test_xy_cut_columns_then_rows() -> None:
    boxes = [
        (0.55, 0.1, 0.9, 0.4),  # right column top
        (0.1, 0.1, 0.45, 0.4),  # left column top
        (0.1, 0.5, 0.9, 0.6),  # full-width figure
        (0.1, 0.7, 0.45, 0.9),  # left column bottom
        (0.55, 0.7, 0.9, 0.9),  # right column bottom
    ]
    assert xy_cut(boxes) == [1, 0, 2, 3, 4]


def test_a_figure_full_of_ocr_lines_becomes_text() -> None:
    from extractors.document import Line
    from extractors.stage import Region
    from extractors.stages.reading_order import ReadingOrderStage

    lines = [
        Line(id=f"l{i}", text=f"item {i}  3.20", bbox=[0.1, 0.1 + 0.05 * i, 0.9, 0.14 + 0.05 * i])
        for i in range(5)
    ]
    stage = ReadingOrderStage()
    groups = stage.groups(lines, [Region("figure", [0.05, 0.05, 0.95, 0.4], 0.8, "layout.cdla")])
    assert [g.kind for g in groups] == ["text"]
    photo = stage.groups(lines[:1], [Region("figure", [0.05, 0.05, 0.95, 0.4], 0.8, "l")])
    assert [g.kind for g in photo] == ["figure"]
