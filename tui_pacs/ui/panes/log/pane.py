"""Pane 4: the log and the live associations, what a PACS engineer watches first."""

from __future__ import annotations

import logging
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.widget import Widget
from textual.widgets import Input, Static

from tui_pacs.services.log_records import LogBuffer
from tui_pacs.ui.panes.base import Pane
from tui_pacs.ui.panes.log.log_view import LEVELS, LogView


class LogPane(Pane):
    PANE_ID = "log"
    PANE_TITLE = "Log"
    HELP_GROUP = "Log"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("l", "cycle_level", "Level", id="log.level"),
        Binding("slash", "focus_filter", "Filter", id="log.filter"),
        Binding("c", "clear_filter", "Clear filter", id="log.clear", show=False),
    ]

    def __init__(self, buffer: LogBuffer, associations: Widget, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.buffer = buffer
        self.associations = associations

    def compose(self) -> ComposeResult:
        with Horizontal(classes="toolbar"):
            yield Static("", id="log-level", classes="status-line")
            yield Input(placeholder="filter text (Enter)", id="log-filter")
        yield LogView(self.buffer, id="log-view")
        yield Static("Live associations (closed ones stay 5 s)", classes="status-line")
        yield self.associations

    def on_mount(self) -> None:
        self._show_level()

    @property
    def view(self) -> LogView:
        return self.query_one(LogView)

    def _show_level(self) -> None:
        name = logging.getLevelName(self.view.min_level)
        self.query_one("#log-level", Static).update(f" level ≥ {name} (l) ")

    def action_cycle_level(self) -> None:
        current = LEVELS.index(self.view.min_level) if self.view.min_level in LEVELS else 0
        self.view.refilter(min_level=LEVELS[(current + 1) % len(LEVELS)])
        self._show_level()

    def action_focus_filter(self) -> None:
        self.query_one("#log-filter", Input).focus()

    def action_clear_filter(self) -> None:
        self.query_one("#log-filter", Input).value = ""
        self.view.refilter(needle="")

    @on(Input.Submitted, "#log-filter")
    def _filter(self, event: Input.Submitted) -> None:
        event.stop()
        self.view.refilter(needle=event.value)
        self.view.focus()
