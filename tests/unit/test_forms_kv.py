"""forms.kv: segments, labels and key-value links on generated form pages."""

from __future__ import annotations

from extractors.document import Document, Entity, Relation
from extractors.stages.forms.kv import FormKvStage
from extractors.stages.forms.segments import Segment, segments
from tests.forms_fixtures import APPLICATION, form_document, form_page


def _by_text(document: Document, label: str) -> dict[str, Entity]:
    return {e.text: e for e in document.entities if e.label == label and e.source == "forms.kv"}


def _links(document: Document, label: str = "key_value") -> set[tuple[str, str]]:
    ids = {e.id: e.text for e in document.entities}
    return {(ids[r.head], ids[r.tail]) for r in document.relations if r.label == label}


def test_lines_cut_after_colons_and_wrapped_values_joined() -> None:
    page = form_page(
        [
            ("Date: June 21, 1993", 0.1, 0.1),
            ("Remarks: the current system of managing records is", 0.1, 0.2),
            ("too complex and must change soon", 0.1, 0.2 + 0.018),
        ]
    )
    texts = [s.text for s in segments(page)]
    assert texts == [
        "Date:",
        "June 21, 1993",
        "Remarks:",
        "the current system of managing records is too complex and must change soon",
    ]


def test_stacked_short_labels_stay_apart() -> None:
    page = form_page([("Date Received", 0.6, 0.1), ("Log Number", 0.6, 0.118)])
    assert [s.text for s in segments(page)] == ["Date Received", "Log Number"]


def test_application_form_keys_values_header_and_links() -> None:
    document = form_document(APPLICATION)
    FormKvStage()(document)
    keys, values = _by_text(document, "KEY"), _by_text(document, "VALUE")
    assert {"Name:", "Date:", "Phone:", "Address:", "Signature:"} <= set(keys)
    assert {"Jane Doe", "12/05/2024", "555-0199", "12 Main Street, Springfield"} <= set(values)
    assert set(_by_text(document, "HEADER")) == {"APPLICATION FORM"}
    assert _links(document) >= {
        ("Name:", "Jane Doe"),
        ("Date:", "12/05/2024"),
        ("Phone:", "555-0199"),
        ("Address:", "12 Main Street, Springfield"),
        ("Signature:", "J. Doe"),
    }
    name = keys["Name:"]
    assert name.word_ids == ["p0-w2"] and name.page == 0 and name.bbox is not None
    relation = next(r for r in document.relations if r.head == name.id)
    assert relation.evidence == "Name: Jane Doe" and relation.page == 0
    assert relation.source == "forms.kv"


def test_keys_without_colon_take_the_value_right_of_them() -> None:
    runs = [
        ("DEPARTMENT", 0.1, 0.1),
        ("Research Library", 0.35, 0.1),
        ("Name:", 0.1, 0.2),
        ("Carol Lincoln", 0.3, 0.2),
        ("Phone:", 0.1, 0.25),
        ("555 0100", 0.3, 0.25),
        ("Fax:", 0.1, 0.3),
        ("555 0101", 0.3, 0.3),
        ("Date:", 0.1, 0.35),
        ("June 1", 0.3, 0.35),
    ]
    document = form_document(runs)
    FormKvStage()(document)
    assert ("DEPARTMENT", "Research Library") in _links(document)


def test_receipts_and_prose_are_left_alone() -> None:
    receipt = form_document(APPLICATION, doc_type="receipt")
    FormKvStage()(receipt)
    assert receipt.entities == [] and receipt.relations == []
    prose = form_document(
        [
            (
                f"this is a long line of running text number {n} in the report body",
                0.05,
                0.1 + n * 0.02,
            )
            for n in range(20)
        ],
        doc_type="report",
    )
    FormKvStage()(prose)
    assert prose.entities == []


def test_other_stages_entities_are_kept_and_ids_do_not_collide() -> None:
    document = form_document(APPLICATION)
    document.entities = [Entity(id="k0", label="PERSON", text="Jane Doe", source="entities.text")]
    document.relations = [Relation(id="kv0", label="person_org", head="k0", tail="k0")]
    stage = FormKvStage()
    stage(document)
    stage(document)  # running again replaces its own output, nothing else
    ids = [e.id for e in document.entities]
    assert len(ids) == len(set(ids)) and ids[0] == "k0"
    assert document.entities[0].source == "entities.text"
    assert [r.id for r in document.relations].count("kv0") == 1
    assert sum(1 for e in document.entities if e.text == "Name:") == 1


def test_check_marks_become_checkboxes_linked_to_their_label() -> None:
    runs = [
        ("Do you agree?", 0.1, 0.1),
        ("☑", 0.1, 0.15),
        ("Yes", 0.14, 0.15),
        ("☐", 0.3, 0.15),
        ("No", 0.34, 0.15),
    ]
    document = form_document(runs)
    FormKvStage()(document)
    boxes = [e for e in document.entities if e.label == "CHECKBOX"]
    assert [(b.text, b.value) for b in boxes] == [("☑", "true"), ("☐", "false")]
    assert _links(document, "checkbox_label") == {("☑", "Yes"), ("☐", "No")}
    assert {"Yes", "No"} <= set(_by_text(document, "KEY"))


def test_a_value_ending_a_label_line_is_cut_off_but_dates_stay_whole() -> None:
    page = form_page([("Date Received 6/21/93", 0.1, 0.1), ("Due June 21, 1993", 0.1, 0.2)])
    assert [s.text for s in segments(page)] == ["Date Received", "6/21/93", "Due June 21, 1993"]


def test_a_form_typed_other_is_read_from_its_own_cues() -> None:
    document = form_document(APPLICATION, doc_type="other")
    FormKvStage()(document)
    assert ("Name:", "Jane Doe") in _links(document)


def test_a_row_label_keeps_the_values_of_every_column() -> None:
    runs = [
        ("Name:", 0.1, 0.05),
        ("Score:", 0.1, 0.1),
        ("Total:", 0.1, 0.15),
        ("Date:", 0.1, 0.2),
        ("Tar yield", 0.1, 0.3),
        ("3.47", 0.4, 0.3),
        ("4.00", 0.6, 0.3),
    ]
    document = form_document(runs)
    FormKvStage()(document)
    assert {("Tar yield", "3.47"), ("Tar yield", "4.00")} <= _links(document)


def test_stacked_labels_of_a_table_are_not_one_wrapped_line() -> None:
    page = form_page(
        [
            ("Filter Plug Pressure Drop in mm (unencapsulated)", 0.1, 0.1),
            ("Filter Plug Pressure Drop in mm (encapsulated)", 0.1, 0.118),
        ]
    )
    assert len(segments(page)) == 2


def test_a_prose_page_with_few_cues_is_decided_without_building_segments() -> None:
    from extractors.stages.forms.kv import FormKvOptions, looks_like_form

    line = "a long line of running report text, line {} of the body"
    prose = form_page([(line.format(n), 0.05, 0.1 + n * 0.02) for n in range(12)])

    def never() -> list[Segment]:
        raise AssertionError("segments were built although the page's pieces hold no cues")

    assert not looks_like_form(prose, never, 0.08, FormKvOptions())
    # With enough colon labels the segments decide: here they do make it a form.
    labels = form_page([(f"Field {n}: value {n}", 0.1, 0.1 + n * 0.03) for n in range(6)])
    asked: list[int] = []

    def built() -> list[Segment]:
        asked.append(1)
        return segments(labels)

    assert looks_like_form(labels, built, 0.08, FormKvOptions()) and asked == [1]
