"""The simulated reviewer of `folio evaluate-learning`: the corrections a person following the
truth would make in the review app."""

from __future__ import annotations

from extractors.document import Document, Entity, Page
from pipelines.evaluation.evaluate_learning import review_from_truth


def _entity(entity_id: str, label: str, text: str, box: list[float]) -> Entity:
    return Entity(id=entity_id, label=label, text=text, page=0, bbox=box, source="forms.kv")


def _word(text: str, box: list[int]) -> dict[str, object]:
    return {"text": text, "box": box}


def test_relabel_delete_add_and_accept() -> None:
    page = Page(id="p0", index=0, width=1000, height=1000, unit="px", text_source="ocr")
    document = Document(
        document_id="d1", source_name="f.png", source_path="f.png", sha256="0" * 64,
        pages=[page],
        entities=[
            _entity("k0", "KEY", "Name:", [0.1, 0.1, 0.2, 0.12]),  # right: untouched
            _entity("k1", "KEY", "Jane", [0.3, 0.1, 0.4, 0.12]),  # an answer: relabelled
            _entity("k2", "VALUE", "note", [0.1, 0.5, 0.2, 0.52]),  # `other` text: deleted
            _entity("k3", "HEADER", "zzz", [0.7, 0.8, 0.8, 0.82]),  # on nothing: deleted
        ],
    )  # fmt: skip
    form = [
        {"id": 0, "label": "question", "text": "Name:", "box": [100, 100, 200, 120],
         "words": [_word("Name:", [100, 100, 200, 120])], "linking": [[0, 1]]},
        {"id": 1, "label": "answer", "text": "Jane", "box": [300, 100, 400, 120],
         "words": [_word("Jane", [300, 100, 400, 120])], "linking": [[0, 1]]},
        {"id": 2, "label": "other", "text": "note", "box": [100, 500, 200, 520],
         "words": [_word("note", [100, 500, 200, 520])], "linking": []},
        {"id": 3, "label": "header", "text": "FORM", "box": [400, 20, 600, 60],
         "words": [_word("FORM", [400, 20, 600, 60])], "linking": []},  # missed: added
    ]  # fmt: skip
    corrections = review_from_truth(document, form, "r1")
    made = [(c.action, c.target_type, c.target_id) for c in corrections]
    assert made == [
        ("relabel", "entity", "k1"),
        ("delete", "entity", "k2"),
        ("delete", "entity", "k3"),
        ("add", "entity", "e-review-gt3"),
        ("accept", "document", "d1"),
    ]
    assert corrections[0].new_value == {"label": "VALUE", "text": "Jane"}
    added = corrections[3].new_value
    assert added["label"] == "HEADER" and added["bbox"] == [0.4, 0.02, 0.6, 0.06]
    assert {c.result_id for c in corrections} == {"r1"}
