"""Charts (DrawingML `c:chartSpace`): their title and the data cached in the chart part, as a
table (a category column, one column per series). In a DOCX or PPTX the chart's numbers live in
an embedded workbook no reader sees, so the cache is the only place they can be read."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from xml.etree import ElementTree

from extractors.office.native import CellSpec

_C = "{http://schemas.openxmlformats.org/drawingml/2006/chart}"
_A = "{http://schemas.openxmlformats.org/drawingml/2006/main}"


@dataclass
class ChartData:
    title: str
    cells: list[CellSpec]
    n_cols: int


def _points(node: Any) -> dict[int, str]:
    if node is None:
        return {}
    return {int(pt.get("idx", "0")): _value(pt.findtext(f"{_C}v")) for pt in node.iter(f"{_C}pt")}


def _value(text: str | None) -> str:
    """A cached value as a reader sees it: `2.4000000000000004` is 2.4."""
    value = (text or "").strip()
    try:
        return f"{float(value):.10g}"
    except ValueError:
        return value


def read_chart(xml: bytes) -> ChartData | None:
    """The chart's title and data, None if the part is not a chart or holds no cached data."""
    try:
        root = ElementTree.fromstring(xml)
    except ElementTree.ParseError:
        return None
    title_node = root.find(f"{_C}chart/{_C}title")
    title = ""
    if title_node is not None:
        title = " ".join("".join(t.text or "" for t in title_node.iter(f"{_A}t")).split())
    categories: dict[int, str] = {}
    series: list[tuple[str, dict[int, str]]] = []
    for ser in root.iter(f"{_C}ser"):
        name = "".join(_points(ser.find(f"{_C}tx")).values())
        cats = _points(ser.find(f"{_C}cat")) or _points(ser.find(f"{_C}xVal"))
        values = _points(ser.find(f"{_C}val")) or _points(ser.find(f"{_C}yVal"))
        categories = categories or cats
        series.append((name or f"Series {len(series) + 1}", values))
    rows = sorted(set(categories) | {i for _, values in series for i in values})
    if not series or not rows:
        return ChartData(title, [], 0) if title else None
    cells = [CellSpec(0, 0, "", is_header=True)]
    cells += [CellSpec(0, c + 1, name, is_header=True) for c, (name, _) in enumerate(series)]
    for r, idx in enumerate(rows, start=1):
        cells.append(CellSpec(r, 0, categories.get(idx, str(idx + 1))))
        cells += [CellSpec(r, c + 1, values.get(idx, "")) for c, (_, values) in enumerate(series)]
    return ChartData(title, cells, len(series) + 1)
