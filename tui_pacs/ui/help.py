"""The help screen (F1 or ?): every binding by group, with its id for ``[ui.keymap]``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import ModalScreen
from textual.widgets import DataTable, Footer, Static

from tui_pacs.ui.keymap import BoundAction, keys_for

INTRO = ("Tab/Shift+Tab move the focus, 1-5 switch panes, Ctrl+P opens the command palette. "
         "Remap any key in the config: [ui.keymap] \"<id>\" = \"keys\".")


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q,f1", "dismiss", "Close", id="help.close")]

    def __init__(self, bindings: list[BoundAction], keymap: Mapping[str, str]) -> None:
        super().__init__()
        self.bindings_list = bindings
        self.keymap = keymap

    def compose(self) -> ComposeResult:
        yield Static("Help: keys and commands", classes="screen-title")
        yield Static(INTRO, classes="status-line help-intro")
        yield DataTable(id="help-table", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_column("Group", width=14)
        table.add_column("Keys", width=10)
        table.add_column("Action", width=18)
        table.add_column("Keymap id", width=22)
        for bound in self.bindings_list:
            keys = ", ".join(self.app.get_key_display(Binding(k.strip(), ""))
                             for k in keys_for(bound, self.keymap).split(","))
            group = getattr(bound.owner, "HELP_GROUP", bound.owner.__name__)
            table.add_row(group, keys, bound.binding.description, bound.id)
        table.focus()

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(result)
