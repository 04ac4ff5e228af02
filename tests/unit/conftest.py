"""Fixtures for the unit tests; the builders they use live in catalog_project.py (importable by test modules)."""

from __future__ import annotations

from pathlib import Path

import pytest
from catalog_project import Project, png_bytes


@pytest.fixture(scope="session")
def good_artwork() -> bytes:
    """1400×1400 RGB PNG, the smallest artwork Apple accepts; made once per session for speed."""
    return png_bytes((1400, 1400))


@pytest.fixture
def project(tmp_path: Path, good_artwork: bytes) -> Project:
    return Project(tmp_path / "project", good_artwork)
