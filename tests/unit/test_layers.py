"""The import layers of DESIGN.md: workbench -> pipelines -> extractors -> models, never back,
and the heavy outside dependencies only where their layer allows them."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# What each layer may never import (project layers above it, and outside packages it must not
# depend on: models are arrays in/out, stages never touch the database or the app).
FORBIDDEN = {
    "models": {"extractors", "pipelines", "service", "workbench", "duckdb", "streamlit"},
    "extractors": {"pipelines", "service", "workbench", "duckdb", "streamlit"},
    "pipelines": {"workbench", "service", "streamlit"},
    "workbench": {"service"},
    # The service calls pipelines (never the database directly, never the app).
    "service": {"workbench", "streamlit", "duckdb"},
}


def imported_roots(path: Path) -> set[str]:
    roots: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def layer_violations(layer: str) -> list[str]:
    return [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in sorted((ROOT / layer).rglob("*.py"))
        for name in sorted(imported_roots(path) & FORBIDDEN[layer])
    ]


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_imports_point_one_way(layer: str) -> None:
    assert layer_violations(layer) == []


def test_the_check_sees_a_violation(tmp_path: Path) -> None:
    module = tmp_path / "bad.py"
    module.write_text(
        "import duckdb\nfrom pipelines.store.database import query\nfrom . import x\n"
    )
    assert imported_roots(module) == {"duckdb", "pipelines"}
