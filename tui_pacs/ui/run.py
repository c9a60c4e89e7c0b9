"""Start the workstation for a CLI invocation: logging to file and pane, then the app."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from tui_pacs.services.log_records import LogBuffer

if TYPE_CHECKING:
    from tui_pacs.cli.context import AppContext


def _setup_logging(app_ctx: AppContext, buffer: LogBuffer) -> None:
    """Everything to the log file and the log pane; nothing to the terminal the TUI owns."""
    root = logging.getLogger("tui_pacs")
    root.setLevel(logging.DEBUG)
    root.addHandler(buffer)
    app_ctx.paths.log_dir.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(app_ctx.paths.log_dir / "tui-pacs.log", encoding="utf-8")
    handler.setLevel(logging.DEBUG)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    for library in ("pynetdicom", "pydicom"):
        logging.getLogger(library).addHandler(handler)


def _graphics(configured: str) -> str:
    """Probe the terminal once, before Textual owns it (the probe reads replies from the tty).

    A protocol chosen in the config or ``TUI_PACS_GRAPHICS`` needs no probe (and no wait).
    """
    import os

    from tui_pacs.imaging.probe import TerminalCapabilities, choose_protocol, probe_terminal

    if os.environ.get("TUI_PACS_GRAPHICS", "auto").strip().lower() not in ("", "auto") or configured != "auto":
        return choose_protocol(TerminalCapabilities(), configured)

    try:
        return choose_protocol(probe_terminal(), configured)
    except Exception:  # a terminal that does not answer still gets half-blocks
        logging.getLogger("tui_pacs.ui").debug("terminal probe failed", exc_info=True)
        return "blocks"


def run_workstation(app_ctx: AppContext) -> None:
    """Open the workstation on ``app_ctx``'s home (the blocking Textual run loop)."""
    from tui_pacs.ui.app import WorkstationApp

    paths = app_ctx.paths
    config = app_ctx.config
    paths.ensure()
    buffer = LogBuffer()
    _setup_logging(app_ctx, buffer)
    app = WorkstationApp(paths, config, log_buffer=buffer, graphics=_graphics(config.graphics))
    app.run()
    if app.return_code:  # Textual sets 1 when the app ended on an unhandled error
        raise SystemExit(app.return_code)
