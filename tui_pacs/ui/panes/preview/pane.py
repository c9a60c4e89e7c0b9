"""Pane: Preview (being integrated as its layers land)."""

from __future__ import annotations

from textual.app import ComposeResult

from tui_pacs.ui.panes.base import Pane
from tui_pacs.ui.panes.placeholder import PendingNotice


class PreviewPane(Pane):
    PANE_ID = "preview"
    PANE_TITLE = "Preview"
    HELP_GROUP = "Preview"

    def compose(self) -> ComposeResult:
        yield PendingNotice("Preview", "its service layer")

    def show_selection(self, level: object, uid: str) -> None:
        self.notify("The imaging layer has not landed yet.", title="Preview")
