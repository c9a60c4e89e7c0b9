"""The workstation app: wires panes, themes, keys, palette and the node link together.

No DICOM logic and no SQL here: panes talk to services, and cross-pane
requests arrive as messages that this module routes.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, ClassVar, cast

from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Header, TabbedContent, TabPane
from textual.worker import Worker

from tui_pacs.config.model import Config
from tui_pacs.config.paths import Paths
from tui_pacs.domain.attributes import Level
from tui_pacs.services.local_browser import LocalBrowser
from tui_pacs.services.log_records import LogBuffer
from tui_pacs.ui.errors import report_worker_state
from tui_pacs.ui.keymap import BoundAction, catalogue, unknown_ids
from tui_pacs.ui.panes.base import Pane
from tui_pacs.ui.panes.local.pane import LocalPane
from tui_pacs.ui.panes.local.record_table import RecordTable
from tui_pacs.ui.themes import TEXTUAL_THEMES, THEME_NAMES, theme_css_paths
from tui_pacs.ui.widgets.key_bar import KeyBar
from tui_pacs.ui.widgets.pane_tabs import PaneTabs

if TYPE_CHECKING:  # the hidden panes and the screens load after the first rows are on screen
    from textual.command import Provider

    from tui_pacs.domain.events import Event
    from tui_pacs.services.workstation import Workstation
    from tui_pacs.ui.panes.local.export_screen import ExportChoice
    from tui_pacs.ui.panes.nodes.pane import NodesPane
    from tui_pacs.ui.panes.preview.pane import PreviewPane


def _palette_commands() -> type[Provider]:
    from tui_pacs.ui.palette import WorkstationCommands

    return WorkstationCommands


log = logging.getLogger("tui_pacs.ui")

PANE_ORDER = ("local", "nodes", "transfers", "log", "preview")


class WorkstationApp(App[None]):
    """tui-pacs: the DICOM workstation."""

    TITLE = "tui-pacs"
    CSS_PATH: ClassVar = ["app.tcss", *theme_css_paths()]
    COMMANDS: ClassVar = App.COMMANDS | {_palette_commands}
    HELP_GROUP = "Workstation"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("1", "show_pane('local')", "Local", id="app.pane.local", show=False),
        Binding("2", "show_pane('nodes')", "Nodes", id="app.pane.nodes", show=False),
        Binding("3", "show_pane('transfers')", "Transfers", id="app.pane.transfers", show=False),
        Binding("4", "show_pane('log')", "Log", id="app.pane.log", show=False),
        Binding("5", "show_pane('preview')", "Preview", id="app.pane.preview", show=False),
        Binding("f1,question_mark", "help", "Help", id="app.help"),
        Binding("ctrl+t", "cycle_theme", "Next theme", id="app.theme", show=False),
        Binding("ctrl+q", "quit", "Quit", id="app.quit", priority=True),
    ]

    def __init__(self, paths: Paths, config: Config, *,
                 log_buffer: LogBuffer | None = None, workstation: Workstation | None = None,
                 run_scp: bool = True, graphics: str = "blocks") -> None:
        super().__init__()
        self.paths = paths
        self.config = config
        self.log_buffer = log_buffer or LogBuffer()
        self.graphics = graphics
        self.browser = LocalBrowser(paths, config, lambda: self._workstation.archive if self._workstation else None)
        self._run_scp = run_scp
        self._workstation = workstation
        if workstation is not None:
            workstation.publish = self.on_node_event
        self.workstation_theme = config.theme if config.theme in THEME_NAMES else "dark"
        self._started = False
        self._first_rows = asyncio.Event()
        # Before the app runs, so the first stylesheet pass already has the right colours
        # (changing the theme later costs a full CSS refresh).
        for theme in TEXTUAL_THEMES.values():
            self.register_theme(theme)
        self.set_workstation_theme(self.workstation_theme, announce=False)

    # -- composition ----------------------------------------------------------

    def compose(self) -> ComposeResult:
        # Only the local database is built for the first frame; the other panes are imported and
        # mounted into their (empty) tabs once its first rows are on screen (see _after_first_rows).
        yield Header()
        with PaneTabs(id="panes", initial="local"):
            with TabPane("1 Local", id="local"):
                yield LocalPane(self.browser, id="local-pane")
            yield TabPane("2 Nodes", id="nodes")
            yield TabPane("3 Transfers", id="transfers")
            yield TabPane("4 Log", id="log")
            yield TabPane("5 Preview", id="preview")
        yield KeyBar(id="key-bar")

    def on_mount(self) -> None:
        self.sub_title = f"{self.config.local.ae_title} · starting the node…"
        keymap = dict(self.config.keymap)
        if keymap:
            # Checked against the panes' bindings once they are imported; applied now.
            self.set_keymap(keymap)
        self.query_one(RecordTable).focus()
        # Should the first page never come (an unreadable index), start everything anyway.
        self.set_timer(2.0, self._after_first_rows)
        self.start_node()  # waits for the first rows

    @on(LocalPane.FirstPageShown)
    def _first_page_shown(self) -> None:
        self.call_after_refresh(self._after_first_rows)

    def _after_first_rows(self) -> None:
        """The first rows are painted: now the hidden panes, the node (SCP, queue) and warm-ups.

        Doing this earlier would compete for the one interpreter lock with the first frame
        (pynetdicom and pydicom imports alone take a few hundred milliseconds).
        """
        if self._started:
            return
        self._started = True
        self._mount_hidden_panes()
        keymap = dict(self.config.keymap)
        if keymap:
            unknown = unknown_ids(keymap, self.binding_catalogue())
            if unknown:
                self.notify(f"Unknown binding ids in [ui.keymap]: {', '.join(unknown)}",
                            title="Key map", severity="warning")
        self._first_rows.set()

    def _mount_hidden_panes(self) -> None:
        from tui_pacs.ui.panes.log.associations import AssociationTable
        from tui_pacs.ui.panes.log.pane import LogPane
        from tui_pacs.ui.panes.nodes.pane import NodesPane
        from tui_pacs.ui.panes.preview.pane import PreviewPane
        from tui_pacs.ui.panes.transfers.pane import TransfersPane

        panes: dict[str, Pane] = {
            "nodes": NodesPane(self.workstation, id="nodes-pane"),
            "transfers": TransfersPane(self.workstation, id="transfers-pane"),
            "log": LogPane(self.log_buffer, AssociationTable(id="associations"), id="log-pane"),
            "preview": PreviewPane(self.browser, self.graphics, id="preview-pane"),
        }
        for tab_id, pane in panes.items():
            self.query_one(f"#{tab_id}", TabPane).mount(pane)

    @property
    def workstation(self) -> Workstation:
        """The node (archive, SCP, queue); made on first use, after the first rows are on screen.

        Its module brings the job store and the event types with it, which the first frame
        does not need.
        """
        if self._workstation is None:
            from tui_pacs.services.workstation import Workstation

            self._workstation = Workstation(self.paths, self.config, run_scp=self._run_scp)
            self._workstation.publish = self.on_node_event
        return self._workstation

    # -- keys, help, palette ----------------------------------------------------

    def binding_catalogue(self) -> list[BoundAction]:
        """Every identified binding of the app, its panes and their widgets (help and palette)."""
        from tui_pacs.ui.panes.log.pane import LogPane
        from tui_pacs.ui.panes.nodes.node_list import NodeList
        from tui_pacs.ui.panes.nodes.pane import NodesPane
        from tui_pacs.ui.panes.nodes.results_table import ResultsTable
        from tui_pacs.ui.panes.preview.pane import PreviewPane
        from tui_pacs.ui.panes.transfers.pane import TransfersPane
        from tui_pacs.ui.widgets.tag_view import TagView

        owners: list[type] = [type(self), LocalPane, RecordTable, NodesPane, NodeList,
                              ResultsTable, TransfersPane, LogPane,
                              PreviewPane, TagView]
        return catalogue(owners)

    def action_help(self) -> None:
        from tui_pacs.ui.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.binding_catalogue(), self.config.keymap))

    def action_show_pane(self, pane_id: str) -> None:
        tabs = self.query_one("#panes", TabbedContent)
        tabs.active = pane_id
        self.when_mounted(f"#{pane_id}-pane", lambda pane: self.set_focus(pane.primary_widget()))

    def when_mounted(self, selector: str, action: Callable[[Pane], object], tries: int = 50) -> None:
        """Run ``action`` on a pane; the hidden panes mount just after the first rows, so wait for it."""
        found = self.query(selector)
        if found:
            action(found.first(Pane))
        elif tries:
            self.call_after_refresh(self.when_mounted, selector, action, tries - 1)

    # -- themes ---------------------------------------------------------------

    def theme_names(self) -> tuple[str, ...]:
        return THEME_NAMES

    def set_workstation_theme(self, name: str, announce: bool = True) -> None:
        """Switch the Textual colours and the ``themes/<name>.tcss`` rules together."""
        for other in THEME_NAMES:
            self.set_class(other == name, f"theme-{other}")
        self.theme = TEXTUAL_THEMES[name].name
        self.workstation_theme = name
        if announce:
            self.notify(f"Theme: {name}", timeout=2)

    def action_cycle_theme(self) -> None:
        index = THEME_NAMES.index(self.workstation_theme)
        self.set_workstation_theme(THEME_NAMES[(index + 1) % len(THEME_NAMES)])

    # -- cross-pane routing -----------------------------------------------------

    @on(LocalPane.PreviewRequested)
    def _preview_requested(self, event: LocalPane.PreviewRequested) -> None:
        def show(pane: Pane) -> None:
            # The selection first: an image prepared ahead is then in the pane's first frame.
            cast("PreviewPane", pane).show_selection(event.level, event.uid)
            self.action_show_pane("preview")

        self.when_mounted("#preview-pane", show)

    @on(LocalPane.PreviewHinted)
    def _preview_hinted(self, event: LocalPane.PreviewHinted) -> None:
        for pane in self.query("#preview-pane"):
            cast("PreviewPane", pane).prepare(event.level, event.uid)

    @work(exclusive=True, group="node", exit_on_error=False)
    async def start_node(self) -> None:
        """After the first rows: open the archive, attach or start the SCP, run the queue.

        Then import the decoders ahead of the first preview, and move everything built so far
        (it lives as long as the app) out of the collector's way: a full collection walking
        Textual's widgets and styles otherwise lands, now and then, in the middle of a keystroke.
        """
        await self._first_rows.wait()
        await self.workstation.start()
        self.sub_title = self.workstation.describe()
        from tui_pacs.services.preview import preload

        await asyncio.to_thread(preload)
        gc.freeze()

    def on_nodes_pane_config_changed(self, event: NodesPane.ConfigChanged) -> None:
        """The node form saved the config (NodesPane.ConfigChanged; named, not decorated, so the
        nodes pane need not be imported for the first frame)."""
        self.config = event.config
        self.workstation.config = event.config
        if self.workstation.queue is not None:
            self.workstation.queue.config = event.config

    @on(LocalPane.SendRequested)
    def _send_requested(self, event: LocalPane.SendRequested) -> None:
        what = f"{len(event.uids)} {event.level.value.lower()}(s)"

        def chosen(node: str | None) -> None:
            if node:
                self.submit_transfer("send", node, f"{what} to {node}", event.level, event.uids)

        from tui_pacs.ui.widgets.node_picker import NodePickerScreen

        self.push_screen(NodePickerScreen(f"Send {what} to which node?", self.config.nodes), chosen)

    @on(LocalPane.ExportRequested)
    def _export_requested(self, event: LocalPane.ExportRequested) -> None:
        what = f"{len(event.uids)} {event.level.value.lower()}(s)"

        def chosen(choice: ExportChoice | None) -> None:
            if choice is not None:
                self.submit_transfer("export", "", f"{what} to {choice.destination.name}", event.level,
                                     event.uids, {"to": str(choice.destination), "profile": choice.profile})

        from tui_pacs.ui.panes.local.export_screen import ExportScreen

        self.push_screen(ExportScreen(what, self.paths.data_dir.parent / "export"), chosen)

    @work(thread=True, group="submit", exit_on_error=False)
    def submit_transfer(self, kind: str, node: str, description: str, level: Level, uids: list[str],
                        extra: dict[str, object] | None = None) -> None:
        """Queue a send or export job for the selection; the Transfers pane shows it."""
        params: dict[str, object] = dict(extra or {})
        if level is Level.STUDY:
            params["study"] = uids
        elif level is Level.SERIES:
            params["series"] = uids
        else:
            files = self.browser.instance_files(level, uids)
            if kind == "export":
                # The export runner takes studies/series; an instance selection exports its series.
                params["series"] = sorted({self.browser.series_of(sop) for sop in uids})
            else:
                params["paths"] = [f[3] for f in files]
        job_id = self.workstation.submit(kind, node=node, description=description, params=params)
        self.call_from_thread(self.notify, f"Job {job_id} queued: {kind} {description}.", title="Transfers")
        self.call_from_thread(self._transfers_changed)

    def _transfers_changed(self) -> None:
        for pane in self.query("#transfers-pane"):
            pane.mark_dirty()  # type: ignore[attr-defined]

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        report_worker_state(self, event.worker, event.state)

    def on_node_event(self, event: Event) -> None:
        """Events from the node (on the loop): route them to the panes that show them."""
        # Hidden panes mount just after the first rows, so query() rather than query_one().
        from tui_pacs.domain.events import (
            InstanceStored,
            JobProgress,
            LogRecorded,
            ServerStarted,
            ServerStopped,
        )
        from tui_pacs.services.workstation import ATTACHED
        from tui_pacs.ui.panes.log.associations import AssociationTable

        if AssociationTable.wants(event):
            for table in self.query(AssociationTable):
                table.record(event)
        if isinstance(event, LogRecorded) and self.workstation.mode == ATTACHED:
            # Embedded, our own logging already feeds the buffer; attached, the server's records
            # arrive as events (WARNING and up).
            level = logging.getLevelName(event.level)
            self.log_buffer.add(event.at, level if isinstance(level, int) else logging.WARNING,
                                event.logger, event.message)
        if isinstance(event, (ServerStarted, ServerStopped)):
            self.sub_title = self.workstation.describe()
        if isinstance(event, JobProgress):
            self._transfers_changed()
            if event.is_final and event.job_kind in ("move", "get", "import"):
                self.query_one(LocalPane).refresh_rows()
        if isinstance(event, InstanceStored):
            self.query_one(LocalPane).refresh_soon()

    async def on_unmount(self) -> None:
        gc.unfreeze()  # what start_node froze is collectable again once the app is gone
        await self.browser.close()
        if self._workstation is not None:
            await self._workstation.stop()
