"""Entities and relations as a graph: per document and across a workspace.

Nodes are entities keyed by label and normalised value (the entity's `value` where a stage
normalised it: ISO dates, amounts with currency, E.164 phones; otherwise its text folded:
case, spacing, punctuation, a leading "the", a possessive), so one organisation named in many
documents is one node that lists the documents it appears in. Edges are relations, each with
its label, confidence, document, page and supporting sentence. Written as JSON
(`{"schema", "nodes", "edges"}`) or GraphML (plain XML; networkx is not a dependency).
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from extractors.document import Document, Entity
from extractors.stages.relations.sentences import relation_label
from pipelines.store.workspace import atomic_write_bytes

GRAPH_SCHEMA = "folio.graph/1"
GraphFormat = Literal["json", "graphml"]
GRAPH_FORMATS: tuple[GraphFormat, ...] = ("json", "graphml")
_NS = "http://graphml.graphdrawing.org/xmlns"
_PUNCT = re.compile(r"[^\w@+%.\- ]+")
_SPACE = re.compile(r"\s+")


@dataclass
class Node:
    id: str  # "<label>:<key>", the same in every document
    label: str
    name: str  # the text it was first seen as
    key: str
    documents: list[str] = field(default_factory=list)
    mentions: int = 0


@dataclass
class Edge:
    source: str  # node ids (the relation's head and tail)
    target: str
    label: str
    confidence: float
    document_id: str
    relation_id: str
    page: int | None
    evidence: str


@dataclass
class Graph:
    nodes: list[Node] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": GRAPH_SCHEMA,
            "nodes": [asdict(n) for n in self.nodes],
            "edges": [asdict(e) for e in self.edges],
        }


def node_key(entity: Entity) -> str:
    """What makes two mentions one node: the normalised value, else the folded text."""
    if entity.value:  # normalised already (ISO dates, amounts, E.164, URLs): kept as it is
        return entity.value.strip().casefold()
    raw = entity.text
    text = _SPACE.sub(" ", _PUNCT.sub(" ", raw.casefold().replace("’", "'"))).strip(" .-")
    text = re.sub(r"^the ", "", text)
    return re.sub(r" s$", "", text) or raw.strip().casefold()


def node_id(entity: Entity) -> str:
    return f"{relation_label(entity).lower()}:{node_key(entity)}"


class _Builder:
    def __init__(self, isolated: bool) -> None:
        self.isolated = isolated
        self.nodes: dict[str, Node] = {}
        self.edges: list[Edge] = []

    def add(self, document: Document) -> None:
        entities = {e.id: e for e in document.entities}
        linked = {r.head for r in document.relations} | {r.tail for r in document.relations}
        for entity in document.entities:
            if self.isolated or entity.id in linked:
                self._node(entity, document.document_id)
        for relation in document.relations:
            head, tail = entities.get(relation.head), entities.get(relation.tail)
            if head is None or tail is None:
                continue  # a relation between elements that are not entities
            self.edges.append(
                Edge(
                    source=node_id(head),
                    target=node_id(tail),
                    label=relation.label,
                    confidence=relation.confidence,
                    document_id=document.document_id,
                    relation_id=relation.id,
                    page=relation.page,
                    evidence=relation.evidence,
                )
            )

    def _node(self, entity: Entity, document_id: str) -> None:
        nid = node_id(entity)
        node = self.nodes.get(nid)
        if node is None:
            label = relation_label(entity)
            node = Node(nid, label, entity.text, nid.split(":", 1)[1])
            self.nodes[nid] = node
        node.mentions += 1
        if document_id not in node.documents:
            node.documents.append(document_id)

    def graph(self) -> Graph:
        return Graph(sorted(self.nodes.values(), key=lambda n: n.id), self.edges)


def document_graph(document: Document, isolated: bool = False) -> Graph:
    """One document's graph; `isolated` keeps entities that take part in no relation."""
    return workspace_graph([document], isolated)


def workspace_graph(documents: Iterable[Document], isolated: bool = False) -> Graph:
    """Many documents' graph: a node per distinct entity, an edge per relation."""
    builder = _Builder(isolated)
    for document in documents:
        builder.add(document)
    return builder.graph()


def to_json(graph: Graph) -> str:
    return json.dumps(graph.to_dict(), ensure_ascii=False, indent=1)


# GraphML attribute keys: (name, type) for nodes and for edges.
_NODE_KEYS: tuple[tuple[str, str], ...] = (
    ("label", "string"),
    ("name", "string"),
    ("key", "string"),
    ("documents", "string"),
    ("mentions", "int"),
)
_EDGE_KEYS: tuple[tuple[str, str], ...] = (
    ("label", "string"),
    ("confidence", "double"),
    ("document_id", "string"),
    ("relation_id", "string"),
    ("page", "int"),
    ("evidence", "string"),
)


def to_graphml(graph: Graph) -> str:
    """GraphML 1.0: node and edge attributes as typed keys; `documents` space-separated."""
    ET.register_namespace("", _NS)
    root = ET.Element(f"{{{_NS}}}graphml")
    for scope, keys in (("node", _NODE_KEYS), ("edge", _EDGE_KEYS)):
        for name, kind in keys:
            ET.SubElement(
                root,
                f"{{{_NS}}}key",
                {"id": f"{scope}_{name}", "for": scope, "attr.name": name, "attr.type": kind},
            )
    element = ET.SubElement(root, f"{{{_NS}}}graph", {"id": "folio", "edgedefault": "directed"})
    for node in graph.nodes:
        values = asdict(node) | {"documents": " ".join(node.documents)}
        _with_data(ET.SubElement(element, f"{{{_NS}}}node", {"id": node.id}), "node", values)
    for n, edge in enumerate(graph.edges):
        attrs = {"id": f"e{n}", "source": edge.source, "target": edge.target}
        _with_data(ET.SubElement(element, f"{{{_NS}}}edge", attrs), "edge", asdict(edge))
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def _with_data(element: ET.Element, scope: str, values: dict[str, Any]) -> None:
    for name, _ in _NODE_KEYS if scope == "node" else _EDGE_KEYS:
        if values.get(name) is not None:
            ET.SubElement(element, f"{{{_NS}}}data", {"key": f"{scope}_{name}"}).text = str(
                values[name]
            )


def write_graph(graph: Graph, path: Path, fmt: GraphFormat = "json") -> Path:
    """Write atomically (temp file + rename), as every export does."""
    if fmt not in GRAPH_FORMATS:
        raise ValueError(f"unknown graph format {fmt!r}; known: {', '.join(GRAPH_FORMATS)}")
    text = to_json(graph) if fmt == "json" else to_graphml(graph)
    atomic_write_bytes(path, text.encode())
    return path


def export_graphs(documents: Iterable[Document], out: Path) -> list[Path]:
    """`folio export --format graph`: `<document_id>.graph.json` per document, and the
    workspace graph as `workspace.graph.json` and `workspace.graphml`."""
    out.mkdir(parents=True, exist_ok=True)
    documents = list(documents)
    written = [
        write_graph(document_graph(d), out / f"{d.document_id}.graph.json") for d in documents
    ]
    whole = workspace_graph(documents)
    written.append(write_graph(whole, out / "workspace.graph.json"))
    written.append(write_graph(whole, out / "workspace.graphml", "graphml"))
    return written


__all__ = [
    "GRAPH_FORMATS",
    "Edge",
    "Graph",
    "Node",
    "document_graph",
    "export_graphs",
    "node_id",
    "node_key",
    "to_graphml",
    "to_json",
    "workspace_graph",
    "write_graph",
]
