"""Generated page images for the preprocessing and layout tests (no files, no network)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf")
BOLD = Path("/usr/share/fonts/truetype/dejavu/DejaVuSerif-Bold.ttf")

_TEXT = (
    "the results of this study show that document layout analysis can be improved by careful "
    "preprocessing of scanned pages and a model that finds text regions tables and figures in "
    "many different kinds of documents such as articles reports forms and invoices while the "
    "reading order of columns follows from the geometry of the blocks on each page"
)
_WORDS = tuple(_TEXT.split())


def _font(path: Path, size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.truetype(str(path), size) if path.exists() else ImageFont.load_default(size)


def _paragraph_lines(
    rng: np.random.Generator,
    n_lines: int,
    width: int,
    font: ImageFont.FreeTypeFont | ImageFont.ImageFont,
) -> list[str]:
    """Lines of random words filled up to `width` pixels, like set body text (last line short)."""
    lines = []
    for i in range(n_lines):
        words: list[str] = []
        limit = width if i < n_lines - 1 else width // 2
        while True:
            word = str(rng.choice(_WORDS))
            if font.getlength(" ".join([*words, word])) > limit:
                break
            words.append(word)
        lines.append(" ".join(words))
    return lines


def two_column_page(
    width: int = 1240, height: int = 1754, seed: int = 0
) -> tuple[np.ndarray, dict[str, list[float]]]:
    """An A4 page at 150 dpi: a title across the top and two columns of paragraphs.

    Returns the RGB image and the inked extents (pixels) of "title", "left" and "right".
    """
    rng = np.random.default_rng(seed)
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    body, title = _font(FONT, 22), _font(BOLD, 40)
    margin, gutter = 110, 60
    col_w = (width - 2 * margin - gutter) // 2
    text = "Layout Analysis of Scanned Documents"
    draw.text((margin, 140), text, fill="black", font=title)
    extents = {"title": list(draw.textbbox((margin, 140), text, font=title))}
    for name, x in (("left", margin), ("right", margin + col_w + gutter)):
        y, boxes = 260, []
        for _ in range(5):
            for line in _paragraph_lines(rng, 7, col_w, body):
                draw.text((x, y), line, fill="black", font=body)
                boxes.append(draw.textbbox((x, y), line, font=body))
                y += 34
            y += 30
        extents[name] = [min(b[0] for b in boxes), min(b[1] for b in boxes)]
        extents[name] += [max(b[2] for b in boxes), max(b[3] for b in boxes)]
    return np.asarray(image), extents


def text_page(width: int = 1240, height: int = 1754, seed: int = 0) -> np.ndarray:
    """A single-column page full of body text (RGB)."""
    rng = np.random.default_rng(seed)
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    body = _font(FONT, 24)
    y = 150
    while y < height - 180:
        for line in _paragraph_lines(rng, 6, width - 240, body):
            draw.text((120, y), line, fill="black", font=body)
            y += 38
        y += 30
    return np.asarray(image)
