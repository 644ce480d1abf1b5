"""Field extraction against ground truth: SROIE receipts and invoice field sets.

Ground truth per item is a JSON object of field -> string: SROIE's `key` files
(`company`, `date`, `address`, `total`, read as `vendor_name`, `date`, `vendor_address`,
`total`) or a `fields` file with Folio's names (`vendor_name`, `date`, `invoice_number`,
`total`, `currency`, ...).

How a value is compared (exact match after normalisation):
- dates as values: both sides parsed to ISO 8601 (the truth read day-first unless it only
  parses month-first), so `12-01-19` equals `2019-01-12`;
- amounts as values: both parsed as decimals (`$7.10` equals `7.10`, `1.234,56` equals
  `1234.56`);
- currencies as ISO 4217 codes;
- text (names, addresses, numbers): upper-cased, with every whitespace character removed
  (printed and OCR spacing disagree: `NO.2&4,JALAN` vs `NO.2&4, JALAN`); punctuation counts.

Micro F1 over all fields and items: a predicted field equal to the truth is a true positive; a
predicted field that differs is a false positive and a false negative; a missing prediction is a
false negative; a prediction for a field the truth leaves out is not counted (the truth does not
say it is wrong). Per-field precision, recall and F1 likewise.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from extractors.document import Document
from extractors.stages.entities.normalise import currency_code, parse_amount
from extractors.stages.entities.quantities import find_dates
from pipelines.evaluation.counts import Counts
from pipelines.evaluation.evaluate import process_split
from pipelines.execution.config import PipelineConfig

SROIE_NAMES = {
    "company": "vendor_name",
    "address": "vendor_address",
    "date": "date",
    "total": "total",
}
DATE_FIELDS = frozenset({"date", "due_date"})
AMOUNT_FIELDS = frozenset({"total", "subtotal", "tax"})


def normalise(name: str, value: str | None) -> str | None:
    """The comparable form of a field value (see the module docstring)."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if name in DATE_FIELDS:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            return text
        found = find_dates(text, month_first=False) or find_dates(text, month_first=True)
        return found[0].value if found and found[0].value else text.upper()
    if name in AMOUNT_FIELDS:
        digits = re.sub(r"[^\d.,\-]", "", text)
        amount = parse_amount(digits.lstrip("-")) if digits else None
        return format(amount.value.normalize(), "f") if amount else text.upper()
    if name == "currency":
        return currency_code(text) or text.upper()
    return re.sub(r"\s+", "", text).upper()


def score_item(predicted: Mapping[str, str | None], truth: Mapping[str, str]) -> dict[str, Counts]:
    """Per-field counts for one document."""
    out: dict[str, Counts] = {}
    for name, expected in truth.items():
        want = normalise(name, expected)
        if want is None:
            continue
        got = normalise(name, predicted.get(name))
        if got is None:
            out[name] = Counts(truth=1)
        elif got == want:
            out[name] = Counts(tp=1, predicted=1, truth=1)
        else:
            out[name] = Counts(predicted=1, truth=1)
    return out


def document_values(document: Document) -> dict[str, str | None]:
    """Each document-level field's value (the first of a name: the surest)."""
    out: dict[str, str | None] = {}
    for f in document.fields:
        if f.item is None and f.name not in out:
            out[f.name] = f.value
    return out


def read_truth(item: Mapping[str, object], split_dir: Path) -> dict[str, str] | None:
    gt = item.get("gt")
    if not isinstance(gt, Mapping):
        return None
    if "key" in gt:
        raw = json.loads((split_dir / str(gt["key"])).read_text())
        return {SROIE_NAMES[k]: str(v) for k, v in raw.items() if k in SROIE_NAMES}
    if "fields" in gt:
        raw = json.loads((split_dir / str(gt["fields"])).read_text())
        return {str(k): str(v) for k, v in raw.items() if v is not None}
    return None


@dataclass
class FieldScores:
    n_documents: int = 0
    per_field: dict[str, Counts] = field(default_factory=dict)
    misses: list[tuple[str, str, str | None, str]] = field(default_factory=list)

    @property
    def micro(self) -> Counts:
        total = Counts()
        for counts in self.per_field.values():
            total.add(counts)
        return total

    def add(
        self, doc_id: str, predicted: Mapping[str, str | None], truth: Mapping[str, str]
    ) -> None:
        self.n_documents += 1
        for name, counts in score_item(predicted, truth).items():
            self.per_field.setdefault(name, Counts()).add(counts)
            if not counts.tp:
                self.misses.append((doc_id, name, predicted.get(name), truth[name]))


def evaluate_fields(
    split_dir: Path, config: PipelineConfig, workers: int = 2, limit: int | None = None
) -> FieldScores:
    """Run the pipeline over a split with field ground truth and score its fields."""
    pairs = []
    for item, document in process_split(split_dir, config, workers, limit):
        truth = read_truth(item, split_dir)
        if truth is None:
            raise ValueError(f"{split_dir}: no field ground truth (key or fields) for {item['id']}")
        pairs.append((str(item["id"]), document, truth))
    scores = FieldScores()
    for doc_id, document, truth in pairs:
        scores.add(doc_id, document_values(document) if document else {}, truth)
    return scores


def format_report(scores: FieldScores, title: str = "") -> str:
    lines = [title] if title else []
    lines.append(f"{'field':<16} {'P':>6} {'R':>6} {'F1':>6}  (right/predicted/truth)")
    rows: Sequence[tuple[str, Counts]] = [
        *sorted(scores.per_field.items()),
        ("micro", scores.micro),
    ]
    for name, c in rows:
        counts = f"({c.tp}/{c.predicted}/{c.truth})"
        lines.append(f"{name:<16} {c.precision:6.3f} {c.recall:6.3f} {c.f1:6.3f}  {counts}")
    lines.append(f"{scores.n_documents} documents")
    return "\n".join(lines)
