"""Pane 1: the local database, a paged worklist with drill-down study -> series -> instances.

The pane keeps the browsing state (level, filter, parent, sort, window) and
runs the workers; :class:`RecordTable` only shows rows. Reads are async
(aiosqlite); delete, export and dump are blocking and run in thread workers.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.timer import Timer
from textual.widgets import Static

from tui_pacs.domain.attributes import Level
from tui_pacs.services.local_browser import CHILD_LEVEL, LocalBrowser, Page, PageRequest, dump_tree
from tui_pacs.ui.panes.base import Pane
from tui_pacs.ui.panes.local.columns import COLUMNS, cell_text
from tui_pacs.ui.panes.local.filter_bar import FilterBar
from tui_pacs.ui.panes.local.record_table import RecordTable

PAGE = Binding.Group("Page")
HINT_AFTER = 0.15  # seconds the cursor rests on a series before its preview is prepared
LEVEL_NAMES = {Level.STUDY: "Studies", Level.SERIES: "Series", Level.IMAGE: "Instances"}


class LocalPane(Pane):
    """Browse, filter, delete, export, send and dump what the archive holds."""

    PANE_ID = "local"
    HELP_GROUP = "Local database"
    PANE_TITLE = "Local"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "focus_filter", "Filter", id="local.filter"),
        Binding("backspace,escape", "up", "Up", id="local.up"),
        Binding("p", "preview", "Preview", id="local.preview"),
        Binding("t", "dump", "Tags", id="local.dump"),
        Binding("delete,x", "delete", "Delete", id="local.delete"),
        Binding("e", "export", "Export", id="local.export"),
        Binding("s", "send", "Send", id="local.send"),
        Binding("o", "sort", "Sort", id="local.sort"),
        Binding("O", "sort_reverse", "Reverse sort", id="local.sort_reverse", show=False),
        Binding("right_square_bracket", "next_page", "Next page", id="local.next_page", group=PAGE),
        Binding("left_square_bracket", "previous_page", "Prev page", id="local.prev_page", group=PAGE),
        Binding("g", "first_page", "First page", id="local.first_page", group=PAGE, show=False),
        Binding("G", "last_page", "Last page", id="local.last_page", group=PAGE, show=False),
        Binding("ctrl+r", "refresh", "Refresh", id="local.refresh", show=False),
    ]

    @dataclass
    class PreviewRequested(Message):
        """Show this series or instance in the preview pane."""

        level: Level
        uid: str

    class FirstPageShown(Message):
        """The first rows are on their way to the screen (the app starts everything else after them)."""

    @dataclass
    class PreviewHinted(Message):
        """The cursor rests on this series or instance: a preview of it may well be asked for next."""

        level: Level
        uid: str

    @dataclass
    class SendRequested(Message):
        """Send these studies/series/instances to a node (the app asks which)."""

        level: Level
        uids: list[str]

    @dataclass
    class ExportRequested(Message):
        level: Level
        uids: list[str]

    def __init__(self, browser: LocalBrowser, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.browser = browser
        self.request = PageRequest()
        self.filter_text = ""
        self.parents: list[tuple[PageRequest, str]] = []
        self.page: Page | None = None
        self._refresh_pending = False
        self._hint: Timer | None = None

    def compose(self) -> ComposeResult:
        yield FilterBar(id="local-filter")
        yield Static("", id="local-status", classes="status-line")
        yield RecordTable(id="local-table")

    @property
    def table(self) -> RecordTable:
        return self.query_one(RecordTable)

    def on_mount(self) -> None:
        self.load_page(self.request)

    # -- loading ----------------------------------------------------------

    @work(exclusive=True, group="local-page", exit_on_error=False)
    async def load_page(self, request: PageRequest, cursor_at_end: bool = False, same_total: bool = False) -> None:
        known = self.page.total if (same_total and self.page) else 0
        page = await self.browser.page(request, with_total=not same_total, known_total=known, near=self.page)
        table = self.table
        # A reload of the same window (instances arrived, a delete) keeps the cursor on its row.
        keep = table.current_uid if request == self.request and table.page is not None else None
        old_row = table.cursor_row
        first = self.page is None
        self.page = page
        self.request = request
        table.show_page(page, cursor_at_end=cursor_at_end)
        if first:
            self.post_message(self.FirstPageShown())
        if keep is not None and page.rows:
            uids = [str(row[page.unique_key]) for row in page.rows]
            table.move_cursor(row=uids.index(keep) if keep in uids else min(old_row, len(uids) - 1))
        self._show_status()

    def _show_status(self) -> None:
        page = self.page
        if page is None:
            return
        request = page.request
        crumbs = " › ".join(label for _, label in self.parents)
        first = request.offset + 1 if page.rows else 0
        last = request.offset + len(page.rows)
        sort = ""
        if request.order:
            keyword, descending = request.order[0]
            sort = f"  sort {keyword} {'↓' if descending else '↑'}"
        where = f"  filter: {self.filter_text}" if self.filter_text and request.level is Level.STUDY else ""
        text = f"{LEVEL_NAMES[request.level]} {first}-{last} of {page.total:,}{sort}{where}"
        self.query_one("#local-status", Static).update(f"{crumbs} › {text}" if crumbs else text)

    def refresh_rows(self) -> None:
        """Reload the current window (new instances arrived, or something was deleted)."""
        self.load_page(self.request)

    def refresh_soon(self) -> None:
        """Instances are arriving: reload at most twice a second, not once per instance."""
        if not self._refresh_pending:
            self._refresh_pending = True
            self.set_timer(0.5, self._refresh_now)

    def _refresh_now(self) -> None:
        self._refresh_pending = False
        self.refresh_rows()

    # -- events -------------------------------------------------------------

    @on(FilterBar.Applied)
    def _filter_applied(self, event: FilterBar.Applied) -> None:
        self.filter_text = event.text
        self.parents.clear()
        # The focus stays in the bar: moving it re-renders the footer, which costs more than
        # the query. Down or Tab goes to the rows.
        self.load_page(PageRequest(Level.STUDY, event.keys, order=self._study_order()))

    def _study_order(self) -> tuple[tuple[str, bool], ...]:
        if self.parents:
            return self.parents[0][0].order
        return self.request.order if self.request.level is Level.STUDY else ()

    @on(RecordTable.PageRequested)
    def _page_requested(self, event: RecordTable.PageRequested) -> None:
        self.load_page(replace(self.request, offset=event.offset), event.cursor_at_end, True)

    @on(RecordTable.Highlighted)
    def _highlighted(self, event: RecordTable.Highlighted) -> None:
        """A cursor that rests on a series or instance hints at a preview (not one that runs past)."""
        if self._hint is not None:
            self._hint.stop()
            self._hint = None
        level = self.request.level
        if event.uid is not None and level is not Level.STUDY:
            hint = self.PreviewHinted(level, event.uid)
            self._hint = self.set_timer(HINT_AFTER, lambda: self.post_message(hint))

    @on(RecordTable.SortRequested)
    def _sort_requested(self, event: RecordTable.SortRequested) -> None:
        current = self.request.order[0] if self.request.order else None
        descending = not current[1] if current and current[0] == event.keyword else False
        self.load_page(replace(self.request, order=((event.keyword, descending),), offset=0), False, True)

    @on(RecordTable.Opened)
    def _row_opened(self, event: RecordTable.Opened) -> None:
        event.stop()
        self.action_open()

    # -- actions --------------------------------------------------------------

    def action_open(self) -> None:
        """Drill into the row under the cursor; an instance opens in the preview."""
        row, uid = self.table.current_row, self.table.current_uid
        level = self.request.level
        if row is None or uid is None:
            return
        child = CHILD_LEVEL.get(level)
        if child is None:
            self.post_message(self.PreviewRequested(level, uid))
            return
        self.parents.append((self.request, self._crumb(level, row)))
        self.load_page(PageRequest(child, parent_uid=uid))

    def _crumb(self, level: Level, row: dict[str, object]) -> str:
        shown = [c for c in COLUMNS[level] if c.keyword in ("PatientName", "StudyDate", "SeriesNumber",
                                                               "Modality", "SeriesDescription")]
        return " ".join(cell_text(c.keyword, row.get(c.keyword)) for c in shown)

    def action_up(self) -> None:
        if self.parents:
            request, _ = self.parents.pop()
            self.load_page(request)

    def action_focus_filter(self) -> None:
        self.query_one(FilterBar).focus()

    def action_refresh(self) -> None:
        self.refresh_rows()

    def action_next_page(self) -> None:
        if self.page and self.request.offset + self.request.limit < self.page.total:
            self.load_page(replace(self.request, offset=self.request.offset + self.request.limit), False, True)

    def action_previous_page(self) -> None:
        if self.request.offset > 0:
            offset = max(0, self.request.offset - self.request.limit)
            self.load_page(replace(self.request, offset=offset), False, True)

    def action_first_page(self) -> None:
        if self.request.offset > 0:
            self.load_page(replace(self.request, offset=0), False, True)

    def action_last_page(self) -> None:
        """The last window, cursor on the last row (rows are skipped over primary keys only)."""
        if self.page is not None:
            offset = max(0, self.page.total - self.request.limit)
            if offset != self.request.offset:
                self.load_page(replace(self.request, offset=offset), True, True)
            else:
                self.table.move_cursor(row=self.table.row_count - 1)

    def action_sort(self) -> None:
        """Sort by the next column (cycling), ascending."""
        keywords = [c.keyword for c in COLUMNS[self.request.level]]
        current = self.request.order[0][0] if self.request.order else None
        following = keywords[(keywords.index(current) + 1) % len(keywords)] if current in keywords else keywords[0]
        # A new order of the same rows: the total stands, only the first window is read.
        self.load_page(replace(self.request, order=((following, False),), offset=0), False, True)

    def action_sort_reverse(self) -> None:
        if self.request.order:
            keyword, descending = self.request.order[0]
            self.load_page(replace(self.request, order=((keyword, not descending),), offset=0), False, True)

    def action_preview(self) -> None:
        uid = self.table.current_uid
        if uid is None:
            return
        if self.request.level is Level.STUDY:
            self.notify("Open the study (Enter) and preview one of its series.", title="Preview")
            return
        self.post_message(self.PreviewRequested(self.request.level, uid))

    def action_send(self) -> None:
        uids = self.table.selection()
        if uids:
            self.post_message(self.SendRequested(self.request.level, uids))

    def action_export(self) -> None:
        uids = self.table.selection()
        if uids:
            self.post_message(self.ExportRequested(self.request.level, uids))

    def action_delete(self) -> None:
        uids = self.table.selection()
        if not uids:
            return
        what = f"{len(uids)} {LEVEL_NAMES[self.request.level].lower()}" if len(uids) > 1 else (
            f"this {self.request.level.value.lower()} ({self._crumb(self.request.level, self.table.current_row or {})})"
        )
        level = self.request.level

        def confirmed(answer: bool | None) -> None:
            if answer:
                self.delete_selection(level, uids)

        from tui_pacs.ui.widgets.confirm import ConfirmScreen

        self.app.push_screen(ConfirmScreen(f"Delete {what} and its files from the archive?", "Delete"),
                             confirmed)

    @work(thread=True, exclusive=True, group="local-delete", exit_on_error=False)
    def delete_selection(self, level: Level, uids: list[str]) -> None:
        removed = self.browser.delete(level, uids)
        self.app.call_from_thread(self._deleted, removed)

    def _deleted(self, removed: int) -> None:
        self.notify(f"Deleted {removed} instance(s).", title="Delete")
        self.table.marked.clear()
        self.refresh_rows()

    def action_dump(self) -> None:
        uid = self.table.current_uid
        if uid is not None:
            self.dump_tags(self.request.level, uid)

    @work(thread=True, exclusive=True, group="local-dump", exit_on_error=False)
    def dump_tags(self, level: Level, uid: str) -> None:
        path = self.browser.first_instance(level, uid)
        if path is None:
            self.app.call_from_thread(self.notify, "Nothing stored under this row.", title="Tags")
            return
        tree = dump_tree(path)
        from tui_pacs.ui.widgets.tag_screen import TagScreen

        self.app.call_from_thread(self.app.push_screen, TagScreen(Path(path).name, tree))
