"""The `entities.text` stage over small documents built here: reading-ordered text, entities
mapped back to word ids, pages and boxes, spaCy batched and loaded once, patterns winning over
spaCy spans on the same words, ids unique in the document."""

from __future__ import annotations

from typing import Any

import pytest

from extractors.document import Block, Document, Entity, Line, Page, Word
from extractors.stage import StageError
from extractors.stages.entities import EntityOptions, EntityStage, ner
from extractors.stages.entities.text import page_text, union_bbox


def _line(page: int, n: int, words: list[str], top: float) -> Line:
    made, x = [], 0.05
    for k, text in enumerate(words):
        width = 0.02 * len(text)
        made.append(Word(id=f"p{page}-w{n}-{k}", text=text, bbox=[x, top, x + width, top + 0.02]))
        x += width + 0.01
    return Line(
        id=f"p{page}-l{n}", text=" ".join(words), bbox=[0.05, top, x, top + 0.02], words=made
    )


def _page(index: int, blocks: list[tuple[int, list[list[str]]]]) -> Page:
    made = []
    for b, (order, lines) in enumerate(blocks):
        top = 0.1 + 0.2 * b
        made.append(
            Block(
                id=f"p{index}-b{b}",
                order=order,
                bbox=[0.05, top, 0.9, top + 0.15],
                lines=[
                    _line(index, 10 * b + n, words, top + 0.03 * n) for n, words in enumerate(lines)
                ],
            )
        )
    return Page(id=f"p{index}", index=index, width=600, height=800, unit="px", blocks=made)


def _document(*pages: Page) -> Document:
    return Document(
        document_id="doc-test", source_name="t", source_path="t", sha256="0" * 64, pages=list(pages)
    )


@pytest.fixture(scope="module")
def nlp() -> Any:
    return ner.load()  # loaded once for the module; the stage reuses the same pipeline


@pytest.fixture(scope="module")
def stage(nlp: Any) -> EntityStage:
    return EntityStage()


def _by_label(document: Document, label: str) -> list[Entity]:
    return [e for e in document.entities if e.label == label]


def test_page_text_follows_block_order_and_maps_offsets_to_words() -> None:
    page = _page(0, [(1, [["second", "block"]]), (0, [["first"], ["block", "here"]])])
    pt = page_text(page)
    assert pt.text == "first\nblock here\n\nsecond block"
    start = pt.text.index("here")
    assert [w.id for w in pt.words_in(start, start + 4)] == ["p0-w11-1"]
    assert [w.text for w in pt.words_in(start - 3, start + 9)] == ["block", "here", "second"]
    assert pt.words_in(5, 6) == []  # the newline between lines touches no word


def test_union_bbox() -> None:
    a = Word(id="a", text="a", bbox=[0.1, 0.2, 0.2, 0.3])
    b = Word(id="b", text="b", bbox=[0.3, 0.1, 0.4, 0.25])
    assert union_bbox([a, b]) == [0.1, 0.1, 0.4, 0.3]
    assert union_bbox([]) is None


def test_entities_map_to_their_words_and_boxes(stage: EntityStage) -> None:
    page = _page(
        0,
        [(0, [["BOOK", "TA", "SDN", "BHD"], ["DATE:", "25/12/2018"], ["TOTAL", "RM", "9.", "00"]])],
    )
    document = _document(page)
    stage(document)
    (money,) = [e for e in _by_label(document, "MONEY") if e.value == "9.00 MYR"]
    assert money.word_ids == ["p0-w2-1", "p0-w2-2", "p0-w2-3"]  # "RM 9. 00": split by OCR
    words = {w.id: w for w in page.words()}
    assert money.bbox == union_bbox([words[i] for i in money.word_ids])
    assert money.page == 0 and money.source == "entities.text"
    (date,) = _by_label(document, "DATE")
    assert (date.value, date.word_ids, date.text) == ("2018-12-25", ["p0-w1-1"], "25/12/2018")


def test_amount_with_currency_after_split_words(stage: EntityStage) -> None:
    document = _document(_page(0, [(0, [["Totaal", "1", "234,56", "€"]])]))
    stage(document)
    (money,) = _by_label(document, "MONEY")
    assert money.value == "1234.56 EUR"
    assert money.word_ids == ["p0-w0-1", "p0-w0-2", "p0-w0-3"]


def test_spacy_people_and_patterns_win_on_shared_words(stage: EntityStage) -> None:
    document = _document(
        _page(
            0,
            [
                (
                    0,
                    [
                        ["Dear", "John", "Smith,"],
                        ["Microsoft", "Corporation", "paid", "you", "on", "12", "March", "2019."],
                        ["Mail", "john@example.com"],
                    ],
                )
            ],
        )
    )
    stage(document)
    people = _by_label(document, "PERSON")
    assert [p.word_ids for p in people] == [["p0-w0-1", "p0-w0-2"]]
    assert people[0].confidence == EntityOptions().ner_confidence
    (date,) = _by_label(document, "DATE")  # spaCy finds it too; the validated pattern wins
    assert (date.value, date.confidence) == ("2019-03-12", 0.95)
    (email,) = _by_label(document, "EMAIL")
    assert email.word_ids == ["p0-w2-1"]


def test_ids_unique_and_rerun_replaces_only_own_entities(stage: EntityStage) -> None:
    document = _document(
        _page(0, [(0, [["Total", "EUR", "5.00"], ["Date", "2019-01-02"]])]),
        _page(1, [(0, [["Total", "EUR", "7.00"]])]),
    )
    document.entities = [Entity(id="e0", label="KEY", text="x", source="review")]
    stage(document)
    first = [e.id for e in document.entities]
    assert len(first) == len(set(first)) == 4
    assert [e.page for e in _by_label(document, "MONEY")] == [0, 1]
    stage(document)
    assert [e.id for e in document.entities] == first
    assert document.entities[0].source == "review"


def test_predict_many_batches_documents(stage: EntityStage) -> None:
    a = _document(_page(0, [(0, [["Angela", "Merkel", "visited", "Paris."]])]))
    b = _document(_page(0, [(0, [["Nothing", "here"]]), (1, [["Barack", "Obama", "spoke."]])]))
    many = stage.predict_many([a, b])
    assert many == [stage.predict(a), stage.predict(b)]
    assert {s.label for s in many[0][0]} >= {"PERSON", "GPE"}


def test_no_spacy_labels_means_no_spacy(stage: EntityStage) -> None:
    quiet = EntityStage(EntityOptions(ner_labels=()))
    document = _document(_page(0, [(0, [["Angela", "Merkel", "visited", "Paris."]])]))
    assert quiet.predict(document) == [[]]
    quiet(document)
    assert document.entities == []


def test_recase_keeps_length() -> None:
    assert ner.recase("JOHN SMITH\nmixed Case") == "John Smith\nmixed Case"
    text = "STRASSE ß"
    assert len(ner.recase(text)) == len(text)


def test_mostly_numeric_texts_skip_spacy(nlp: Any) -> None:
    texts = ["2 x 12.00 = 24.00\n1 x 3.50 = 3.50 TOTAL 27.50", "Angela Merkel visited Paris."]
    numeric, prose = ner.find_spans(texts, ["PERSON", "GPE", "MONEY", "CARDINAL"])
    assert numeric == []
    assert {s.label for s in prose} == {"PERSON", "GPE"}


def test_a_missing_spacy_pipeline_is_a_stage_error() -> None:
    stage = EntityStage(EntityOptions(ner_model="no_such_pipeline_installed"))
    document = _document(_page(0, [(0, [["Angela", "Merkel"]])]))
    with pytest.raises(StageError, match="not installed") as raised:
        stage(document)
    assert raised.value.stage == "entities.text" and raised.value.document_id == "doc-test"


def test_a_name_stops_at_its_line_break() -> None:
    from extractors.stages.entities.ner import NerSpan, first_line

    text = "Name: Jordan Ellis\nDepartment: R&D"
    assert first_line(text, NerSpan("PERSON", 6, 29)) == NerSpan("PERSON", 6, 18)
    assert first_line(text, NerSpan("ORG", 6, 18)) == NerSpan("ORG", 6, 18)
    assert first_line("12\nAcme", NerSpan("ORG", 0, 7)) is None
