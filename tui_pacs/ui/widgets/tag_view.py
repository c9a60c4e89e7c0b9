"""Tags of one instance as an indented list, narrowed by a search box.

The dump arrives as text lines (from the tag-tree formatter when present);
search keeps matching lines plus the sequence headers above them so nested
items keep their context.
"""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Input, Log


def narrow(lines: list[str], needle: str) -> list[str]:
    """Lines containing ``needle`` (case-insensitive), with their less-indented ancestors."""
    if not needle:
        return lines
    wanted = needle.lower()
    kept: list[str] = []
    ancestors: list[tuple[int, str]] = []
    for line in lines:
        depth = len(line) - len(line.lstrip(" "))
        while ancestors and ancestors[-1][0] >= depth:
            ancestors.pop()
        if wanted in line.lower():
            for _, parent in ancestors:
                if parent not in kept:
                    kept.append(parent)
            kept.append(line)
        ancestors.append((depth, line))
    return kept


class TagView(Vertical):
    """Search box plus the dump."""

    DEFAULT_CSS = """
    TagView > Input { height: 1; border: none; padding: 0 1; }
    TagView > Log { height: 1fr; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [Binding("ctrl+f", "search", "Search tags", id="tags.search")]

    def __init__(self, lines: list[str] | None = None, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.lines = lines or []

    def compose(self) -> ComposeResult:
        yield Input(placeholder="search tags (keyword, tag or value)", id="tag-search")
        yield Log(id="tag-lines", highlight=False)

    def on_mount(self) -> None:
        self._render_lines()

    def show(self, lines: list[str]) -> None:
        self.lines = lines
        self._render_lines()

    def _render_lines(self) -> None:
        log = self.query_one(Log)
        log.clear()
        needle = self.query_one(Input).value
        log.write_lines(narrow(self.lines, needle))
        log.scroll_home(animate=False)

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self._render_lines()

    def action_search(self) -> None:
        self.query_one(Input).focus()
