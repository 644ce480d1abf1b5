"""Office accuracy: Folio's Markdown export against a reference Markdown per file.

The reference (Docling's rendering, see the dataset README) is one tool's output, so only what it
is good for is scored: the words a reader sees (bag-of-words recall and precision, micro-averaged
per format) and how many tables there are (a table = a run of lines starting with `|`). Markup
is not scored: HTML comments (page marks, image placeholders, page headers), link targets,
task-list checkboxes and Folio's own first line (the file name) are removed from both sides
before counting words.
"""

from __future__ import annotations

import html
import json
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from pipelines.execution.config import PipelineConfig
from pipelines.execution.pipeline import Pipeline
from pipelines.export import document_markdown

_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
_TASK = re.compile(r"\[[ xX]\]")  # task-list checkboxes: markup, not words
_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class OfficeScore:
    item_id: str
    kind: str
    status: str
    reason: str
    ref_words: int
    out_words: int
    matched: int
    ref_tables: int
    out_tables: int

    @property
    def recall(self) -> float:
        return self.matched / self.ref_words if self.ref_words else 1.0

    @property
    def precision(self) -> float:
        return self.matched / self.out_words if self.out_words else float(not self.ref_words)


@dataclass(frozen=True)
class FormatSummary:
    kind: str
    files: int
    failed: int
    recall: float
    precision: float
    tables_equal: int
    ref_tables: int
    out_tables: int


def markdown_words(markdown: str) -> Counter[str]:
    text = _TASK.sub(" ", _LINK.sub(r"\1", _COMMENT.sub(" ", html.unescape(markdown))))
    return Counter(_WORD.findall(text.lower()))


def count_tables(markdown: str) -> int:
    tables, inside = 0, False
    for line in markdown.splitlines():
        row = line.lstrip().startswith("|")
        tables += row and not inside
        inside = row
    return tables


def split_folder(path: Path, split: str = "dev") -> Path:
    """`path` itself when it holds index.jsonl, else its `split` folder."""
    return path if (path / "index.jsonl").is_file() else path / split


def evaluate_office(split: Path, config: PipelineConfig) -> list[OfficeScore]:
    """Process every file of an office split (index.jsonl) and score it against its reference."""
    pipeline = Pipeline(config)
    scores = []
    for item in map(json.loads, (split / "index.jsonl").read_text().splitlines()):
        reference = (split / item["gt"]["markdown"]).read_text()
        document = pipeline.process(split / item["doc"])
        markdown = document_markdown(document)
        body = markdown.split("\n", 1)[1] if "\n" in markdown else ""  # drop "# <file name>"
        if document.status == "failed":
            body = ""  # the failure notice is not document text
        ref, out = markdown_words(reference), markdown_words(body)
        scores.append(
            OfficeScore(
                item_id=item["id"],
                kind=item["kind"],
                status=document.status,
                reason="; ".join(e.message for e in document.errors),
                ref_words=sum(ref.values()),
                out_words=sum(out.values()),
                matched=sum((ref & out).values()),
                ref_tables=count_tables(reference),
                out_tables=sum(len(page.tables) for page in document.pages),
            )
        )
    return scores


def summarise(scores: list[OfficeScore]) -> list[FormatSummary]:
    """Micro-averaged word recall/precision and table-count agreement per format and overall."""
    groups: dict[str, list[OfficeScore]] = {}
    for score in scores:
        groups.setdefault(score.kind, []).append(score)
    groups["all"] = list(scores)
    out = []
    for kind, group in groups.items():
        ref = sum(s.ref_words for s in group)
        got = sum(s.out_words for s in group)
        matched = sum(s.matched for s in group)
        out.append(
            FormatSummary(
                kind=kind,
                files=len(group),
                failed=sum(s.status == "failed" for s in group),
                recall=matched / ref if ref else 1.0,
                precision=matched / got if got else 0.0,
                tables_equal=sum(s.ref_tables == s.out_tables for s in group),
                ref_tables=sum(s.ref_tables for s in group),
                out_tables=sum(s.out_tables for s in group),
            )
        )
    return out
