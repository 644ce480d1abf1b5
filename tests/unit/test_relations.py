"""`relations.text` on documents built here, with their entities given (so the rules, not the
NER model, are under test): sentences and their mentions, dependency paths, the person /
organisation / amount / date rules and their negatives, contact and signature lines, ids and
evidence in the document."""

from __future__ import annotations

import pytest

from extractors.document import Block, Document, Entity, Line, Page, Relation, Word
from extractors.stages.entities.text import page_text
from extractors.stages.relations import RelationOptions, RelationStage, document_sentences
from extractors.stages.relations.contacts import line_relations
from extractors.stages.relations.parse import Token
from extractors.stages.relations.rules import decide, dependency_path
from extractors.stages.relations.sentences import block_sentences, relation_label


def _document(*blocks: str) -> Document:
    made = []
    for b, text in enumerate(blocks):
        lines = []
        for n, line in enumerate(text.split("\n")):
            words = [
                Word(id=f"w{b}-{n}-{k}", text=t, bbox=[0.1 + 0.01 * k, 0.1, 0.11 + 0.01 * k, 0.12])
                for k, t in enumerate(line.split())
            ]
            lines.append(Line(id=f"l{b}-{n}", text=line, bbox=[0.1, 0.1, 0.9, 0.12], words=words))
        made.append(Block(id=f"b{b}", order=b, bbox=[0.1, 0.1, 0.9, 0.5], lines=lines))
    page = Page(id="p0", index=0, width=600, height=800, unit="px", blocks=made)
    return Document(
        document_id="d", source_name="t", source_path="t", sha256="0" * 64, pages=[page]
    )


def _mark(document: Document, label: str, text: str, value: str | None = None, nth: int = 0) -> str:
    """Add an entity over the words spelling `text` (the nth time they occur); its id."""
    words = list(document.pages[0].words())
    want = [t.strip("().,") for t in text.split()]
    starts = [
        i
        for i in range(len(words))
        if [w.text.strip("().,") for w in words[i : i + len(want)]] == want
    ]
    chosen = words[starts[nth] : starts[nth] + len(want)]
    entity_id = f"e{len(document.entities)}"
    document.entities.append(
        Entity(
            id=entity_id,
            label=label,
            text=text,
            value=value,
            page=0,
            word_ids=[w.id for w in chosen],
            source="test",
        )
    )
    return entity_id


def _line_triples(document: Document) -> set[tuple[str, str, str]]:
    """(label, head text, tail value) of the line rules' relations on the first page."""
    found = line_relations(page_text(document.pages[0]), document.entities)
    return {(r.label, r.head.text, r.tail.value or r.tail.text) for r in found}


def _triples(document: Document) -> set[tuple[str, str, str]]:
    text = {e.id: e.text for e in document.entities}
    return {(r.label, text[r.head], text[r.tail]) for r in document.relations}


@pytest.fixture(scope="module")
def stage() -> RelationStage:
    return RelationStage()


def test_sentences_split_at_end_punctuation_but_not_after_abbreviations() -> None:
    text = "Mr. Smith of Acme Ltd. met us. Then he left! Was it 5 p.m.? Yes."
    spans = [text[a:b] for a, b in block_sentences(text)]
    assert spans == ["Mr. Smith of Acme Ltd. met us.", "Then he left!", "Was it 5 p.m.?", "Yes."]


def test_blocks_of_short_lines_read_line_by_line_and_prose_across_lines() -> None:
    card = "Jane Doe\nSales Director\nGlobex Corporation"
    assert [card[a:b] for a, b in block_sentences(card)] == card.split("\n")
    prose = "John Smith, the chief executive\nof Acme Corp, signed the letter."
    assert [prose[a:b] for a, b in block_sentences(prose)] == [prose]


def test_mentions_carry_offsets_into_their_sentence() -> None:
    doc = _document("It rained. John Smith joined Acme Corp in May.")
    _mark(doc, "PERSON", "John Smith")
    _mark(doc, "ORG", "Acme Corp")
    (sentence,) = document_sentences(doc)
    assert sentence.text == "John Smith joined Acme Corp in May."
    assert [sentence.text[m.start : m.end] for m in sentence.mentions] == [
        "John Smith",
        "Acme Corp",
    ]


def test_relation_labels_correct_common_ner_slips() -> None:
    def entity(label: str, text: str, value: str | None = None) -> Entity:
        return Entity(id="x", label=label, text=text, value=value)

    assert relation_label(entity("PERSON", "Globex Corporation")) == "ORG"
    assert relation_label(entity("PERSON", "Jane Doe")) == "PERSON"
    assert relation_label(entity("ORG", "LLC")) == "OTHER"
    assert relation_label(entity("ORG", "CTO")) == "OTHER"
    assert relation_label(entity("DATE", "thirty days")) == "PERIOD"
    assert relation_label(entity("DATE", "last year")) == "PERIOD"
    assert relation_label(entity("DATE", "2019")) == "PERIOD"
    assert relation_label(entity("DATE", "March 3")) == "DATE"
    assert relation_label(entity("DATE", "1 May 2024", "2024-05-01")) == "DATE"


def test_dependency_path_runs_through_the_lowest_common_ancestor() -> None:
    # "Smith of Acme signed": Smith <- signed (root); of <- Smith; Acme <- of
    parse = [
        Token(0, 5, "Smith", "smith", "PROPN", "nsubj", 3),
        Token(6, 8, "of", "of", "ADP", "prep", 0),
        Token(9, 13, "Acme", "acme", "PROPN", "pobj", 1),
        Token(14, 20, "signed", "sign", "VERB", "ROOT", 3),
    ]
    assert dependency_path(parse, 2, 3) == [2, 1, 0, 3]
    assert dependency_path(parse, 0, 2) == [0, 1, 2]
    two_roots = [*parse[:3], Token(14, 20, "x", "x", "X", "ROOT", 3)]
    two_roots[0] = Token(0, 5, "Smith", "smith", "PROPN", "ROOT", 0)
    assert dependency_path(two_roots, 2, 3) is None


def test_person_organisation_amount_and_date_from_the_parse(stage: RelationStage) -> None:
    doc = _document(
        "John Smith, CEO of Acme Corp, signed the agreement on 12 March 2024. "
        "Beta Holdings shall pay EUR 5,000 within a month."
    )
    _mark(doc, "PERSON", "John Smith")
    _mark(doc, "ORG", "Acme Corp")
    _mark(doc, "DATE", "12 March 2024", "2024-03-12")
    _mark(doc, "ORG", "Beta Holdings")
    _mark(doc, "MONEY", "EUR 5,000", "5000.00 EUR")
    stage(doc)
    assert _triples(doc) == {
        ("person_org", "John Smith", "Acme Corp"),
        ("party_date", "John Smith", "12 March 2024"),
        ("org_amount", "Beta Holdings", "EUR 5,000"),
    }
    first = doc.relations[0]
    assert first.source == "relations.text" and first.page == 0
    assert first.evidence == "John Smith, CEO of Acme Corp, signed the agreement on 12 March 2024."
    assert (
        0.5
        <= min(r.confidence for r in doc.relations)
        <= max(r.confidence for r in doc.relations)
        <= 1.0
    )


def test_links_that_belong_to_someone_else_are_not_made(stage: RelationStage) -> None:
    doc = _document(
        "Peter Brown works for Initech and met Sarah Connor of Cyberdyne Systems. "
        "Olga Ivanova sued Initech over the delay. "
        "Vandelay Industries was praised in a report that listed EUR 300 of fines elsewhere."
    )
    _mark(doc, "PERSON", "Peter Brown")
    _mark(doc, "ORG", "Initech")
    _mark(doc, "PERSON", "Sarah Connor")
    _mark(doc, "ORG", "Cyberdyne Systems")
    _mark(doc, "PERSON", "Olga Ivanova")
    _mark(doc, "ORG", "Initech", nth=1)
    _mark(doc, "ORG", "Vandelay Industries")
    _mark(doc, "MONEY", "EUR 300", "300.00 EUR")
    stage(doc)
    assert _triples(doc) == {
        ("person_org", "Peter Brown", "Initech"),
        ("person_org", "Sarah Connor", "Cyberdyne Systems"),
    }


def test_both_parties_of_a_contract_get_its_date(stage: RelationStage) -> None:
    doc = _document("The contract between Acme Corp and Globex Corporation is dated 3 April 2023.")
    _mark(doc, "ORG", "Acme Corp")
    _mark(doc, "ORG", "Globex Corporation")
    _mark(doc, "DATE", "3 April 2023", "2023-04-03")
    stage(doc)
    assert _triples(doc) == {
        ("party_date", "Acme Corp", "3 April 2023"),
        ("party_date", "Globex Corporation", "3 April 2023"),
    }


def test_surface_patterns_work_without_a_parse() -> None:
    doc = _document("JANE DOE, HEAD OF SALES AT GLOBEX, SAID NO. Acme Ltd shall pay EUR 10 now.")
    _mark(doc, "PERSON", "JANE DOE")
    _mark(doc, "ORG", "GLOBEX")
    _mark(doc, "ORG", "Acme Ltd")
    _mark(doc, "MONEY", "EUR 10", "10.00 EUR")
    found = [f for s in document_sentences(doc) for f in decide(s, None)]
    assert {(f.label, f.reason) for f in found} == {("person_org", "text"), ("org_amount", "text")}


def test_contacts_go_to_the_name_they_spell_or_the_nearest_party_above() -> None:
    doc = _document(
        "Globex Corporation\n12 High Street\ninfo@globex.com",
        "Kind regards,\nJane Doe\nSales Director\nInitech Ltd\njane.doe@mail.com\n+44 20 7946 0958",
    )
    _mark(doc, "ORG", "Globex Corporation")
    _mark(doc, "EMAIL", "info@globex.com", "info@globex.com")
    _mark(doc, "PERSON", "Jane Doe")
    _mark(doc, "ORG", "Initech Ltd")
    _mark(doc, "EMAIL", "jane.doe@mail.com", "jane.doe@mail.com")
    _mark(doc, "PHONE", "+44 20 7946 0958", "+442079460958")
    assert _line_triples(doc) == {
        ("org_email", "Globex Corporation", "info@globex.com"),
        ("person_email", "Jane Doe", "jane.doe@mail.com"),
        ("org_phone", "Initech Ltd", "+442079460958"),
        ("person_org", "Jane Doe", "Initech Ltd"),
    }


def test_a_name_and_an_organisation_on_wrapped_prose_lines_are_no_signature() -> None:
    doc = _document("We wrote to Jane Doe about the invoice last week and then\nAcme Corp replied.")
    _mark(doc, "PERSON", "Jane Doe")
    _mark(doc, "ORG", "Acme Corp")
    assert line_relations(page_text(doc.pages[0]), doc.entities) == []


def test_ids_continue_past_other_stages_and_a_rerun_replaces_its_own(stage: RelationStage) -> None:
    doc = _document("John Smith of Acme Corp called.")
    _mark(doc, "PERSON", "John Smith")
    _mark(doc, "ORG", "Acme Corp")
    doc.relations.append(Relation(id="r0", label="key_value", head="e0", tail="e1", source="x"))
    stage(doc)
    stage(doc)
    assert [(r.id, r.label) for r in doc.relations] == [("r0", "key_value"), ("r1", "person_org")]


def test_options_min_confidence_and_no_parse() -> None:
    doc = _document("Acme Corp hired John Smith. John Smith, CEO of Acme Corp, spoke.")
    _mark(doc, "ORG", "Acme Corp")
    _mark(doc, "PERSON", "John Smith")
    _mark(doc, "PERSON", "John Smith", nth=1)
    _mark(doc, "ORG", "Acme Corp", nth=1)
    RelationStage(RelationOptions(min_confidence=0.99))(doc)
    assert doc.relations == []
    RelationStage(RelationOptions(parse=False))(doc)
    assert [(r.label, r.head, r.tail) for r in doc.relations] == [("person_org", "e2", "e3")]


def test_a_phone_in_an_address_line_is_not_the_streets_and_initials_spell_a_name() -> None:
    doc = _document(
        "Cash Sale (Ara Damansara) Tel: 03-7832 6929\nTotal 12.00",
        "Corresponding author: Tim Tenbensel, Associate\nProfessor (ttenbensel@auckland.ac.nz)",
    )
    _mark(doc, "PERSON", "Ara Damansara")
    _mark(doc, "PHONE", "03-7832 6929", "+60378326929")
    _mark(doc, "PERSON", "Tim Tenbensel")
    _mark(doc, "EMAIL", "ttenbensel@auckland.ac.nz", "ttenbensel@auckland.ac.nz")
    assert _line_triples(doc) == {("person_email", "Tim Tenbensel", "ttenbensel@auckland.ac.nz")}


def test_bench_helpers_add_the_stage_once_and_count_what_it_finds() -> None:
    from extractors.stage import check_data_flow
    from pipelines.evaluation.bench_relations import bench_stage, with_relations
    from pipelines.execution.config import PipelineConfig, StageSpec

    config = with_relations(PipelineConfig(name="t", stages=[StageSpec(kind="entities.text")]))
    assert [s.kind for s in config.stages].count("relations.text") == 1
    assert with_relations(config) is config
    check_data_flow(config.build_stages())
    doc = _document("John Smith of Acme Corp called.")
    _mark(doc, "PERSON", "John Smith")
    _mark(doc, "ORG", "Acme Corp")
    bench = bench_stage([doc], repeats=1)
    assert (bench.documents, bench.pages, bench.relations_per_page) == (1, 1, 1.0)
    assert doc.relations == []  # the stage ran on a copy


def test_a_signature_is_no_addressee_of_a_memo() -> None:
    doc = _document("FROM:\nH. L. Williams\nTO:\nGoldfarb Consultants\nRE: Survey")
    _mark(doc, "PERSON", "H. L. Williams")
    _mark(doc, "ORG", "Goldfarb Consultants")
    assert _line_triples(doc) == set()
    doc = _document("Sincerely,\nH. L. Williams\nDirector\nGoldfarb Consultants")
    _mark(doc, "PERSON", "H. L. Williams")
    _mark(doc, "ORG", "Goldfarb Consultants")
    assert _line_triples(doc) == {("person_org", "H. L. Williams", "Goldfarb Consultants")}


def test_a_legal_form_can_end_a_sentence() -> None:
    text = "The fee is payable by Acme Ltd. Beta Corp. will act as supplier. See Fig. 2 here."
    assert [text[a:b] for a, b in block_sentences(text)] == [
        "The fee is payable by Acme Ltd.",
        "Beta Corp. will act as supplier.",
        "See Fig. 2 here.",
    ]
