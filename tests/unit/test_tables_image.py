"""`tables.image`: SLANet over a generated ruled table, its words into cells; weights checks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from extractors.document import Block, Line, Page, Word
from extractors.stage import REGIONS, PageContext, Region, StageError
from extractors.stages.tables.image import ImageTableOptions, ImageTableStage, to_work
from extractors.stages.tables.image_grid import tile_cells
from extractors.stages.tables.image_rulings import find_rulings
from models.assets import ModelAssetError
from models.fetch import MODEL_DIR_ENV, SLANET, fetch, model_dir, weights_path
from models.table_structure import TableStructure, grid_cells
from tests.conftest import FONT

HAVE_WEIGHTS = (model_dir() / SLANET.name).is_file()
needs_weights = pytest.mark.skipif(
    not HAVE_WEIGHTS, reason=f"SLANet weights absent from {model_dir()}: run python -m models.fetch"
)
ROWS = [
    ["Item", "Qty", "Price"],
    ["Apples", "12", "3.50"],
    ["Pears", "7", "2.10"],
    ["Plums", "30", "9.99"],
]


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.truetype(str(FONT), size) if FONT.exists() else ImageFont.load_default(size)


def _ruled_page(
    rows: list[list[str]], ruled: bool = True, size: tuple[int, int] = (1000, 700)
) -> tuple[np.ndarray, list[Line]]:
    """A page with a table drawn at (150, 150): ruled grid, text, and the words as OCR would
    give them (one line per cell, page-relative boxes)."""
    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    font = _font(28)
    x0, y0, col_w, row_h = 150, 150, 220, 60
    lines: list[Line] = []
    for r, row in enumerate(rows):
        for c, text in enumerate(row):
            tx, ty = x0 + c * col_w + 20, y0 + r * row_h + 14
            draw.text((tx, ty), text, fill="black", font=font)
            left, top, right, bottom = draw.textbbox((tx, ty), text, font=font)
            box = [left / size[0], top / size[1], right / size[0], bottom / size[1]]
            n = len(lines)
            word = Word(id=f"p0-w{n}", text=text, bbox=box, confidence=0.95)
            lines.append(Line(id=f"p0-l{n}", text=text, bbox=box, words=[word]))
    if ruled:
        width, height = col_w * len(rows[0]), row_h * len(rows)
        for r in range(len(rows) + 1):
            draw.line([(x0, y0 + r * row_h), (x0 + width, y0 + r * row_h)], fill="black", width=2)
        for c in range(len(rows[0]) + 1):
            draw.line([(x0 + c * col_w, y0), (x0 + c * col_w, y0 + height)], fill="black", width=2)
    return np.asarray(image), lines


def _context(image: np.ndarray, lines: list[Line], regions: list[Region]) -> PageContext:
    h, w = image.shape[:2]
    block = Block(id="p0-b0", kind="text", bbox=[0.0, 0.0, 1.0, 1.0], lines=lines)
    page = Page(id="p0", index=0, width=w, height=h, unit="px", blocks=[block])
    ctx = PageContext(document_id="d", page=page, render=lambda: image)
    ctx.scratch[REGIONS] = regions
    return ctx


def test_rulings_find_the_grid_and_not_text() -> None:
    image, _ = _ruled_page(ROWS)
    rulings = find_rulings(image)
    assert len(rulings.grids) == 1
    x0, y0, x1, y1 = rulings.grids[0]
    assert abs(x0 - 150) < 8 and abs(y0 - 150) < 8 and abs(x1 - 810) < 8 and abs(y1 - 390) < 8
    text_only, _ = _ruled_page(ROWS, ruled=False)
    assert find_rulings(text_only).grids == []


@needs_weights
def test_ruled_table_without_layout_region() -> None:
    image, lines = _ruled_page(ROWS)
    ctx = _context(image, lines, regions=[])
    ImageTableStage()([ctx])
    assert len(ctx.page.tables) == 1
    table = ctx.page.tables[0]
    assert (table.n_rows, table.n_cols) == (4, 3)
    grid = {(c.row, c.col): c.text for c in table.cells}
    assert [[grid[(r, c)] for c in range(3)] for r in range(4)] == ROWS
    assert all(0 < c.confidence <= 1 for c in table.cells)
    # The table's lines moved into one table block; every word sits in exactly one cell.
    blocks = [b for b in ctx.page.blocks if b.kind == "table"]
    assert len(blocks) == 1 and table.block_id == blocks[0].id
    assert sorted(w for c in table.cells for w in c.word_ids) == sorted(
        w.id for ln in lines for w in ln.words
    )


@needs_weights
def test_layout_table_over_a_paragraph_is_not_a_table() -> None:
    image = Image.new("RGB", (1000, 700), "white")
    draw = ImageDraw.Draw(image)
    text = "the quick brown fox jumps over the lazy dog and keeps running far away"
    lines: list[Line] = []
    for i in range(8):
        y = 150 + i * 40
        draw.text((100, y), text, fill="black", font=_font(24))
        left, top, right, bottom = draw.textbbox((100, y), text, font=_font(24))
        words, x = [], left
        for token in text.split():
            wl, _, wr, _ = draw.textbbox((x, y), token, font=_font(24))
            box = [wl / 1000, top / 700, wr / 1000, bottom / 700]
            words.append(Word(id=f"p0-w{i}-{len(words)}", text=token, bbox=box))
            x = wr + draw.textlength(" ", font=_font(24))
        lines.append(
            Line(
                id=f"p0-l{i}",
                text=text,
                bbox=[left / 1e3, top / 7e2, right / 1e3, bottom / 7e2],
                words=words,
            )
        )
    region = Region("table", [0.08, 0.2, 0.95, 0.68], 0.9, "layout.cdla")
    ctx = _context(np.asarray(image), lines, regions=[region])
    ImageTableStage()([ctx])
    assert ctx.page.tables == []


def test_grid_cells_spans_and_header() -> None:
    tokens = ["<thead>", "<tr>", "<td", ' colspan="2"', ">", "</td>", "</tr>", "</thead>"]
    tokens += ["<tbody>", "<tr>", "<td", ' rowspan="2"', ">", "</td>", "<td></td>", "</tr>"]
    tokens += ["<tr>", "<td></td>", "</tr>", "</tbody>"]
    starts = [i for i, t in enumerate(tokens) if t in ("<td", "<td></td>")]
    boxes = np.array([[0, 0, 20, 10], [0, 10, 10, 30], [10, 10, 20, 20], [10, 20, 20, 30]], float)
    structure = TableStructure(
        tokens, np.full(len(tokens), 0.9, np.float32), boxes, np.array(starts)
    )
    cells = grid_cells(structure)
    assert [(c.row, c.col, c.row_span, c.col_span, c.header) for c in cells] == [
        (0, 0, 1, 2, True),
        (1, 0, 2, 1, False),
        (1, 1, 1, 1, False),
        (2, 1, 1, 1, False),
    ]
    tiles = tile_cells(cells, 20, 30)
    assert tiles[0] == (0.0, 0.0, 20.0, 10.0)
    assert tiles[3] == (10.0, 20.0, 20.0, 30.0)


def test_missing_weights_name_the_fetch_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(MODEL_DIR_ENV, str(tmp_path))
    with pytest.raises(ModelAssetError, match=r"missing.*python -m models.fetch"):
        weights_path(SLANET)
    with pytest.raises(StageError, match=r"\[tables.image\].*python -m models.fetch"):
        _ = ImageTableStage(ImageTableOptions()).model


def test_wrong_checksum_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(MODEL_DIR_ENV, str(tmp_path))
    (tmp_path / SLANET.name).write_bytes(b"\0" * SLANET.size)  # right size, wrong bytes
    with pytest.raises(ModelAssetError, match=r"checksum.*python -m models.fetch"):
        weights_path(SLANET)
    with pytest.raises(StageError, match="checksum"):
        _ = ImageTableStage().model


@needs_weights
def test_fetch_keeps_a_valid_copy_without_downloading(tmp_path: Path) -> None:
    copy = tmp_path / SLANET.name
    copy.write_bytes((model_dir() / SLANET.name).read_bytes())
    assert fetch(SLANET, tmp_path) == (copy, False)


def test_a_form_frame_is_not_a_table_but_the_grid_inside_it_is() -> None:
    image = Image.new("RGB", (1000, 1200), "white")
    draw = ImageDraw.Draw(image)
    draw.rectangle([50, 50, 950, 1150], outline="black", width=2)  # the form's frame
    for y in (200, 350, 500):  # form rows: full-width rules, no columns
        draw.line([(50, y), (950, y)], fill="black", width=2)
    for y in range(600, 901, 75):  # a 4 x 4 table inside the frame
        draw.line([(50, y), (950, y)], fill="black", width=2)
    for x in (275, 500, 725):
        draw.line([(x, 600), (x, 900)], fill="black", width=2)
    grids = find_rulings(np.asarray(image)).grids
    assert len(grids) == 1
    x0, y0, x1, y1 = grids[0]
    assert abs(y0 - 600) < 8 and abs(y1 - 900) < 8 and x0 < 60 and x1 > 940


def test_page_boxes_map_into_a_rotated_work_image_and_back() -> None:
    presented = np.zeros((400, 600, 3), np.uint8)
    ctx = _context(presented, [], regions=[])
    # The work image is the page turned a quarter: work pixel (x, y) is page pixel (y, 399 - x).
    ctx.work_image = np.zeros((600, 400, 3), np.uint8)
    ctx.to_page = np.array([[0.0, 1.0, 0.0], [-1.0, 0.0, 399.0]])
    work_box = np.array([[100.0, 50.0], [300.0, 50.0], [300.0, 120.0], [100.0, 120.0]])
    page_box = ctx.relative_bbox(work_box)
    assert page_box == pytest.approx([50 / 600, 99 / 400, 120 / 600, 299 / 400])
    assert to_work(ctx, np.array([page_box]))[0] == pytest.approx([100, 50, 300, 120])


def test_section_rows_across_all_columns_keep_one_ruled_table() -> None:
    image = Image.new("RGB", (1000, 1000), "white")
    draw = ImageDraw.Draw(image)
    draw.rectangle([50, 50, 950, 950], outline="black", width=2)
    for y in range(50, 951, 50):
        draw.line([(50, y), (950, y)], fill="black", width=2)
    for y0, y1 in ((50, 400), (450, 950)):  # a section row (400-450) cuts every column rule
        for x in (400, 600, 800):
            draw.line([(x, y0), (x, y1)], fill="black", width=2)
    grids = find_rulings(np.asarray(image)).grids
    assert len(grids) == 1
    assert grids[0][1] < 60 and grids[0][3] > 940
