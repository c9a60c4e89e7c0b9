"""Pilot test of the log pane: records from any thread, filtered by level and by text."""

from __future__ import annotations

import logging
import threading

from tests.ui.test_transfers import until
from tui_pacs.services.log_records import LogBuffer
from tui_pacs.ui.panes.log.log_view import LogView


def shown(view: LogView) -> list[str]:
    return [strip.text for strip in view.lines]


async def test_filter_log_by_level_and_text(sample_home, make_app):
    buffer = LogBuffer()
    logger = logging.getLogger("tui_pacs.test.logpane")
    logger.setLevel(logging.DEBUG)
    logger.addHandler(buffer)
    try:
        app = make_app(sample_home, log_buffer=buffer)
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.press("4")
            # A flood from another thread arrives as a few batched appends, not one redraw each.
            worker = threading.Thread(target=lambda: [logger.info("stored instance %d", n) for n in range(500)])
            worker.start()
            worker.join()
            logger.warning("peer MODALITY aborted")
            logger.error("job 7 failed: disk full")
            view = app.query_one(LogView)
            await until(pilot, lambda: len(shown(view)) == 502)
            await pilot.press("l")  # INFO -> WARNING
            await until(pilot, lambda: len(shown(view)) == 2)
            assert "aborted" in shown(view)[0] and "disk full" in shown(view)[1]
            await pilot.press("l")  # -> ERROR
            await until(pilot, lambda: len(shown(view)) == 1)
            await pilot.press("l", "l")  # -> DEBUG -> INFO
            await pilot.press("slash", *"instance 49", "enter")
            await until(pilot, lambda: len(shown(view)) == 11)  # 49 and 490-499
    finally:
        logger.removeHandler(buffer)
