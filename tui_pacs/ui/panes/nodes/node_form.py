"""Add or edit a remote node; validates before it dismisses, so the config never gets junk."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Static

from tui_pacs.config.model import RemoteNode
from tui_pacs.services.remote_nodes import InvalidNode, validate_node

FIELDS = (("name", "Name"), ("ae", "AE title"), ("host", "Host"), ("port", "Port"), ("note", "Note"))


class NodeFormScreen(ModalScreen[RemoteNode | None]):
    """Dismisses with a validated :class:`RemoteNode`, or None when cancelled."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel", id="nodeform.cancel"),
                Binding("ctrl+s", "save", "Save", id="nodeform.save")]

    def __init__(self, node: RemoteNode | None = None) -> None:
        super().__init__()
        self.node = node

    def compose(self) -> ComposeResult:
        node = self.node
        values = {"name": node.name, "ae": node.ae_title, "host": node.host, "port": str(node.port),
                  "note": node.note} if node else {"port": "104"}
        with Vertical(classes="dialog", id="node-form"):
            yield Static("Edit node" if node else "Add a remote node", classes="dialog-text")
            for key, label in FIELDS:
                with Horizontal(classes="form-row"):
                    yield Label(label, classes="form-label")
                    yield Input(values.get(key, ""), id=f"node-{key}", compact=True)
            with Horizontal(classes="form-row"):
                yield Label("Retrieve", classes="form-label")
                yield Select([("C-MOVE", "move"), ("C-GET", "get")], allow_blank=False, compact=True,
                             value=node.retrieve.value if node else "move", id="node-retrieve")
            yield Static("", id="node-error", classes="bad")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Save (^s)", variant="primary", id="node-save")
                yield Button("Cancel", id="node-cancel")

    def _value(self, key: str) -> str:
        return self.query_one(f"#node-{key}", Input).value

    def action_save(self) -> None:
        try:
            node = validate_node(self._value("name"), self._value("ae"), self._value("host"), self._value("port"),
                                 str(self.query_one("#node-retrieve", Select).value), self._value("note"))
        except InvalidNode as exc:
            self.query_one("#node-error", Static).update(exc.message)
            return
        self.dismiss(node)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_save()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "node-save":
            self.action_save()
        else:
            self.dismiss(None)

    def action_cancel(self) -> None:
        self.dismiss(None)
