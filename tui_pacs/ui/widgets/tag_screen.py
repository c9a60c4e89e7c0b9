"""The tag dump of one instance, full screen, closed with Escape."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import ModalScreen
from textual.widgets import Footer, Static

from tui_pacs.ui.widgets.tag_view import TagView

if TYPE_CHECKING:
    from tui_pacs.store.tagtree import TagTree


class TagScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q", "dismiss", "Close", id="tags.close")]

    def __init__(self, title: str, tree: TagTree) -> None:
        super().__init__()
        self.title_text = title
        self.tag_tree = tree

    def compose(self) -> ComposeResult:
        yield Static(f"Tags: {self.title_text}", classes="screen-title")
        yield TagView(self.tag_tree, self.title_text)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#tag-tree").focus()

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(result)
