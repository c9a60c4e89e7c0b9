"""Fixtures for the workstation tests: an isolated home holding the sample data.

The sample set is imported once per session into a template home; each test
gets its own copy, so tests can delete and add without seeing each other.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tui_pacs.config.loader import load_config
from tui_pacs.config.paths import Paths, resolve_paths
from tui_pacs.store.archive import Archive
from tui_pacs.store.importer import import_paths

SAMPLE_LOCAL = Path(__file__).resolve().parents[2] / "sample_data" / "local"

# Log timestamps and dates render in local time; pin it so snapshots are stable.
os.environ["TZ"] = "UTC"
time.tzset()


@pytest.fixture(scope="session")
def sample_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("sample-home")
    paths = resolve_paths(home)
    paths.ensure()
    with Archive.open(paths) as archive:
        report = import_paths(archive, [SAMPLE_LOCAL])
    assert report.imported > 0, "the sample data did not import"
    return home


@pytest.fixture
def sample_home(sample_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Paths:
    home = tmp_path / "home"
    shutil.copytree(sample_template, home)
    monkeypatch.setenv("TUI_PACS_HOME", str(home))
    return resolve_paths(home)


@pytest.fixture
def empty_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Paths:
    home = tmp_path / "empty"
    monkeypatch.setenv("TUI_PACS_HOME", str(home))
    paths = resolve_paths(home)
    paths.ensure()
    Archive.open(paths).close()
    return paths


@pytest.fixture
def make_app() -> Callable[..., object]:
    """Build a WorkstationApp for a home, with a config file written first if given.

    The SCP stays off unless a test asks (``run_scp=True``): tests run side by side.
    """
    from tui_pacs.ui.app import WorkstationApp

    def build(paths: Paths, config_text: str | None = None, **kwargs: object) -> WorkstationApp:
        if config_text is not None:
            paths.config_file.write_text(config_text, encoding="utf-8")
        kwargs.setdefault("run_scp", False)
        return WorkstationApp(paths, load_config(paths.config_file), **kwargs)

    return build
