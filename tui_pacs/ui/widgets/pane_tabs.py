"""The panes' tab container: follows the focus only while the focus is really in that pane.

Textual's TabbedContent switches to a tab when a widget inside it reports
focus. That report is a message, so it can arrive late: the table's
initial focus, reported after the user already pressed a number key at
start-up, would switch back to pane 1. A report whose pane no longer
holds the focus is dropped here.
"""

from __future__ import annotations

from textual.widgets import TabbedContent, TabPane


class PaneTabs(TabbedContent):
    """TabbedContent for the workstation's panes."""

    def _on_tab_pane_focused(self, event: TabPane.Focused) -> None:
        event.prevent_default()  # instead of TabbedContent's handler, which switches unconditionally
        event.stop()
        focused = self.screen.focused
        if focused is not None and event.tab_pane in focused.ancestors and event.tab_pane.id:
            self.active = event.tab_pane.id
