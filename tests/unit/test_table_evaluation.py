"""`folio evaluate-tables` tells the table dataset formats apart by their ground truth."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipelines.evaluation.table_evaluation import dataset_kind


@pytest.mark.parametrize(
    ("gt", "kind"),
    [
        ({"region": "a-reg.xml", "structure": "a-str.xml"}, "icdar2013"),
        ({"camelot_cases": "a.json"}, "camelot"),
        ({"checks": "a.json"}, "pdfplumber"),
        ({"table": "a.json"}, "pubtabnet"),
    ],
)
def test_dataset_kind(tmp_path: Path, gt: dict[str, str], kind: str) -> None:
    (tmp_path / "dev").mkdir()
    (tmp_path / "dev" / "index.jsonl").write_text(json.dumps({"id": "a", "gt": gt}) + "\n")
    assert dataset_kind(tmp_path) == kind


def test_unknown_or_missing_datasets_say_why(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"no index\.jsonl"):
        dataset_kind(tmp_path)
    (tmp_path / "dev").mkdir()
    (tmp_path / "dev" / "index.jsonl").write_text(json.dumps({"id": "a", "gt": {"boxes": 1}}))
    with pytest.raises(ValueError, match="not a table dataset"):
        dataset_kind(tmp_path)
