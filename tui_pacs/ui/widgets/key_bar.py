"""The key bar at the bottom: the active bindings as one line of text.

Textual's Footer rebuilds a widget per key on every focus change; on a
slow machine that cost several hundred milliseconds per Tab or Enter,
more than any query. This bar redraws one Text instead. Clicking a key
runs its action, so the mouse works here too.
"""

from __future__ import annotations

from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Static


class KeyBar(Static):
    DEFAULT_CSS = """
    KeyBar { dock: bottom; height: 1; background: $panel; color: $foreground; padding: 0 1; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id)
        self._spans: list[tuple[int, int, Binding]] = []

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)
        self._bindings_changed(self.screen)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _bindings_changed(self, screen: Screen[object]) -> None:
        if not self.is_attached or screen is not self.screen:
            return
        text = Text(no_wrap=True, overflow="ellipsis")
        spans: list[tuple[int, int, Binding]] = []
        seen: set[str] = set()
        for _node, binding, enabled, _tooltip in screen.active_bindings.values():
            if not binding.show or binding.action in seen:
                continue
            seen.add(binding.action)
            start = len(text)
            text.append(f"{self.app.get_key_display(binding)} ", style="bold" if enabled else "dim")
            text.append(binding.description, style="" if enabled else "dim")
            spans.append((start, len(text), binding))
            text.append("  ")
        self._spans = spans
        self.update(text)

    def on_click(self, event: events.Click) -> None:
        x = event.x - 1  # padding
        for start, end, binding in self._spans:
            if start <= x < end:
                self.app.simulate_key(binding.key.split(",")[0])
                return
