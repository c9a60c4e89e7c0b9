"""The log records, filtered by minimum level and text, tailing like ``tail -f``.

It polls the :class:`~tui_pacs.services.log_records.LogBuffer` four times a
second: a flood of records becomes one append per tick, never one per record.
"""

from __future__ import annotations

import logging
import time

from rich.text import Text
from textual.widgets import RichLog

from tui_pacs.services.log_records import LogBuffer, LogLine

LEVELS = (logging.DEBUG, logging.INFO, logging.WARNING, logging.ERROR)
STYLES = {logging.DEBUG: "dim", logging.INFO: "", logging.WARNING: "yellow", logging.ERROR: "bold red",
          logging.CRITICAL: "bold red"}


class LogView(RichLog):
    """Records that pass the filter, newest at the bottom."""

    def __init__(self, buffer: LogBuffer, *, id: str | None = None) -> None:
        super().__init__(id=id, wrap=False, markup=False, highlight=False, max_lines=5000)
        self.buffer = buffer
        self.min_level = logging.INFO
        self.needle = ""
        self._seen = 0

    def on_mount(self) -> None:
        self.set_interval(0.25, self.poll)
        self.poll()

    def passes(self, line: LogLine) -> bool:
        if line.level < self.min_level:
            return False
        return not self.needle or self.needle in f"{line.logger} {line.message}".lower()

    def poll(self) -> None:
        if self.buffer.last_seq == self._seen:
            return
        fresh = self.buffer.since(self._seen)
        self._seen = self.buffer.last_seq
        for line in fresh:
            if self.passes(line):
                self.write(self._text(line))

    def refilter(self, min_level: int | None = None, needle: str | None = None) -> None:
        """Apply a new filter to everything kept, not just what comes next."""
        if min_level is not None:
            self.min_level = min_level
        if needle is not None:
            self.needle = needle.lower()
        self.clear()
        self._seen = 0
        self.poll()

    @staticmethod
    def _text(line: LogLine) -> Text:
        stamp = time.strftime("%H:%M:%S", time.localtime(line.created))
        text = Text(f"{stamp} {line.level_name[:4]:4} ", style=STYLES.get(line.level, ""))
        text.append(f"{line.logger.removeprefix('tui_pacs.')}: ", style="dim")
        text.append(line.message)
        return text
