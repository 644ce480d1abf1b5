"""TEDS on hand-computed cases, and Folio tables written as HTML."""

from __future__ import annotations

import pytest

from extractors.document import Cell, Table
from pipelines.evaluation.evaluate_pubtabnet import html_tree, structure_html, table_html, teds

TRUTH = "<table><tr><td>ab</td><td>cd</td></tr></table>"  # table, tr, td, td: 4 nodes


def _tree(markup: str):  # type: ignore[no-untyped-def]
    tree = html_tree(markup)
    assert tree is not None
    return tree


def test_identical_tables_score_one() -> None:
    truth = _tree(
        "<html><body><table><thead><tr><td><b>x</b></td></tr></thead></table></body></html>"
    )
    assert teds(_tree("<table><thead><tr><td>x</td></tr></thead></table>"), truth) == 1.0
    assert teds(_tree(TRUTH), _tree(TRUTH)) == 1.0


def test_nothing_predicted_scores_zero_and_an_empty_table_little() -> None:
    assert teds(None, _tree(TRUTH)) == 0.0
    # Three nodes to insert out of four.
    assert teds(_tree("<table></table>"), _tree(TRUTH)) == pytest.approx(0.25)


def test_one_cell_differs() -> None:
    predicted = _tree("<table><tr><td>ab</td><td>ce</td></tr></table>")
    # One of two characters wrong: rename cost 0.5 over 4 nodes.
    assert teds(predicted, _tree(TRUTH)) == pytest.approx(1 - 0.5 / 4)
    assert teds(predicted, _tree(TRUTH), structure_only=True) == 1.0
    merged = _tree('<table><tr><td colspan="2">abcd</td></tr></table>')
    # A spanning cell for two: one rename (spans differ) and one deletion.
    assert teds(merged, _tree(TRUTH), structure_only=True) == pytest.approx(1 - 2 / 4)


def test_folio_table_as_html() -> None:
    cells = [
        Cell(row=0, col=0, col_span=2, text="Head & more", is_header=True),
        Cell(row=1, col=0, text="a"),
        Cell(row=1, col=1, text="b"),
    ]
    table = Table(id="t", n_rows=2, n_cols=2, cells=cells, bbox=[0, 0, 1, 1])
    markup = table_html(table)
    assert markup == (
        '<table><thead><tr><td colspan="2">Head &amp; more</td></tr></thead>'
        "<tbody><tr><td>a</td><td>b</td></tr></tbody></table>"
    )
    assert teds(_tree(markup), _tree(markup)) == 1.0
    tokens = ["<tr>", "<td></td>", "<td", ' colspan="2"', ">", "</td>", "</tr>"]
    assert structure_html(tokens) == '<table><tr><td></td><td colspan="2"></td></tr></table>'
