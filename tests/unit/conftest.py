"""Fixtures shared by the unit tests (tests/unit/archive has its own, over a full home)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tui_pacs.store.archive import Archive


@pytest.fixture
def archive(tmp_path: Path) -> Iterator[Archive]:
    """An empty archive (index and store) in the test's directory, closed afterwards."""
    archive = Archive(tmp_path / "index.sqlite", tmp_path / "store")
    archive.files.ensure()
    archive.index.open()
    yield archive
    archive.close()
