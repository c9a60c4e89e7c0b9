"""Pane 5: preview of the selected series or instance, with a tag viewer beside it.

Rendering (decode, LUTs, scaling) runs in a thread worker through the
imaging layer; keys only change the view state and ask for a new render.
A newer request supersedes an older one (exclusive worker), so holding a
key never queues up stale frames.

The first image of a selection is usually ready before it is asked for:
when the cursor of pane 1 rests on a series or instance, :meth:`prepare`
renders it in the background at the size the image will have, and
``p`` then shows it in the same frame as the switch to this pane.
"""

from __future__ import annotations

import logging
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.widget import Widget
from textual.widgets import Static
from textual.worker import get_current_worker

from tui_pacs.domain.attributes import Level
from tui_pacs.services.local_browser import LocalBrowser, dump_tree
from tui_pacs.ui.panes.base import Pane
from tui_pacs.ui.panes.preview.image_view import HalfBlockImage, half_block_lines
from tui_pacs.ui.widgets.tag_view import TagView

if TYPE_CHECKING:
    import numpy as np
    from textual.strip import Strip

    from tui_pacs.services.preview import PreviewSession

log = logging.getLogger(__name__)

EMPTY = "Nothing to preview yet: select a series or instance in pane 1 and press p (or Enter on an instance)."
NOTHING = "Nothing stored under this selection."
# The layout of app.tcss: the image takes 2fr of the body, the tags 1fr but at least this many
# columns, and the status line one row (image_box works the size out before the first layout).
TAGS_MIN_WIDTH = 24
STATUS_ROWS = 1


@dataclass
class PreparedPreview:
    """A selection's session and first image, rendered ahead (or being rendered) for ``box``."""

    level: Level
    uid: str
    box: tuple[int, int]
    done: threading.Event = field(default_factory=threading.Event)
    adopted: bool = False
    session: PreviewSession | None = None
    image: np.ndarray | None = None
    lines: tuple[np.ndarray, list[Strip]] | None = None
    status: str = ""


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
        self._prepared: PreparedPreview | None = None
        self._shown_box: tuple[int, int] | None = None
        self._selection: tuple[Level, str] | None = None

    def compose(self) -> ComposeResult:
        yield Static(EMPTY, id="preview-status", classes="status-line")
        with Horizontal(id="preview-body"):
            yield HalfBlockImage(id="preview-image")
            yield TagView(id="preview-tags")

    def primary_widget(self) -> PreviewPane:
        return self

    def _status(self, text: str) -> None:
        self.query_one("#preview-status", Static).update(text)

    def image_box(self) -> tuple[int, int]:
        """The (width, height) in pixels the image is rendered into (two pixel rows per cell).

        Before this pane was ever shown it has no size; the panes share one space (the tab
        content), so the box is worked out from that space and the layout in app.tcss, and the
        first image is rendered once, at the size it is shown at.
        """
        image = self.query_one(HalfBlockImage)
        if image.size.width and image.size.height:
            return image.pixel_box
        space = next((node.content_size for node in self.ancestors if isinstance(node, Widget)
                      and node.content_size.width and node.content_size.height), self.app.size)
        columns = space.width - max(TAGS_MIN_WIDTH, space.width - 2 * space.width // 3)
        rows = space.height - STATUS_ROWS
        return max(1, columns), max(2, 2 * rows)

    # -- loading --------------------------------------------------------------------------------

    def prepare(self, level: Level, uid: str) -> None:
        """Render this selection's first image in the background, ahead of :meth:`show_selection`."""
        current = self._prepared
        if (level, uid) == self._selection or (
                current is not None and (current.level, current.uid) == (level, uid) and not current.adopted):
            return  # shown already, or being prepared
        prepared = PreparedPreview(level, uid, self.image_box())
        self._prepared = prepared
        self._prepare(prepared, current if current is not None and not current.adopted else None)

    @work(thread=True, group="preview-prepare", exit_on_error=False)
    def _prepare(self, prepared: PreparedPreview, superseded: PreparedPreview | None) -> None:
        session = None
        try:
            if superseded is not None:  # never shown: its prefetch threads go
                superseded.done.wait()
                if superseded.session is not None and not superseded.adopted:
                    superseded.session.close()
            session = self._open(prepared.level, prepared.uid)
            if session is not None:
                image = session.image(prepared.box)
                prepared.lines = half_block_lines(image)
                prepared.status = self._describe(session, image)
                prepared.session, prepared.image = session, image
        except Exception:  # only a guess: show_selection opens it again and reports why
            log.debug("preparing the preview of %s %s failed", prepared.level.value, prepared.uid, exc_info=True)
            if session is not None:
                session.close()
        finally:
            prepared.done.set()

    def show_selection(self, level: Level, uid: str) -> None:
        """Open a series (from its first instance) or an instance within its series.

        What :meth:`prepare` rendered for this selection is shown at once (before the pane
        is even switched to, so both arrive in one frame); if it is still rendering, it is
        waited for rather than rendered a second time.
        """
        prepared, self._prepared = self._prepared, None
        self._selection = (level, uid)
        box = self.image_box()
        if prepared is not None and (prepared.level, prepared.uid, prepared.box) == (level, uid, box):
            prepared.adopted = True
            if prepared.done.is_set() and prepared.session is not None and prepared.image is not None:
                self._adopt(prepared.session, prepared.image, prepared.lines, prepared.status, box)
                return
            self._status("Loading…")
            self.open_selection(level, uid, box, prepared)
            return
        if prepared is not None:
            self._prepared = prepared  # another selection's: keep it for its own show
        self._status("Loading…")
        self.open_selection(level, uid, box)

    def _open(self, level: Level, uid: str) -> PreviewSession | None:
        """A session on the selection's series, at the selected instance (blocking)."""
        if level is Level.SERIES:
            paths, index = self.browser.series_files(uid), 0
        else:
            series_uid = self.browser.series_of(uid)
            paths = self.browser.series_files(series_uid)
            target = self.browser.first_instance(Level.IMAGE, uid)
            index = paths.index(target) if target in paths else 0
        if not paths:
            return None
        from tui_pacs.services.preview import PreviewSession

        return PreviewSession(paths, index)

    @work(thread=True, exclusive=True, group="preview-open", exit_on_error=False)
    def open_selection(self, level: Level, uid: str, box: tuple[int, int],
                       prepared: PreparedPreview | None = None) -> None:
        if prepared is not None:
            prepared.done.wait()
        session = prepared.session if prepared is not None else None
        if session is None or prepared is None or prepared.image is None:
            session = self._open(level, uid)
            if session is None:
                self.app.call_from_thread(self._status, NOTHING)
                return
            image = session.image(box)
            lines: tuple[np.ndarray, list[Strip]] | None = half_block_lines(image)
            status = self._describe(session, image)
        else:
            image, lines, status = prepared.image, prepared.lines, prepared.status
        if get_current_worker().is_cancelled:  # a newer selection came while this one rendered
            session.close()
            return
        self.app.call_from_thread(self._adopt, session, image, lines, status, box)

    def _adopt(self, session: PreviewSession, image: np.ndarray, lines: tuple[np.ndarray, list[Strip]] | None,
               status: str, box: tuple[int, int]) -> None:
        """Show a new session's first image now; its tags once the image is on screen."""
        old, self.session = self.session, session
        if old is not None:
            self._close(old)
        self._shown(image, lines, status, box)
        self.call_after_refresh(self.load_tags, session)

    @work(thread=True, group="preview-close", exit_on_error=False)
    def _close(self, session: PreviewSession) -> None:
        session.close()  # waits for its prefetch thread: not on the loop

    @work(thread=True, exclusive=True, group="preview-tags", exit_on_error=False)
    def load_tags(self, session: PreviewSession) -> None:
        """The tag tree of the instance shown (text work the image need not wait for)."""
        path = session.path
        tree = dump_tree(path)
        if session is self.session and session.path == path:
            self.app.call_from_thread(self.query_one(TagView).show, tree, path.name)

    def request_render(self, with_tags: bool = False) -> None:
        if self.session is not None:
            self.render_image(self.session, self.image_box(), with_tags)

    @work(thread=True, exclusive=True, group="preview-render", exit_on_error=False)
    def render_image(self, session: PreviewSession, box: tuple[int, int], with_tags: bool = False) -> None:
        self._render_now(session, box, with_tags)

    def _render_now(self, session: PreviewSession, box: tuple[int, int], with_tags: bool) -> None:
        """Render (in the worker thread) and hand the pixels to the widget."""
        image = session.image(box)
        lines = half_block_lines(image)
        self.app.call_from_thread(self._shown, image, lines, self._describe(session, image), box)
        if with_tags:  # after the image: the tag tree is text work the viewer need not wait for
            tree = dump_tree(session.path)
            self.app.call_from_thread(self.query_one(TagView).show, tree, session.path.name)

    def _describe(self, session: PreviewSession, image: np.ndarray) -> str:
        info = session.info()
        return (f"{info.modality} {info.description} · slice {session.index + 1}/{len(session.paths)}"
                f" · frame {session.frame + 1}/{info.frames} · {session.describe_window()}"
                f" · {image.shape[1]}x{image.shape[0]} px · {self.protocol}")

    def _shown(self, image: np.ndarray, lines: tuple[np.ndarray, list[Strip]] | None, status: str,
               box: tuple[int, int] | None = None) -> None:
        self.query_one(HalfBlockImage).show(image, lines)
        self._status(status)
        self._shown_box = box

    def on_resize(self) -> None:
        # The first layout of the pane gives the size image_box already assumed: no second render.
        if self.session is not None and self.image_box() != self._shown_box:
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
            self._adjust(self.session, centre_steps, width_steps, self.image_box())

    @work(thread=True, exclusive=True, group="preview-render", exit_on_error=False)
    def _adjust(self, session: PreviewSession, centre_steps: int, width_steps: int, box: tuple[int, int]) -> None:
        session.adjust_window(centre_steps, width_steps)
        self._render_now(session, box, False)

    def action_invert(self) -> None:
        if self.session is not None:
            self.session.toggle_invert()
            self.request_render()

    def action_reset(self) -> None:
        if self.session is not None:
            self.session.reset()
            self.request_render()

    def action_full_resolution(self) -> None:
        """Suspend the TUI and draw the slice with the terminal's pixel protocol; Enter returns."""
        session = self.session
        if session is None:
            return
        if self.protocol.startswith("blocks"):
            self.notify("This terminal has no pixel graphics (kitty, sixel or iTerm2) here; "
                        "the half-block view is the full view.", title="Preview")
            return
        from tui_pacs.imaging.encoders import Placement, encoder_for
        from tui_pacs.imaging.sizing import terminal_size

        stdout = sys.__stdout__  # sys.stdout is Textual's print capture while the app runs
        terminal = terminal_size(stdout.fileno() if stdout is not None else None)
        rows = max(1, terminal.rows - 2)
        image = session.image((terminal.columns * terminal.cell_width, rows * terminal.cell_height))
        payload = encoder_for(self.protocol).encode(image, Placement(columns=terminal.columns, rows=rows))
        with self.app.suspend():
            out = sys.stdout.buffer
            out.write(b"\x1b[2J\x1b[H" + payload + b"\r\n" + Path(session.path).name.encode() +
                      b"  (press Enter to return)")
            out.flush()
            sys.stdin.readline()
