"""Choose one configured remote node (for send); dismisses with its name or None."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from tui_pacs.config.model import RemoteNode


class NodePickerScreen(ModalScreen[str | None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel", id="picker.cancel")]

    def __init__(self, question: str, nodes: dict[str, RemoteNode]) -> None:
        super().__init__()
        self.question = question
        self.nodes = nodes

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(self.question, classes="dialog-text")
            if self.nodes:
                yield OptionList(*(Option(f"{n.name}  {n.ae_title}@{n.host}:{n.port}", id=n.name)
                                   for n in self.nodes.values()), id="node-options")
            else:
                yield Static("No remote nodes are configured; add one in pane 2 (Nodes).", classes="bad")

    def on_mount(self) -> None:
        if self.nodes:
            self.query_one(OptionList).focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)
