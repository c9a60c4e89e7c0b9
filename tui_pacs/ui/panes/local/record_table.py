"""The worklist: one window of index rows, drawn line by line, asking for the next window at its edges.

Only ``limit`` rows are ever held: moving past the last row (or before the
first) posts :class:`RecordTable.PageRequested`, and the pane loads that
window from SQLite. Rows are drawn with Textual's line API straight from
pre-formatted cell text (one segment per cell), not through a DataTable,
because rendering a fresh window of a 100-row DataTable cost more than
the 100 ms a keystroke may take.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from rich.cells import set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from tui_pacs.domain.attributes import Level
from tui_pacs.services.local_browser import Page
from tui_pacs.ui.panes.local.columns import Column, cell_text, columns_for

MARK = "●"
GAP = 2  # spaces between columns


class RecordTable(ScrollView, can_focus=True):
    """Rows of one level; the unique UID of each row identifies it."""

    HELP_GROUP = "Local database"
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "record-table--header", "record-table--cursor", "record-table--odd", "record-table--marked",
    }
    DEFAULT_CSS = """
    RecordTable { background: $surface; }
    RecordTable > .record-table--header { background: $panel; color: $foreground; text-style: bold; }
    RecordTable > .record-table--cursor { background: $block-cursor-blurred-background; }
    RecordTable:focus > .record-table--cursor {
        background: $block-cursor-background; color: $block-cursor-foreground; text-style: bold;
    }
    RecordTable > .record-table--odd { background: $surface-lighten-1; }
    RecordTable > .record-table--marked { color: $warning; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "cursor_up", "Up", show=False),
        Binding("down", "cursor_down", "Down", show=False),
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("pagedown", "page_down", "Page down", show=False),
        Binding("home", "first_row", "First row", show=False),
        Binding("end", "last_row", "Last row", show=False),
        Binding("enter", "open", "Open", id="local.open", show=False),
        Binding("space", "toggle_mark", "Mark", id="local.mark", show=False),
    ]

    @dataclass
    class PageRequested(Message):
        """The cursor left the loaded window; ``offset`` is the window wanted."""

        table: RecordTable
        offset: int
        cursor_at_end: bool

    @dataclass
    class Highlighted(Message):
        """The cursor is on another row (``uid`` None: no rows)."""

        table: RecordTable
        uid: str | None

    @dataclass
    class SortRequested(Message):
        table: RecordTable
        keyword: str

    @dataclass
    class Opened(Message):
        """Enter (or a double click) on a row."""

        table: RecordTable
        uid: str

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.page: Page | None = None
        self.level: Level | None = None
        self.marked: set[str] = set()
        self.shown_columns: tuple[Column, ...] = ()
        self.cursor_row = 0
        self._cells: list[list[str]] = []
        self._uids: list[str] = []
        self._last_highlighted: str | None = None

    # -- data -----------------------------------------------------------------------------------

    def show_page(self, page: Page, *, cursor_at_end: bool = False) -> None:
        """Show ``page``; the columns follow the level and the terminal width."""
        level = page.request.level
        if level is not self.level:
            self.marked.clear()
        self.level, self.page = level, page
        self.shown_columns = columns_for(level, self.app.size.width)
        unique = page.unique_key
        self._uids = [str(row[unique]) for row in page.rows]
        self._cells = [[set_cell_size(cell_text(c.keyword, row.get(c.keyword)), c.width) for c in self.shown_columns]
                       for row in page.rows]
        width = 2 + sum(c.width + GAP for c in self.shown_columns)
        self.virtual_size = Size(width, len(page.rows) + 1)
        self.cursor_row = max(0, len(page.rows) - 1) if cursor_at_end else 0
        self._reveal()
        self.refresh()
        self._highlighted()

    @property
    def row_count(self) -> int:
        return len(self._uids)

    @property
    def current_uid(self) -> str | None:
        return self._uids[self.cursor_row] if 0 <= self.cursor_row < len(self._uids) else None

    @property
    def current_row(self) -> dict[str, Any] | None:
        if self.page is None or not 0 <= self.cursor_row < len(self.page.rows):
            return None
        return self.page.rows[self.cursor_row]

    def selection(self) -> list[str]:
        """The marked UIDs, or the row under the cursor when nothing is marked."""
        if self.marked:
            return sorted(self.marked)
        uid = self.current_uid
        return [uid] if uid else []

    def move_cursor(self, *, row: int, animate: bool = False) -> None:
        old = self.cursor_row
        self.cursor_row = max(0, min(row, self.row_count - 1))
        if not self._reveal():
            # Only the two rows whose highlight changed need drawing again.
            for index in (old, self.cursor_row):
                self.refresh_line(index + 1)  # virtual line: the header is line 0
        self._highlighted()

    def _highlighted(self) -> None:
        uid = self.current_uid
        if uid != self._last_highlighted:
            self._last_highlighted = uid
            self.post_message(self.Highlighted(self, uid))

    def _reveal(self) -> bool:
        """Scroll so the cursor row is visible (line 0 is the header); True if it scrolled."""
        visible = max(1, self.scrollable_content_region.height - 1)
        top = int(self.scroll_y)
        if self.cursor_row < top:
            self.scroll_to(y=self.cursor_row, animate=False, immediate=True)
        elif self.cursor_row >= top + visible:
            self.scroll_to(y=self.cursor_row - visible + 1, animate=False, immediate=True)
        else:
            return False
        self.refresh()
        return True

    # -- drawing --------------------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        scroll_x, scroll_y = int(self.scroll_x), int(self.scroll_y)
        if y == 0:
            style = self.get_component_rich_style("record-table--header")
            cells = [set_cell_size(c.label, c.width) for c in self.shown_columns]
            return self._strip("  ", cells, style, scroll_x, width)
        index = scroll_y + y - 1
        if not 0 <= index < len(self._cells):
            return Strip.blank(width, self.rich_style)
        if index == self.cursor_row:
            style = self.rich_style + self.get_component_rich_style("record-table--cursor")
        elif index % 2:
            style = self.rich_style + self.get_component_rich_style("record-table--odd")
        else:
            style = self.rich_style
        marked = self._uids[index] in self.marked
        if marked:
            style += self.get_component_rich_style("record-table--marked", partial=True)
        return self._strip(MARK + " " if marked else "  ", self._cells[index], style, scroll_x, width)

    def _strip(self, lead: str, cells: list[str], style: Style, scroll_x: int, width: int) -> Strip:
        text = lead + "".join(cell + " " * GAP for cell in cells)
        strip = Strip([Segment(text, style)])
        return strip.crop(scroll_x, scroll_x + width).extend_cell_length(width, style)

    def on_resize(self) -> None:
        """Re-lay the columns when the terminal crosses the narrow/wide boundary."""
        if (self.page is not None and self.level is not None
                and columns_for(self.level, self.app.size.width) != self.shown_columns):
            row = self.cursor_row
            self.show_page(self.page)
            self.move_cursor(row=row)

    # -- keys and mouse -------------------------------------------------------------------------

    def action_cursor_down(self) -> None:
        page = self.page
        if page and self.cursor_row >= len(page.rows) - 1:
            next_offset = page.request.offset + page.request.limit
            if next_offset < page.total:
                self.post_message(self.PageRequested(self, next_offset, cursor_at_end=False))
            return
        self.move_cursor(row=self.cursor_row + 1)

    def action_cursor_up(self) -> None:
        page = self.page
        if page and self.cursor_row == 0:
            if page.request.offset > 0:
                offset = max(0, page.request.offset - page.request.limit)
                self.post_message(self.PageRequested(self, offset, cursor_at_end=True))
            return
        self.move_cursor(row=self.cursor_row - 1)

    def _page_height(self) -> int:
        return max(1, self.scrollable_content_region.height - 2)

    def action_page_down(self) -> None:
        if self.page and self.cursor_row >= len(self.page.rows) - 1:
            self.action_cursor_down()
        else:
            self.move_cursor(row=self.cursor_row + self._page_height())

    def action_page_up(self) -> None:
        if self.page and self.cursor_row == 0:
            self.action_cursor_up()
        else:
            self.move_cursor(row=self.cursor_row - self._page_height())

    def action_first_row(self) -> None:
        self.move_cursor(row=0)

    def action_last_row(self) -> None:
        self.move_cursor(row=self.row_count - 1)

    def action_open(self) -> None:
        uid = self.current_uid
        if uid is not None:
            self.post_message(self.Opened(self, uid))

    def action_toggle_mark(self) -> None:
        uid = self.current_uid
        if uid is None:
            return
        self.marked.symmetric_difference_update({uid})
        self.action_cursor_down()
        self.refresh()

    def on_click(self, event: events.Click) -> None:
        if event.y == 0:
            x = int(self.scroll_x) + event.x - 2
            for column in self.shown_columns:
                if 0 <= x < column.width + GAP:
                    self.post_message(self.SortRequested(self, column.keyword))
                    return
                x -= column.width + GAP
            return
        index = int(self.scroll_y) + event.y - 1
        if 0 <= index < self.row_count:
            if index == self.cursor_row and event.chain >= 2:
                self.action_open()
            self.move_cursor(row=index)
