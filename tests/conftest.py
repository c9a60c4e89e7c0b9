"""Shared test set-up: make ``tests.support`` importable and offer the peer fixtures.

The fixtures themselves live in :mod:`tests.support.peers`; importing them
here makes ``storescp``, ``dcmqrscp`` and ``orthanc`` available to every
test, with ``archive``, an empty one (tests/unit/archive has its own, over
a full home). The session hook stops any peer a failing test left behind.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

_REPO_ROOT = str(Path(__file__).resolve().parent.parent)
if _REPO_ROOT not in sys.path:  # `pytest` run from elsewhere than the repo root
    sys.path.insert(0, _REPO_ROOT)

from tests.support.peers import dcmqrscp, orthanc, storescp  # noqa: F401
from tests.support.process import live_peers, stop_all
from tui_pacs.store.archive import Archive


@pytest.fixture
def archive(tmp_path: Path) -> Iterator[Archive]:
    """An empty archive (index and store) in the test's directory, closed afterwards."""
    store = Archive(tmp_path / "index.sqlite", tmp_path / "store")
    store.files.ensure()
    store.index.open()
    yield store
    store.close()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    leftovers = live_peers()
    stop_all()
    if leftovers:
        names = ", ".join(f"{p.name} (pid {p.pid})" for p in leftovers)
        print(f"\nwarning: stopped peers a test left running: {names}", file=sys.stderr)
