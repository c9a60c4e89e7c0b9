"""Pane 5: preview of the selected series or instance, with a tag viewer beside it.

Rendering (decode, LUTs, scaling) runs in a thread worker through the
imaging layer; keys only change the view state and ask for a new render.
A newer request supersedes an older one (exclusive worker), so holding a
key never queues up stale frames.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.widgets import Static

from tui_pacs.domain.attributes import Level
from tui_pacs.services.local_browser import LocalBrowser, dump_tree
from tui_pacs.ui.panes.base import Pane
from tui_pacs.ui.panes.preview.image_view import HalfBlockImage
from tui_pacs.ui.widgets.tag_view import TagView

if TYPE_CHECKING:
    import numpy as np

    from tui_pacs.services.preview import PreviewSession

EMPTY = "Nothing to preview yet: select a series or instance in pane 1 and press p (or Enter on an instance)."


class PreviewPane(Pane):
    PANE_ID = "preview"
    PANE_TITLE = "Preview"
    HELP_GROUP = "Preview"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j,down", "slice(1)", "Next slice", id="preview.next_slice"),
        Binding("k,up", "slice(-1)", "Prev slice", id="preview.prev_slice"),
        Binding("l,right", "frame(1)", "Next frame", id="preview.next_frame", show=False),
        Binding("h,left", "frame(-1)", "Prev frame", id="preview.prev_frame", show=False),
        Binding("w", "preset", "W/L preset", id="preview.preset"),
        Binding("plus", "window(0, -1)", "Narrower", id="preview.narrower", show=False),
        Binding("minus", "window(0, 1)", "Wider", id="preview.wider", show=False),
        Binding("greater_than_sign", "window(1, 0)", "Centre up", id="preview.centre_up", show=False),
        Binding("less_than_sign", "window(-1, 0)", "Centre down", id="preview.centre_down", show=False),
        Binding("i", "invert", "Invert", id="preview.invert"),
        Binding("r", "reset", "Reset", id="preview.reset"),
        Binding("f", "full_resolution", "Full res", id="preview.full"),
    ]

    def __init__(self, browser: LocalBrowser, protocol: str = "blocks", *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.browser = browser
        self.protocol = protocol
        self.session: PreviewSession | None = None
        self.can_focus = True

    def compose(self) -> ComposeResult:
        yield Static(EMPTY, id="preview-status", classes="status-line")
        with Horizontal(id="preview-body"):
            yield HalfBlockImage(id="preview-image")
            yield TagView(id="preview-tags")

    def primary_widget(self) -> PreviewPane:
        return self

    def _status(self, text: str) -> None:
        self.query_one("#preview-status", Static).update(text)

    # -- loading --------------------------------------------------------------------------------

    def show_selection(self, level: Level, uid: str) -> None:
        """Open a series (from its first instance) or an instance within its series."""
        self._status("Loading…")
        self.open_selection(level, uid)

    @work(thread=True, exclusive=True, group="preview-open", exit_on_error=False)
    def open_selection(self, level: Level, uid: str) -> None:
        if level is Level.SERIES:
            paths, index = self.browser.series_files(uid), 0
        else:
            series_uid = self.browser.series_of(uid)
            paths = self.browser.series_files(series_uid)
            target = self.browser.first_instance(Level.IMAGE, uid)
            index = paths.index(target) if target in paths else 0
        if not paths:
            self.app.call_from_thread(self._status, "Nothing stored under this selection.")
            return
        from tui_pacs.services.preview import PreviewSession

        session = PreviewSession(paths, index)
        old, self.session = self.session, session
        if old is not None:
            old.close()
        self._render_now(session, with_tags=True)

    def request_render(self, with_tags: bool = False) -> None:
        if self.session is not None:
            self.render_image(self.session, with_tags)

    @work(thread=True, exclusive=True, group="preview-render", exit_on_error=False)
    def render_image(self, session: PreviewSession, with_tags: bool = False) -> None:
        self._render_now(session, with_tags)

    def _render_now(self, session: PreviewSession, with_tags: bool) -> None:
        """Render (in the worker thread) and hand the pixels to the widget."""
        image = session.image(self.query_one(HalfBlockImage).pixel_box)
        info = session.info()
        status = (f"{info.modality} {info.description} · slice {session.index + 1}/{len(session.paths)}"
                  f" · frame {session.frame + 1}/{info.frames} · {session.describe_window()}"
                  f" · {image.shape[1]}x{image.shape[0]} px · {self.protocol}")
        self.app.call_from_thread(self._shown, image, status)
        if with_tags:  # after the image: the tag tree is text work the viewer need not wait for
            tree = dump_tree(session.path)
            self.app.call_from_thread(self.query_one(TagView).show, tree, session.path.name)

    def _shown(self, image: np.ndarray, status: str) -> None:
        self.query_one(HalfBlockImage).show(image)
        self._status(status)

    def on_resize(self) -> None:
        self.request_render()

    # -- actions --------------------------------------------------------------------------------

    def action_slice(self, delta: int) -> None:
        if self.session is not None:
            self.session.step_slice(delta)
            self.request_render(with_tags=True)

    def action_frame(self, delta: int) -> None:
        if self.session is not None:
            self.session.step_frame(delta)
            self.request_render()

    def action_preset(self) -> None:
        if self.session is not None:
            self.notify(self.session.cycle_preset(), title="Window", timeout=2)
            self.request_render()

    def action_window(self, centre_steps: int, width_steps: int) -> None:
        if self.session is not None:
            self._adjust(self.session, centre_steps, width_steps)

    @work(thread=True, exclusive=True, group="preview-render", exit_on_error=False)
    def _adjust(self, session: PreviewSession, centre_steps: int, width_steps: int) -> None:
        session.adjust_window(centre_steps, width_steps)
        self._render_now(session, False)

    def action_invert(self) -> None:
        if self.session is not None:
            self.session.toggle_invert()
            self.request_render()

    def action_reset(self) -> None:
        if self.session is not None:
            self.session.reset()
            self.request_render()

    def action_full_resolution(self) -> None:
        """Suspend the TUI and draw the slice with the terminal's pixel protocol; any key returns."""
        session = self.session
        if session is None:
            return
        if self.protocol.startswith("blocks"):
            self.notify("This terminal has no pixel graphics (kitty, sixel or iTerm2) here; "
                        "the half-block view is the full view.", title="Preview")
            return
        from tui_pacs.imaging.encoders import Placement, encoder_for
        from tui_pacs.imaging.sizing import terminal_size

        terminal = terminal_size(sys.stdout.fileno())
        rows = max(1, terminal.rows - 2)
        image = session.image((terminal.columns * terminal.cell_width, rows * terminal.cell_height))
        payload = encoder_for(self.protocol).encode(image, Placement(columns=terminal.columns, rows=rows))
        with self.app.suspend():
            out = sys.stdout.buffer
            out.write(b"\x1b[2J\x1b[H" + payload + b"\r\n" + Path(session.path).name.encode() +
                      b"  (press Enter to return)")
            out.flush()
            sys.stdin.readline()
