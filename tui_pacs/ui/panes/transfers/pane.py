"""Pane: Transfers (being integrated as its layers land)."""

from __future__ import annotations

from textual.app import ComposeResult

from tui_pacs.ui.panes.base import Pane
from tui_pacs.ui.panes.placeholder import PendingNotice


class TransfersPane(Pane):
    PANE_ID = "transfers"
    PANE_TITLE = "Transfers"
    HELP_GROUP = "Transfers"

    def compose(self) -> ComposeResult:
        yield PendingNotice("Transfers", "its service layer")
