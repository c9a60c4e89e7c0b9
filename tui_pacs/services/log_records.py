"""A ring buffer of log records the workstation's log pane reads.

Records arrive from any thread (association handlers, workers). The handler
only appends under a lock; the UI polls :meth:`LogBuffer.since` a few times a
second, so a flood of records costs one redraw per tick instead of one per
record, and nothing ever calls into the UI from a foreign thread.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from dataclasses import dataclass


@dataclass(frozen=True)
class LogLine:
    """What the pane shows of one record."""

    seq: int
    created: float
    level: int
    logger: str
    message: str

    @property
    def level_name(self) -> str:
        return logging.getLevelName(self.level)


class LogBuffer(logging.Handler):
    """Keeps the last ``capacity`` records; attach it to the ``tui_pacs`` logger."""

    def __init__(self, capacity: int = 5000, level: int = logging.DEBUG) -> None:
        super().__init__(level)
        self._lines: deque[LogLine] = deque(maxlen=capacity)
        self._lock = threading.Lock()
        self._seq = 0

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
            if record.exc_info and record.exc_info[1] is not None:
                message += f" [{type(record.exc_info[1]).__name__}: {record.exc_info[1]}]"
        except Exception:  # noqa: BLE001 - a bad format string must not kill the caller
            message = str(record.msg)
        with self._lock:
            self._seq += 1
            self._lines.append(LogLine(self._seq, record.created, record.levelno, record.name, message))

    def add(self, created: float, level: int, logger: str, message: str) -> None:
        """A record that did not pass through this process's logging (an attached server's)."""
        with self._lock:
            self._seq += 1
            self._lines.append(LogLine(self._seq, created, level, logger, message))

    @property
    def last_seq(self) -> int:
        return self._seq

    def since(self, seq: int) -> list[LogLine]:
        """Records newer than ``seq`` (all kept ones for 0)."""
        with self._lock:
            return [line for line in self._lines if line.seq > seq]
