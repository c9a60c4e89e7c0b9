"""A DataTable that shows one page of index rows and asks for the next one at its edges.

Only ``limit`` rows are ever in the widget: moving past the last row (or
before the first) posts :class:`RecordTable.PageRequested`, and the pane
loads that window from SQLite. That keeps 100,000 studies as cheap as ten.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual.binding import Binding
from textual.message import Message
from textual.widgets import DataTable

from tui_pacs.domain.attributes import Level
from tui_pacs.services.local_browser import Page
from tui_pacs.ui.panes.local.columns import Column, cell_text, columns_for

MARK = "●"


class RecordTable(DataTable[Any]):
    """Rows of one level; keys are the rows' unique UIDs."""

    BINDINGS = [
        Binding("space", "toggle_mark", "Mark", id="local.mark", group=None, show=False),
    ]

    @dataclass
    class PageRequested(Message):
        """The cursor left the loaded window; ``offset`` is the window wanted."""

        table: RecordTable
        offset: int
        cursor_at_end: bool

    @dataclass
    class SortRequested(Message):
        table: RecordTable
        keyword: str

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self.page: Page | None = None
        self.level: Level | None = None
        self.marked: set[str] = set()
        self.shown_columns: tuple[Column, ...] = ()

    def show_page(self, page: Page, *, cursor_at_end: bool = False) -> None:
        """Replace the rows with ``page``; rebuild the columns when the level changed."""
        level = page.request.level
        columns = columns_for(level, self.app.size.width)
        if level is not self.level or columns != self.shown_columns:
            self.clear(columns=True)
            self.add_column(" ", key="_mark", width=1)
            for column in columns:
                self.add_column(column.label, key=column.keyword, width=column.width)
            if level is not self.level:
                self.marked.clear()
            self.level, self.shown_columns = level, columns
        else:
            self.clear()
        self.page = page
        unique = page.unique_key
        for row in page.rows:
            uid = row[unique]
            mark = MARK if uid in self.marked else ""
            cells = [mark] + [cell_text(c.keyword, row.get(c.keyword)) for c in columns]
            self.add_row(*cells, key=uid)
        if page.rows:
            self.move_cursor(row=len(page.rows) - 1 if cursor_at_end else 0, animate=False)

    def on_resize(self) -> None:
        """Re-lay the columns when the terminal crosses the narrow/wide boundary."""
        if self.page is not None and self.level is not None:
            if columns_for(self.level, self.app.size.width) != self.shown_columns:
                row = self.cursor_row
                self.show_page(self.page)
                self.move_cursor(row=row, animate=False)

    @property
    def current_uid(self) -> str | None:
        if self.page is None or not self.page.rows or self.cursor_row >= len(self.page.rows):
            return None
        return str(self.page.rows[self.cursor_row][self.page.unique_key])

    @property
    def current_row(self) -> dict[str, Any] | None:
        if self.page is None or not self.page.rows or self.cursor_row >= len(self.page.rows):
            return None
        return self.page.rows[self.cursor_row]

    def selection(self) -> list[str]:
        """The marked UIDs, or the row under the cursor when nothing is marked."""
        if self.marked:
            return sorted(self.marked)
        uid = self.current_uid
        return [uid] if uid else []

    def action_toggle_mark(self) -> None:
        uid = self.current_uid
        if uid is None:
            return
        self.marked.symmetric_difference_update({uid})
        self.update_cell(uid, "_mark", Text(MARK if uid in self.marked else ""))
        self.action_cursor_down()

    def action_cursor_down(self) -> None:
        page = self.page
        if page and self.cursor_row >= len(page.rows) - 1:
            next_offset = page.request.offset + page.request.limit
            if next_offset < page.total:
                self.post_message(self.PageRequested(self, next_offset, cursor_at_end=False))
            return
        super().action_cursor_down()

    def action_cursor_up(self) -> None:
        page = self.page
        if page and self.cursor_row == 0 and page.request.offset > 0:
            offset = max(0, page.request.offset - page.request.limit)
            self.post_message(self.PageRequested(self, offset, cursor_at_end=True))
            return
        super().action_cursor_up()

    def action_page_down(self) -> None:
        if self.page and self.cursor_row >= len(self.page.rows) - 1:
            self.action_cursor_down()
            return
        super().action_page_down()

    def action_page_up(self) -> None:
        if self.page and self.cursor_row == 0:
            self.action_cursor_up()
            return
        super().action_page_up()

    def on_data_table_header_selected(self, event: DataTable.HeaderSelected) -> None:
        event.stop()
        keyword = str(event.column_key.value)
        if keyword != "_mark":
            self.post_message(self.SortRequested(self, keyword))
