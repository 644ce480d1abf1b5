"""Deployment artefact tests: the `container` marker (image build and smoke run, off by default)."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "container: builds and runs the image with podman (needs FOLIO_CONTAINER_TESTS=1)",
    )
