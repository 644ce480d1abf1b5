"""Generated forms of one kind (one template, filled in capitals), with FUNSD-style truth: the
"20 reviewed documents of one kind" case of the learning loop (docs/learning.md).

    python -m tests.form_template_generator OUT_DIR [N_TRAIN] [N_DEV] [SEED]

writes `OUT_DIR/{train,dev}/index.jsonl`, `docs/<id>.png` and `gt/<id>.json` (FUNSD's `form`
list: header/question/answer entities with word boxes and question->answer links), so
`folio evaluate-learning OUT_DIR` reads it like FUNSD. Every form is the same intake form: its
labels are capitals without colons, and so are the values filled in beside or under them;
the values, which fields are left empty (15%), small shifts of position, the type size and the
scanner noise vary. The rules
read text in capitals as labels, which is what a workspace's reviews would teach otherwise.
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont

FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
BOLD = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")
FIRST = ["JOHN", "MARIA", "AHMED", "LI", "SARA", "PETER", "ANNA", "RAVI", "ELENA", "TOM"]
LAST = ["SMITH", "GARCIA", "KHAN", "WEI", "JONES", "MULLER", "ROSSI", "PATEL", "NOVAK", "LEE"]
STREETS = ["MAIN STREET", "OAK AVENUE", "HIGH ROAD", "PARK LANE", "MILL WAY", "KING STREET"]
CITIES = ["SPRINGFIELD", "RIVERTON", "LAKEWOOD", "FAIRVIEW", "GREENVILLE", "MADISON"]
INSURERS = ["ACME HEALTH", "BLUE SHIELD", "UNITED CARE", "NORTH MUTUAL", "SAFE LIFE"]
DOCTORS = ["DR ADAMS", "DR BROWN", "DR CHEN", "DR DIAZ", "DR EVANS"]


def _font(path: Path, size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.truetype(str(path), size) if path.exists() else ImageFont.load_default(size)


def _values(rng: random.Random) -> dict[str, str]:
    first, last = rng.choice(FIRST), rng.choice(LAST)
    return {
        "PATIENT NAME": f"{first} {last}",
        "DATE OF BIRTH": f"{rng.randint(1, 28):02d}/{rng.randint(1, 12):02d}/"
        f"{rng.randint(1940, 2015)}",
        "HOME ADDRESS": f"{rng.randint(1, 250)} {rng.choice(STREETS)}",
        "CITY": rng.choice(CITIES),
        "PHONE NUMBER": f"555 {rng.randint(1000, 9999)}",
        "INSURANCE COMPANY": rng.choice(INSURERS),
        "POLICY NUMBER": f"{rng.choice('ABCDEFGH')}{rng.choice('KLMNPRST')}"
        f"{rng.randint(100000, 999999)}",
        "REFERRING DOCTOR": rng.choice(DOCTORS),
        "SIGNATURE": f"{first[0]}. {last}",
    }


# (label, section) in form order; values right of the label, except those listed as "under".
SECTIONS = {
    "PERSONAL DETAILS": ["PATIENT NAME", "DATE OF BIRTH", "HOME ADDRESS", "CITY", "PHONE NUMBER"],
    "INSURANCE": ["INSURANCE COMPANY", "POLICY NUMBER", "REFERRING DOCTOR"],
    "CONSENT": ["SIGNATURE"],
}
UNDER = {"HOME ADDRESS", "SIGNATURE"}
BLANK = 0.15  # share of fields left empty


def _draw(
    draw: ImageDraw.ImageDraw,
    text: str,
    x: int,
    y: int,
    font: ImageFont.FreeTypeFont | ImageFont.ImageFont,
) -> list[dict[str, Any]]:
    """Draw `text` word by word; each word with its box."""
    words = []
    space = int(draw.textlength(" ", font=font))
    for token in text.split():
        box = draw.textbbox((x, y), token, font=font)
        draw.text((x, y), token, fill="black", font=font)
        words.append({"text": token, "box": [int(v) for v in box]})
        x = box[2] + space
    return words


def make_form(rng: random.Random) -> tuple[Image.Image, list[dict[str, Any]]]:
    image = Image.new("RGB", (1240, 1500), "white")
    draw = ImageDraw.Draw(image)
    size = rng.randint(24, 28)
    body, title_font = _font(FONT, size), _font(BOLD, size + 12)
    head_font = _font(BOLD, size + 2)
    values = _values(rng)
    form: list[dict[str, Any]] = []

    def entity(label: str, text: str, words: list[dict[str, Any]]) -> int:
        box = [min(w["box"][0] for w in words), min(w["box"][1] for w in words),
               max(w["box"][2] for w in words), max(w["box"][3] for w in words)]  # fmt: skip
        form.append({"id": len(form), "label": label, "text": text, "box": box, "words": words,
                     "linking": []})  # fmt: skip
        return len(form) - 1

    def jitter(v: int) -> int:
        return v + rng.randint(-12, 12)

    entity("header", "PATIENT INTAKE FORM", _draw(draw, "PATIENT INTAKE FORM", jitter(330), 80,
                                                  title_font))  # fmt: skip
    y = 200
    value_x = 520 + rng.randint(-40, 40)
    for section, labels in SECTIONS.items():
        entity("header", section, _draw(draw, section, jitter(100), y, head_font))
        y += int(size * 2.6)
        for label in labels:
            q = entity("question", label, _draw(draw, label, jitter(100), y, body))
            if rng.random() < BLANK:  # left empty by whoever filled it in
                y += int(size * 2.4) + rng.randint(0, 10)
                continue
            if label in UNDER:
                y += int(size * 1.6)
                x = jitter(140)
            else:
                x = value_x + rng.randint(-6, 6)
            a = entity("answer", values[label], _draw(draw, values[label], x, y, body))
            form[q]["linking"].append([q, a])
            form[a]["linking"].append([q, a])
            y += int(size * 2.4) + rng.randint(0, 10)
        y += int(size * 1.5)
    return _scanned(image, rng), form


def _scanned(image: Image.Image, rng: random.Random) -> Image.Image:
    """A little grey noise, as a scanner leaves (no rotation: the truth boxes stay exact)."""
    pixels = np.asarray(image).astype(np.int16)
    noise = np.random.default_rng(rng.randint(0, 2**31)).integers(-30, 1, pixels.shape)
    return Image.fromarray(np.clip(pixels + noise, 0, 255).astype(np.uint8))


def write_split(folder: Path, n: int, rng: random.Random, prefix: str) -> None:
    (folder / "docs").mkdir(parents=True, exist_ok=True)
    (folder / "gt").mkdir(parents=True, exist_ok=True)
    lines = []
    for k in range(n):
        item = f"{prefix}{k:03d}"
        image, form = make_form(rng)
        image.save(folder / "docs" / f"{item}.png")
        (folder / "gt" / f"{item}.json").write_text(json.dumps({"form": form}))
        lines.append(json.dumps({"id": item, "doc": f"docs/{item}.png",
                                 "gt": {"funsd": f"gt/{item}.json"}}))  # fmt: skip
    (folder / "index.jsonl").write_text("\n".join(lines) + "\n")


def main(argv: list[str]) -> None:
    out = Path(argv[0])
    n_train = int(argv[1]) if len(argv) > 1 else 40
    n_dev = int(argv[2]) if len(argv) > 2 else 20
    rng = random.Random(int(argv[3]) if len(argv) > 3 else 0)
    write_split(out / "train", n_train, rng, "t")
    write_split(out / "dev", n_dev, rng, "d")


if __name__ == "__main__":
    main(sys.argv[1:])
