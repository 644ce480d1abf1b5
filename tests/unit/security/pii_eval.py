"""Precision and recall of `detect_pii` on dataset documents labelled by hand.

The documents are built from the datasets' ground-truth words (SROIE receipt lines, FUNSD form
segments, pixel boxes made page-relative), so the labels, word indices into that ground truth
(`pii_gold.json`), stay valid whatever the OCR does. No dataset file is copied: the datasets are
read from ../shared/datasets where they are. Scores are per word (a PII word redacted or not),
for redaction (any type) and per type.

    .venv/bin/python -m tests.unit.security.pii_eval            # the table
    .venv/bin/python -m tests.unit.security.pii_eval --words ID  # words with indices, to label
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

from extractors.document import Block, Document, Line, Page, Word
from pipelines.security.pii import detect_pii

ROOT = Path(__file__).resolve().parents[3]
DATASETS = ROOT.parent / "shared" / "datasets"
GOLD = Path(__file__).with_name("pii_gold.json")


def _word(n: int, text: str, box: list[float], width: float, height: float) -> Word:
    x0, y0, x1, y1 = box
    return Word(id=f"w{n}", text=text, bbox=[x0 / width, y0 / height, x1 / width, y1 / height])


def _split_line(n: int, text: str, box: list[float], w: float, h: float) -> list[Word]:
    """A ground-truth line as words, each with its share of the line's box by characters."""
    parts = text.split()
    total = max(1, sum(len(p) + 1 for p in parts) - 1)
    out, at = [], 0
    for k, part in enumerate(parts):
        x0 = box[0] + (box[2] - box[0]) * at / total
        at += len(part) + 1
        x1 = box[0] + (box[2] - box[0]) * min(1.0, (at - 1) / total)
        out.append(_word(n + k, part, [x0, box[1], x1, box[3]], w, h))
    return out


def _document(doc_id: str, size: tuple[int, int], blocks: list[list[list[Word]]]) -> Document:
    made = [
        Block(
            id=f"b{b}",
            order=b,
            bbox=[0.0, 0.0, 1.0, 1.0],
            lines=[
                Line(id=f"b{b}-l{n}", text=" ".join(w.text for w in ws), bbox=ws[0].bbox, words=ws)
                for n, ws in enumerate(lines)
                if ws
            ],
        )
        for b, lines in enumerate(blocks)
    ]
    page = Page(id="p0", index=0, width=size[0], height=size[1], unit="px", blocks=made)
    return Document(
        document_id=doc_id, source_name=doc_id, source_path="", sha256="0" * 64, pages=[page]
    )


def sroie_document(item: str, split: Path) -> Document:
    """One block of lines (a receipt is one column), top to bottom."""
    size = Image.open(split / "docs" / f"{item}.jpg").size
    rows = []
    for row in (split / "gt" / f"{item}.boxes.csv").read_text(encoding="utf-8").splitlines():
        parts = row.split(",", 8)
        if len(parts) == 9 and parts[8].strip():
            xs, ys = [int(v) for v in parts[0:8:2]], [int(v) for v in parts[1:8:2]]
            rows.append(([min(xs), min(ys), max(xs), max(ys)], parts[8]))
    lines, n = [], 0
    for box, text in rows:  # the file's order is the index order of the labels
        words = _split_line(n, text, [float(v) for v in box], *size)
        n += len(words)
        lines.append(words)
    order = sorted(range(len(lines)), key=lambda i: rows[i][0][1])
    return _document(f"sroie-{item}", size, [[lines[i] for i in order]])


def funsd_document(item: str, split: Path) -> Document:
    """One block per FUNSD segment (one line of its words), in top-left order."""
    size = Image.open(split / "docs" / f"{item}.png").size
    form = json.loads((split / "gt" / f"{item}.json").read_text())["form"]
    segments, n = [], 0
    for entity in form:
        words = []
        for w in entity["words"]:
            if w["text"].strip():
                words.append(_word(n, w["text"], [float(v) for v in w["box"]], *size))
            n += 1
        if words:
            segments.append((entity["box"], words))
    segments.sort(key=lambda s: (s[0][1] // 10, s[0][0]))
    return _document(f"funsd-{item}", size, [[words] for _, words in segments])


def load(name: str) -> Document:
    dataset, item = name.split("/")
    split = DATASETS / dataset / "dev"
    return sroie_document(item, split) if dataset == "sroie" else funsd_document(item, split)


@dataclass
class Score:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0


@dataclass
class Evaluation:
    redaction: Score = field(default_factory=Score)
    per_type: dict[str, Score] = field(default_factory=dict)
    documents: int = 0


def gold_words(entry: dict[str, list[list[int]]]) -> dict[str, str]:
    """Word id -> type from `{"TYPE": [[first, last], ...]}` (inclusive index ranges)."""
    return {
        f"w{i}": kind for kind, ranges in entry.items() for a, b in ranges for i in range(a, b + 1)
    }


def evaluate(gold: dict[str, dict[str, list[list[int]]]]) -> Evaluation:
    result = Evaluation()
    for name, entry in gold.items():
        document = load(name)
        truth = gold_words(entry)
        found = detect_pii(document).word_types()
        result.documents += 1
        for word in document.pages[0].words():
            expected, got = truth.get(word.id), found.get(word.id)
            score = result.redaction
            score.tp += bool(expected and got)
            score.fp += bool(got and not expected)
            score.fn += bool(expected and not got)
            for kind in {k for k in (expected, got) if k}:
                typed = result.per_type.setdefault(kind, Score())
                typed.tp += expected == got == kind
                typed.fp += got == kind != expected
                typed.fn += expected == kind != got
    return result


def _table(result: Evaluation) -> str:
    rows = [("redaction (any type)", result.redaction), *sorted(result.per_type.items())]
    out = [f"{result.documents} documents, scores per word", f"{'':24} {'P':>6} {'R':>6} {'n':>5}"]
    for name, s in rows:
        out.append(f"{name:24} {s.precision:6.3f} {s.recall:6.3f} {s.tp + s.fn:5d}")
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--words", help="print the words of one document, e.g. sroie/002")
    parser.add_argument("--found", action="store_true", help="with --words: star what is found")
    args = parser.parse_args()
    if args.words:
        document = load(args.words)
        found = detect_pii(document).word_types() if args.found else {}
        for line in document.pages[0].lines():
            marked = (f"{w.id[1:]}:{w.text}{'*' if w.id in found else ''}" for w in line.words)
            print(" ".join(marked))
        return
    print(_table(evaluate(json.loads(GOLD.read_text()))))
    counts = Counter(k for e in json.loads(GOLD.read_text()).values() for k in e)
    print("gold types per document:", dict(counts))


if __name__ == "__main__":
    main()
