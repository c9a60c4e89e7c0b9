"""The filter bar above the local database: one line of DICOM matching.

It only parses; the pane decides what to query. A parse error shows in the
bar itself (red border and the message as tooltip) rather than as a popup,
because it is a typing mistake, not a failure.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import Input

from tui_pacs.domain.errors import InvalidQuery
from tui_pacs.services.local_filter import parse_filter

PLACEHOLDER = "filter: DOE*  id=TP0001  date=-7d  mod=CT  acc=…  desc=…   (Enter applies)"


class FilterBar(Input):
    """Typed filter; posts :class:`FilterBar.Applied` with match keys."""

    DEFAULT_CSS = """
    FilterBar { height: 1; border: none; padding: 0 1; }
    FilterBar.-invalid { background: $error 30%; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [Binding("down", "to_rows", "To the rows", id="filter.to_rows", show=False)]

    @dataclass
    class Applied(Message):
        """The user applied a filter that parsed."""

        bar: FilterBar
        text: str
        keys: dict[str, str]

        @property
        def control(self) -> FilterBar:
            return self.bar

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(placeholder=PLACEHOLDER, id=id)

    def action_to_rows(self) -> None:
        self.screen.focus_next()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.apply()

    def apply(self) -> None:
        try:
            keys = parse_filter(self.value)
        except InvalidQuery as exc:
            self.add_class("-invalid")
            self.tooltip = exc.message
            self.notify(exc.message, title="Filter not understood", severity="warning")
            return
        self.remove_class("-invalid")
        self.tooltip = None
        self.post_message(self.Applied(self, self.value, keys))
