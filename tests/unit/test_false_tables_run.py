"""False tables end to end: a drawn table through the whole default profile, checked against a
truth that has it and one that does not."""

from __future__ import annotations

import json
from pathlib import Path

from PIL import Image

from pipelines.evaluation.false_tables import evaluate_false_tables
from pipelines.execution.config import load_profile
from tests.unit.test_tables_image import ROWS, _ruled_page

W, H = 1000, 700
TABLE = [150, 150, 660, 240]  # x, y, w, h of the drawn grid (COCO bbox)


def _coco(tables: list[list[int]]) -> dict[str, object]:
    return {
        "images": [{"file_name": "page.png", "height": H, "width": W, "id": 1}],
        "categories": [{"id": 1, "name": "text"}, {"id": 4, "name": "table"}],
        "annotations": [{"bbox": box, "category_id": 4, "image_id": 1} for box in tables],
    }


def test_a_found_table_counts_as_false_only_where_the_truth_has_none(tmp_path: Path) -> None:
    split = tmp_path / "publaynet" / "dev"
    (split / "docs").mkdir(parents=True)
    (split / "gt").mkdir()
    image, _ = _ruled_page(ROWS, size=(W, H))
    Image.fromarray(image).save(split / "docs" / "page.png")
    items = []
    for name, tables in (("with", [TABLE]), ("without", [])):
        (split / "gt" / f"{name}.json").write_text(json.dumps(_coco(tables)))
        items.append({"id": name, "doc": "docs/page.png", "gt": {"coco": f"gt/{name}.json"}})
    (split / "index.jsonl").write_text("".join(json.dumps(i) + "\n" for i in items))

    report = evaluate_false_tables(tmp_path / "publaynet", load_profile("default"))
    assert report.pages == 2 and report.found >= 2  # the grid is found on both
    assert report.false == report.found // 2  # ... false only against the table-less truth
    assert report.false_pages == ["without"]
    assert report.truth_tables == 1 and report.missed == 0
