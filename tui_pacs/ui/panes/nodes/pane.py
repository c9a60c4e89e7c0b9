"""Pane 2: remote nodes. Manage nodes, echo them, query them and retrieve what they hold.

C-FIND results stream into the table in batches while the worker runs;
Enter drills study -> series -> instances with a new C-FIND; Backspace goes
back to the rows already fetched. Retrieve queues a C-MOVE or C-GET job (as
the node is configured) that the Transfers pane shows.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import DataTable, Static

from tui_pacs.config.model import Config, RemoteNode
from tui_pacs.domain.attributes import Level, Root
from tui_pacs.services import remote_nodes
from tui_pacs.services.workstation import Workstation
from tui_pacs.ui.panes.base import Pane
from tui_pacs.ui.panes.nodes.node_form import NodeFormScreen
from tui_pacs.ui.panes.nodes.node_list import NodeList
from tui_pacs.ui.panes.nodes.query_form import QueryForm
from tui_pacs.ui.panes.nodes.results_table import ResultsTable
from tui_pacs.ui.widgets.confirm import ConfirmScreen

CHILD = {Level.STUDY: Level.SERIES, Level.SERIES: Level.IMAGE}


@dataclass
class QueryStep:
    level: Level
    root: Root
    keys: dict[str, str]
    label: str


class NodesPane(Pane):
    PANE_ID = "nodes"
    PANE_TITLE = "Nodes"
    HELP_GROUP = "Remote nodes"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+e", "echo", "Echo", id="nodes.echo"),
        Binding("slash", "focus_query", "Query form", id="nodes.query"),
        Binding("ctrl+r", "retrieve", "Retrieve", id="nodes.retrieve"),
        Binding("ctrl+k", "check", "Completeness", id="nodes.check"),
        Binding("backspace", "up", "Up", id="nodes.up", show=False),
        Binding("ctrl+x", "stop_query", "Stop query", id="nodes.stop", show=False),
    ]

    @dataclass
    class ConfigChanged(Message):
        """The config file was rewritten; the app swaps in the reloaded config."""

        config: Config

    def __init__(self, workstation: Workstation, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.workstation = workstation
        self.steps: list[QueryStep] = []
        self.cache: list[dict[str, dict[str, str]]] = []
        self.cancel = threading.Event()

    def compose(self) -> ComposeResult:
        yield NodeList(id="node-list")
        yield QueryForm(id="query-form")
        yield Static("No query yet: choose a node, fill the form, press Enter.", id="nodes-status",
                     classes="status-line")
        yield ResultsTable(id="results")

    def on_mount(self) -> None:
        self.query_one(NodeList).show_nodes(self.workstation.config.nodes)

    @property
    def node(self) -> RemoteNode | None:
        return self.query_one(NodeList).current_node

    def _status(self, text: str) -> None:
        self.query_one("#nodes-status", Static).update(text)

    # -- node management ------------------------------------------------------------------------

    @on(NodeList.EditRequested)
    def _edit_requested(self, event: NodeList.EditRequested) -> None:
        if event.verb == "remove":
            node = event.node
            if node is None:
                return

            def confirmed(yes: bool | None) -> None:
                if yes:
                    self.save_nodes(None, node.name)

            self.app.push_screen(ConfirmScreen(f"Remove node {node.name} ({node.ae_title}) from the config?",
                                               "Remove"), confirmed)
            return
        original = event.node if event.verb == "edit" else None
        if event.verb == "edit" and original is None:
            return

        def saved(node: RemoteNode | None) -> None:
            if node is not None:
                self.save_nodes(node, original.name if original else None)

        self.app.push_screen(NodeFormScreen(original), saved)

    @work(thread=True, exclusive=True, group="nodes-save", exit_on_error=False)
    def save_nodes(self, node: RemoteNode | None, old_name: str | None) -> None:
        path = self.workstation.paths.config_file
        if node is None:
            assert old_name is not None
            config = remote_nodes.delete_node(path, old_name)
        else:
            config = remote_nodes.store_node(path, node, replaces=old_name)
        self.app.call_from_thread(self._config_saved, config, node.name if node else old_name or "")

    def _config_saved(self, config: Config, name: str) -> None:
        self.post_message(self.ConfigChanged(config))
        self.query_one(NodeList).show_nodes(config.nodes)
        self.notify(f"Saved node {name} to {self.workstation.paths.config_file.name}.", title="Nodes")

    def action_echo(self) -> None:
        node = self.node
        if node is not None:
            self._status(f"Echoing {node.name}…")
            self.echo(node)

    @work(thread=True, group="nodes-echo", exit_on_error=False)
    def echo(self, node: RemoteNode) -> None:
        result = remote_nodes.echo(self.workstation.config, node)
        self.app.call_from_thread(self._echoed, result)

    def _echoed(self, result: remote_nodes.EchoResult) -> None:
        self.query_one(NodeList).record_echo(result)
        if result.ok:
            self._status(f"Echo {result.node}: success in {result.latency * 1000:.0f} ms")
        else:
            self._status(f"Echo {result.node} failed: {result.message}")
            self.notify(result.message, title=f"Echo {result.node} failed", severity="error")

    # -- query and drill-down ---------------------------------------------------------------------

    def action_focus_query(self) -> None:
        self.query_one("#q-PatientName").focus()

    @on(QueryForm.Submitted)
    def _query_submitted(self, event: QueryForm.Submitted) -> None:
        self.steps.clear()
        self.cache.clear()
        self.start_query(QueryStep(event.level, event.root, event.keys, ""))
        self.query_one(ResultsTable).focus()

    def start_query(self, step: QueryStep) -> None:
        node = self.node
        if node is None:
            self.notify("Add a node first (a on the node list).", title="Query", severity="warning")
            return
        self.cancel.set()
        self.cancel = threading.Event()
        self.steps.append(step)
        self.query_one(ResultsTable).start(step.level)
        self._status(f"Querying {node.name} at {step.level.value} level…")
        self.run_query(node, step, self.cancel)

    @work(thread=True, exclusive=True, group="nodes-query", exit_on_error=False)
    def run_query(self, node: RemoteNode, step: QueryStep, cancel: threading.Event) -> None:
        table = self.query_one(ResultsTable)
        matches = remote_nodes.query(self.workstation.config, node, step.level, step.root, step.keys, cancel)
        total = remote_nodes.batched(matches, lambda batch: self.app.call_from_thread(table.add_matches, batch))
        crumbs = " › ".join(s.label for s in self.steps if s.label)
        done = "stopped" if cancel.is_set() else "done"
        self.app.call_from_thread(self._status, f"{crumbs + ' › ' if crumbs else ''}{node.name}: {total} "
                                                f"{step.level.value.lower()} match(es), {done}   "
                                                "Enter drill down · ^r retrieve · ^k completeness")

    def action_stop_query(self) -> None:
        self.cancel.set()

    @on(DataTable.RowSelected, "#results")
    def _drill(self, event: DataTable.RowSelected) -> None:
        event.stop()
        table = self.query_one(ResultsTable)
        if not self.steps or table.level not in CHILD:
            return
        uid = table.current_uid
        row = table.matches.get(uid or "")
        if row is None:
            return
        step = self.steps[-1]
        child = CHILD[step.level]
        keys = {"StudyInstanceUID": row.get("StudyInstanceUID", "")}
        if child is Level.IMAGE:
            keys["SeriesInstanceUID"] = row.get("SeriesInstanceUID", "")
        label = row.get("StudyDescription") or row.get("SeriesDescription") or uid or ""
        self.cache.append(dict(table.matches))
        self.start_query(QueryStep(child, Root.STUDY, keys, label))

    def action_up(self) -> None:
        if len(self.steps) < 2 or not self.cache:
            return
        self.cancel.set()
        self.steps.pop()
        rows = self.cache.pop()
        table = self.query_one(ResultsTable)
        table.start(self.steps[-1].level)
        table.add_matches(list(rows.values()))
        self._status(f"{len(rows)} {self.steps[-1].level.value.lower()} match(es) (from the last query)")

    # -- retrieve and completeness ------------------------------------------------------------------

    def action_retrieve(self) -> None:
        table = self.query_one(ResultsTable)
        node, rows = self.node, table.selection()
        if node is None or not rows or table.level is None or table.level is Level.PATIENT:
            self.notify("Select studies, series or instances in the results first.", title="Retrieve")
            return
        self.retrieve(node, table.level, rows)

    @work(thread=True, group="nodes-retrieve", exit_on_error=False)
    def retrieve(self, node: RemoteNode, level: Level, rows: list[dict[str, str]]) -> None:
        params = remote_nodes.retrieve_params(level, rows)
        kind = node.retrieve.value
        what = f"{len(rows)} {level.value.lower()}(s)"
        job_id = self.workstation.submit(kind, node=node.name, description=f"{what} from {node.name}",
                                         params=params)
        self.app.call_from_thread(self.notify, f"Job {job_id}: C-{kind.upper()} of {what} from {node.name}.",
                                  title="Retrieve")

    def action_check(self) -> None:
        table = self.query_one(ResultsTable)
        if table.level in remote_nodes.COUNT_KEY and table.matches:
            self.check(table.level, list(table.matches))

    @work(thread=True, exclusive=True, group="nodes-check", exit_on_error=False)
    def check(self, level: Level, uids: list[str]) -> None:
        archive = self.workstation.archive
        if archive is None:
            return
        counts = remote_nodes.local_counts(archive, level, uids)
        self.app.call_from_thread(self.query_one(ResultsTable).show_counts, counts)
