"""Graph export: one node per distinct entity across documents, one edge per relation, written
as JSON and as GraphML that an XML parser reads back."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from extractors.document import Document, Entity, Relation
from pipelines.graph_export import (
    document_graph,
    export_graphs,
    node_key,
    workspace_graph,
    write_graph,
)

NS = {"g": "http://graphml.graphdrawing.org/xmlns"}


def _document(document_id: str, org: str, date: str, value: str) -> Document:
    entities = [
        Entity(id="e0", label="PERSON", text="Jane Doe", page=0),
        Entity(id="e1", label="ORG", text=org, page=0),
        Entity(id="e2", label="DATE", text=date, value=value, page=0),
        Entity(id="e3", label="EMAIL", text="x@y.com", value="x@y.com", page=0),
    ]
    relations = [
        Relation(
            id="r0",
            label="person_org",
            head="e0",
            tail="e1",
            confidence=0.8,
            page=0,
            evidence=f"Jane Doe of {org} wrote.",
        ),
        Relation(
            id="r1",
            label="party_date",
            head="e1",
            tail="e2",
            confidence=0.65,
            page=0,
            evidence=f"{org} signed on {date}.",
        ),
        Relation(id="r2", label="key_value", head="e0", tail="p0-b1", page=0),  # not an entity
    ]
    return Document(
        document_id=document_id,
        source_name=f"{document_id}.pdf",
        source_path="x",
        sha256="0" * 64,
        entities=entities,
        relations=relations,
    )


def test_keys_fold_case_punctuation_articles_and_use_normalised_values() -> None:
    assert node_key(Entity(id="a", label="ORG", text="The ACME Corp.")) == "acme corp"
    assert node_key(Entity(id="a", label="ORG", text="Acme Corp’s")) == "acme corp"
    assert node_key(Entity(id="a", label="DATE", text="1 May 2024", value="2024-05-01")) == (
        "2024-05-01"
    )
    url = Entity(id="a", label="URL", text="HTTP://Wonder.cdc.gov/", value="http://wonder.cdc.gov/")
    assert node_key(url) == "http://wonder.cdc.gov/"


def test_the_same_organisation_in_two_documents_is_one_node() -> None:
    docs = [
        _document("d1", "Acme Corp", "1 May 2024", "2024-05-01"),
        _document("d2", "ACME CORP.", "May 1, 2024", "2024-05-01"),
    ]
    graph = workspace_graph(docs)
    nodes = {n.id: n for n in graph.nodes}
    assert set(nodes) == {"person:jane doe", "org:acme corp", "date:2024-05-01"}
    assert nodes["org:acme corp"].documents == ["d1", "d2"]
    assert nodes["org:acme corp"].mentions == 2
    assert nodes["org:acme corp"].name == "Acme Corp"  # as first seen
    assert [(e.source, e.target, e.label, e.document_id) for e in graph.edges] == [
        ("person:jane doe", "org:acme corp", "person_org", "d1"),
        ("org:acme corp", "date:2024-05-01", "party_date", "d1"),
        ("person:jane doe", "org:acme corp", "person_org", "d2"),
        ("org:acme corp", "date:2024-05-01", "party_date", "d2"),
    ]
    assert graph.edges[1].evidence == "Acme Corp signed on 1 May 2024."
    assert graph.edges[1].confidence == 0.65


def test_isolated_entities_only_on_request() -> None:
    doc = _document("d1", "Acme Corp", "1 May 2024", "2024-05-01")
    assert "email:x@y.com" not in {n.id for n in document_graph(doc).nodes}
    assert "email:x@y.com" in {n.id for n in document_graph(doc, isolated=True).nodes}


def test_json_and_graphml_files(tmp_path: Path) -> None:
    graph = workspace_graph([_document("d1", "Acme & Co <UK>", "1 May 2024", "2024-05-01")])
    data = json.loads(write_graph(graph, tmp_path / "g.json").read_text())
    assert data["schema"] == "folio.graph/1"
    assert len(data["nodes"]) == 3 and len(data["edges"]) == 2
    assert data["edges"][0]["evidence"] == "Jane Doe of Acme & Co <UK> wrote."

    root = ET.parse(write_graph(graph, tmp_path / "g.graphml", "graphml")).getroot()
    keys = {k.get("id"): k.get("attr.type") for k in root.findall("g:key", NS)}
    assert keys["edge_confidence"] == "double" and keys["node_mentions"] == "int"
    (element,) = root.findall("g:graph", NS)
    assert element.get("edgedefault") == "directed"
    assert len(element.findall("g:node", NS)) == 3
    edges = element.findall("g:edge", NS)
    assert [e.get("source") for e in edges] == ["person:jane doe", "org:acme co uk"]
    data_of = {d.get("key"): d.text for d in edges[0].findall("g:data", NS)}
    assert data_of["edge_evidence"] == "Jane Doe of Acme & Co <UK> wrote."
    assert data_of["edge_document_id"] == "d1"

    with pytest.raises(ValueError, match="unknown graph format"):
        write_graph(graph, tmp_path / "g.x", "dot")  # type: ignore[arg-type]


def test_export_writes_each_document_and_the_workspace(tmp_path: Path) -> None:
    docs = [
        _document("d1", "Acme Corp", "1 May 2024", "2024-05-01"),
        _document("d2", "Globex", "2 May 2024", "2024-05-02"),
    ]
    written = export_graphs(docs, tmp_path / "out")
    assert sorted(p.name for p in written) == [
        "d1.graph.json",
        "d2.graph.json",
        "workspace.graph.json",
        "workspace.graphml",
    ]
    whole = json.loads((tmp_path / "out" / "workspace.graph.json").read_text())
    assert len(whole["edges"]) == 4
    assert {n["id"] for n in whole["nodes"]} >= {"org:acme corp", "org:globex"}
