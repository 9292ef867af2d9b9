"""Fixtures for the window tests."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private data and settings folder for one test's window."""
    monkeypatch.setenv("GEMMA_DESK_HOME", str(tmp_path / "home"))
    return tmp_path / "home"
