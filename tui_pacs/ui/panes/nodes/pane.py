"""Pane: Remote nodes (being integrated as its layers land)."""

from __future__ import annotations

from textual.app import ComposeResult

from tui_pacs.ui.panes.base import Pane
from tui_pacs.ui.panes.placeholder import PendingNotice


class NodesPane(Pane):
    PANE_ID = "nodes"
    PANE_TITLE = "Remote nodes"
    HELP_GROUP = "Remote nodes"

    def compose(self) -> ComposeResult:
        yield PendingNotice("Remote nodes", "its service layer")
