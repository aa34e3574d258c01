"""Shared fixtures: an isolated data cache per test."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def data_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point $SCRATCHNET_DATA at an empty folder for the duration of one test."""
    home = tmp_path / "cache"
    monkeypatch.setenv("SCRATCHNET_DATA", str(home))
    return home
