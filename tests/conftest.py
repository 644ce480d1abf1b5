"""Shared fixtures: generated documents only (no network, no dataset files)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "data" / "samples"
FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


def text_image(
    lines: list[str], size: tuple[int, int] = (900, 400), font_size: int = 32, seed: int = 0
) -> Image.Image:
    """A clean page with the given lines of text, plus a little noise so each seed differs."""
    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    font = (
        ImageFont.truetype(str(FONT), font_size)
        if FONT.exists()
        else ImageFont.load_default(font_size)
    )
    for i, line in enumerate(lines):
        draw.text((40, 40 + i * int(font_size * 1.8)), line, fill="black", font=font)
    pixels = np.asarray(image).astype(np.int16)
    noise = np.random.default_rng(seed).integers(-8, 1, pixels.shape)
    return Image.fromarray(np.clip(pixels + noise, 0, 255).astype(np.uint8))


@pytest.fixture()
def samples(tmp_path: Path) -> Path:
    folder = tmp_path / "samples"
    shutil.copytree(SAMPLES, folder)
    return folder
