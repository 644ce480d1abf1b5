"""Stress and random-kill runs of the staging area (longer runs:
`python -m tests.integration.staging_stress --stress 5 --kills 200`)."""

from __future__ import annotations

from pathlib import Path

from tests.integration.staging_stress import kill_loop, stress_once


def test_writers_and_tight_loaders_lose_nothing(tmp_path: Path) -> None:
    result = stress_once(tmp_path / "ws", n=30)
    assert result.loads > 0


def test_random_kills_lose_nothing_and_never_wedge(tmp_path: Path) -> None:
    result = kill_loop(tmp_path / "ws", kills=12, seed=1)
    assert result.bundles > 0 and result.corrections > 0
