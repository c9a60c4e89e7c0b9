"""SVG snapshots of every screen at 80x24 and 160x50 (reviewed as PNGs before accepting).

Run ``pytest tests/ui/test_snapshots.py --snapshot-update`` after a deliberate
change, then look at the new SVGs before committing them.
"""

from __future__ import annotations

import logging

import pytest

from tests.ui.test_transfers import until
from tui_pacs.services.log_records import LogBuffer
from tui_pacs.ui.panes.local.record_table import RecordTable
from tui_pacs.ui.panes.preview.image_view import HalfBlockImage

SIZES = [(80, 24), (160, 50)]
# A fixed AE title and a node, so nothing depends on the host name or a free port.
CONFIG = ('[local]\nae_title = "SNAPSHOT"\nport = 11112\n\n'
          '[nodes.archive]\nae_title = "ARCHIVE"\nhost = "pacs.example.org"\nport = 104\nretrieve = "get"\n')


async def settle(pilot) -> None:
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def sample_log() -> LogBuffer:
    """A few records with fixed times, so the log pane has something to show."""
    buffer = LogBuffer()
    for seconds, level, name, message in (
        (0, logging.INFO, "tui_pacs.net.scp.server", "SNAPSHOT listening on 0.0.0.0:11112"),
        (5, logging.INFO, "tui_pacs.net.scp.server", "association #1 accepted from MODALITY@10.0.0.7:40112"),
        (9, logging.WARNING, "tui_pacs.services.queue", "job 3: peer aborted; retry 1 of 2 in 2 s"),
        (12, logging.ERROR, "tui_pacs.services.queue", "job 3 failed: ARCHIVE refused the association"),
    ):
        record = logging.LogRecord(name, level, __file__, 0, message, None, None)
        record.created = 1_700_000_000 + seconds
        buffer.emit(record)
    return buffer


@pytest.fixture
def app(sample_home, make_app):
    return make_app(sample_home, CONFIG, log_buffer=sample_log())


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "160x50"])
def test_local_pane(app, size, snap_compare):
    assert snap_compare(app, terminal_size=size, run_before=settle)


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "160x50"])
def test_local_series_level(app, size, snap_compare):
    async def drill(pilot) -> None:
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)

    assert snap_compare(app, terminal_size=size, run_before=drill)


@pytest.mark.parametrize("pane", ["2", "3", "4"], ids=["nodes", "transfers", "log"])
@pytest.mark.parametrize("size", SIZES, ids=["80x24", "160x50"])
def test_other_panes(app, size, pane, snap_compare):
    async def show(pilot) -> None:
        await settle(pilot)
        await pilot.press(pane)
        await settle(pilot)

    assert snap_compare(app, terminal_size=size, run_before=show)


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "160x50"])
def test_preview_pane(app, size, snap_compare):
    async def preview(pilot) -> None:
        await settle(pilot)
        table = pilot.app.query_one(RecordTable)
        table.move_cursor(row=[r["AccessionNumber"] for r in table.page.rows].index("ACC1001"))
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("p")
        await until(pilot, lambda: pilot.app.query_one(HalfBlockImage).rgb is not None)
        await settle(pilot)

    assert snap_compare(app, terminal_size=size, run_before=preview)


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "160x50"])
def test_help_screen(app, size, snap_compare):
    async def help_screen(pilot) -> None:
        await settle(pilot)
        await pilot.press("f1")
        await settle(pilot)

    assert snap_compare(app, terminal_size=size, run_before=help_screen)


@pytest.mark.parametrize("theme", ["light", "high-contrast"])
def test_themes(sample_home, make_app, theme, snap_compare):
    app = make_app(sample_home, CONFIG + f'\n[ui]\ntheme = "{theme}"\n')
    assert snap_compare(app, terminal_size=(80, 24), run_before=settle)


def test_node_form(app, snap_compare):
    async def form(pilot) -> None:
        await settle(pilot)
        await pilot.press("2", "e")
        await settle(pilot)

    assert snap_compare(app, terminal_size=(80, 24), run_before=form)


def test_delete_confirmation(app, snap_compare):
    async def confirm(pilot) -> None:
        await settle(pilot)
        await pilot.press("x")
        await settle(pilot)

    assert snap_compare(app, terminal_size=(80, 24), run_before=confirm)


def test_tag_dump(app, snap_compare):
    async def dump(pilot) -> None:
        await settle(pilot)
        await pilot.press("t")
        await settle(pilot)

    assert snap_compare(app, terminal_size=(80, 24), run_before=dump)
