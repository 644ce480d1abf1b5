"""Fuzzing fixtures: one sandboxed child process for the session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fuzz.isolated import INGEST_MEMORY_MIB, PIPELINE_MEMORY_MIB, Sandbox


@pytest.fixture(scope="session")
def fuzz_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


def _sandbox(folder: Path, memory_mib: int, pipeline: bool = False) -> Iterator[Sandbox]:
    folder.mkdir()
    child = Sandbox(folder, memory_mib, pipeline)
    yield child
    child.close()
    assert not list(folder.iterdir()), "a parser wrote into its working folder"


@pytest.fixture(scope="session")
def sandbox(fuzz_root: Path) -> Iterator[Sandbox]:
    """The child that opens hostile files (ingest only); its working folder must stay empty."""
    yield from _sandbox(fuzz_root / "ingest-cwd", INGEST_MEMORY_MIB)


@pytest.fixture(scope="session")
def pipeline_sandbox(fuzz_root: Path) -> Iterator[Sandbox]:
    """The child that runs the pipeline over hostile files."""
    yield from _sandbox(fuzz_root / "pipeline-cwd", PIPELINE_MEMORY_MIB, pipeline=True)
