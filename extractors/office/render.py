"""A logical picture of an Office page for review: text in its boxes, table grids, pictures.

It is what the overlay of boxes is drawn on; it is not a typeset rendering of the file.
"""

from __future__ import annotations

import io
import math
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from extractors.office.native import NativePage

RENDER_SCALE = 1.5  # pixels per point (108 dpi), reduced for pages over the pixel cap


@lru_cache(maxsize=32)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def render_page(page: NativePage, max_pixels: int) -> np.ndarray:
    scale = RENDER_SCALE
    if page.width * page.height * scale * scale > max_pixels:
        scale *= math.sqrt(max_pixels / (page.width * page.height * scale * scale)) * 0.999
    w, h = max(1, round(page.width * scale)), max(1, round(page.height * scale))
    canvas = Image.new("RGB", (w, h), "white")
    draw = ImageDraw.Draw(canvas)

    def px(b: list[float]) -> tuple[int, int, int, int]:
        return round(b[0] * w), round(b[1] * h), round(b[2] * w), round(b[3] * h)

    for bbox, data in page.pictures:
        box = px(bbox)
        if data is not None and _paste(canvas, data, box):
            continue
        draw.rectangle(box, outline=(150, 150, 150), fill=(235, 235, 235))
    for table in page.tables:
        for cell in table.cells:
            if cell.bbox is not None:
                draw.rectangle(px(cell.bbox), outline=(170, 170, 170))
    for block in page.blocks:
        for line in block.lines:
            x0, y0, _, y1 = px(line.bbox)
            size = max(4, int((y1 - y0) * 0.75))
            draw.text((x0, y0), line.text, fill="black", font=_font(size))
    return np.asarray(canvas)


def _paste(canvas: Image.Image, data: bytes, box: tuple[int, int, int, int]) -> bool:
    x0, y0, x1, y1 = box
    if x1 - x0 < 1 or y1 - y0 < 1:
        return False
    try:
        with Image.open(io.BytesIO(data)) as im:
            im.draft("RGB", (x1 - x0, y1 - y0))  # JPEGs decode reduced
            picture = im.convert("RGB").resize((x1 - x0, y1 - y0))
    except Exception:  # a picture PIL cannot decode is drawn as a grey box
        return False
    canvas.paste(picture, (x0, y0))
    return True
