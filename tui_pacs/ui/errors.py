"""The one place worker failures become something a person can read.

harlequin's rule: a failed worker is one notification with a title and a
short message, and the log keeps the detail. Expected failures
(:class:`TuiPacsError`) carry their own title; anything else is reported as
unexpected, still without a traceback on screen.
"""

from __future__ import annotations

import logging
from typing import Any

from textual.app import App
from textual.worker import Worker, WorkerState

from tui_pacs.domain.errors import TuiPacsError

log = logging.getLogger("tui_pacs.ui")


def describe_error(error: BaseException) -> tuple[str, str]:
    """(title, one-line message) for a notification."""
    if isinstance(error, TuiPacsError):
        return error.title, error.message
    if isinstance(error, OSError):
        return "Disk or network error", str(error) or type(error).__name__
    first = (str(error).splitlines() or [""])[0][:200]
    return f"Unexpected {type(error).__name__}", first or "see the log for details"


def report_worker_state(app: App[Any], worker: Worker[object], state: WorkerState) -> None:
    """Show a failed worker's error once and log its traceback; ignore every other state."""
    if state is not WorkerState.ERROR or worker.error is None:
        return
    title, message = describe_error(worker.error)
    log.error("%s failed: %s", worker.name or "worker", message, exc_info=worker.error)
    app.notify(message, title=title, severity="error", timeout=8)
