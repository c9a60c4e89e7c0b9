"""What every pane shares: a title, a number key, and the route for worker errors."""

from __future__ import annotations

from typing import ClassVar

from textual.containers import Vertical
from textual.widget import Widget
from textual.widgets import Input
from textual.worker import Worker

from tui_pacs.ui.errors import report_worker_state


class Pane(Vertical):
    """A top-level pane of the main screen.

    Worker.StateChanged does not bubble, so each pane forwards its workers'
    state to the single handler in :mod:`tui_pacs.ui.errors`.
    """

    PANE_ID: ClassVar[str] = ""
    PANE_TITLE: ClassVar[str] = ""

    def primary_widget(self) -> Widget | None:
        """What gets the focus when the pane is shown: the first focusable that is not a text box,
        so the number keys keep switching panes."""
        focusable = [w for w in self.query("*") if w.focusable]
        lists = [w for w in focusable if not isinstance(w, Input)]
        chosen = lists or focusable
        return chosen[0] if chosen else None

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        report_worker_state(self.app, event.worker, event.state)
