"""The configured remote nodes with their last echo result and latency."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import DataTable

from tui_pacs.config.model import RemoteNode
from tui_pacs.services.remote_nodes import EchoResult


class NodeList(DataTable[Any]):
    """One row per ``[nodes.NAME]``; add, edit and remove are asked of the pane by message."""

    HELP_GROUP = "Remote nodes"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "request('add')", "Add node", id="nodes.add"),
        Binding("e", "request('edit')", "Edit node", id="nodes.edit"),
        Binding("x,delete", "request('remove')", "Remove node", id="nodes.remove"),
    ]

    @dataclass
    class EditRequested(Message):
        verb: str
        node: RemoteNode | None

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row")
        self.nodes: dict[str, RemoteNode] = {}
        self.echoes: dict[str, EchoResult] = {}

    def on_mount(self) -> None:
        for label, width in (("Node", 12), ("AE title", 16), ("Address", 20), ("Get", 4), ("Last echo", 15)):
            self.add_column(label, key=label, width=width)

    def show_nodes(self, nodes: dict[str, RemoteNode]) -> None:
        current = self.current_node
        self.nodes = dict(nodes)
        self.clear()
        for node in self.nodes.values():
            self.add_row(node.name, node.ae_title, f"{node.host}:{node.port}", node.retrieve.value,
                         self._echo_text(node.name), key=node.name)
        if current is not None and current.name in self.nodes:
            self.move_cursor(row=self.get_row_index(current.name), animate=False)

    def record_echo(self, result: EchoResult) -> None:
        self.echoes[result.node] = result
        if result.node in self.nodes:
            self.update_cell(result.node, "Last echo", self._echo_text(result.node))

    def _echo_text(self, name: str) -> Text:
        result = self.echoes.get(name)
        if result is None:
            return Text("not echoed", style="dim")
        stamp = time.strftime("%H:%M:%S", time.localtime(result.at))
        if result.ok:
            return Text(f"✓ {result.latency * 1000:.0f} ms {stamp}", style="green")
        return Text(f"✗ failed {stamp}", style="bold red")

    @property
    def current_node(self) -> RemoteNode | None:
        if not self.row_count:
            return None
        key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
        return self.nodes.get(str(key))

    def action_request(self, verb: str) -> None:
        self.post_message(self.EditRequested(verb, None if verb == "add" else self.current_node))
