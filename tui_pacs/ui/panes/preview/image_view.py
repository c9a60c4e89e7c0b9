"""An 8-bit image drawn with half-blocks as Textual strips: two pixels per cell, any terminal.

Textual owns the screen, so pixel protocols cannot be mixed into its
frames safely; inside the TUI the image is text (truecolour "▀" cells),
which also survives tmux and SSH. The full-resolution view (kitty, sixel,
iTerm2) is drawn by the pane with the app suspended.

:func:`half_block_lines` is plain object building, so the preview pane
runs it in its render thread and the event loop only swaps the lines in.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.color import Color
from rich.segment import Segment
from rich.style import Style
from textual.geometry import Size
from textual.strip import Strip
from textual.widget import Widget

if TYPE_CHECKING:
    import numpy as np

UPPER_HALF = "▀"
_STYLES: dict[int, Style] = {}
"""Cell styles by packed (upper RGB, lower RGB): slices of one series share most of them."""
_STYLES_MAX = 1 << 16


def half_block_lines(image: np.ndarray) -> tuple[np.ndarray, list[Strip]]:
    """The RGB pixels of a grey or colour 8-bit image, and its lines of half-block cells.

    Neighbouring cells with the same two colours become one segment, found with numpy on
    packed colour pairs, so the Python work grows with the colour runs, not the cells.
    Safe to call from a worker thread.
    """
    import numpy as np

    rgb = np.repeat(image[:, :, None], 3, axis=2) if image.ndim == 2 else image[:, :, :3]
    height, width = rgb.shape[:2]
    pixels = rgb.astype(np.int64)
    if height % 2:
        pixels = np.concatenate([pixels, np.zeros((1, width, 3), dtype=np.int64)], axis=0)
    top, bottom = pixels[0::2], pixels[1::2]
    keys = ((top[..., 0] << 40) | (top[..., 1] << 32) | (top[..., 2] << 24)
            | (bottom[..., 0] << 16) | (bottom[..., 1] << 8) | bottom[..., 2])
    if len(_STYLES) > _STYLES_MAX:
        _STYLES.clear()
    lines = []
    for row in keys:
        starts = [0, *(np.flatnonzero(row[1:] != row[:-1]) + 1).tolist()]
        ends = [*starts[1:], width]
        values = row[starts].tolist()
        segments = [Segment(UPPER_HALF * (end - start), _style(value))
                    for start, end, value in zip(starts, ends, values)]
        lines.append(Strip(segments, width))
    return rgb, lines


def _style(key: int) -> Style:
    style = _STYLES.get(key)
    if style is None:
        style = Style.from_color(
            Color.from_rgb((key >> 40) & 255, (key >> 32) & 255, (key >> 24) & 255),
            Color.from_rgb((key >> 16) & 255, (key >> 8) & 255, key & 255),
        )
        _STYLES[key] = style
    return style


class HalfBlockImage(Widget):
    """Shows one RGB or grey image, centred; empty until given one."""

    DEFAULT_CSS = "HalfBlockImage { width: 1fr; height: 1fr; }"

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.rgb: np.ndarray | None = None
        self._lines: list[Strip] = []

    @property
    def pixel_box(self) -> tuple[int, int]:
        """The (width, height) in pixels this widget can show: one column, two rows per cell."""
        width, height = self.size
        if not width or not height:
            # Not laid out yet: estimate from the screen (the preview pane knows its layout
            # better, see PreviewPane.image_box); a resize after the layout renders again.
            width, height = self.app.size.width * 2 // 3, self.app.size.height - 6
        return max(1, width), max(2, 2 * height)

    def show(self, image: np.ndarray | None, lines: tuple[np.ndarray, list[Strip]] | None = None) -> None:
        """Show ``image``; ``lines`` is its :func:`half_block_lines`, when a worker made them already."""
        if image is None:
            self.rgb, self._lines = None, []
        else:
            self.rgb, self._lines = lines if lines is not None else half_block_lines(image)
        self.refresh()

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return container.height

    def render_line(self, y: int) -> Strip:
        lines = self._lines
        if not lines:
            return Strip.blank(self.size.width)
        top = max(0, (self.size.height - len(lines)) // 2)
        index = y - top
        if not 0 <= index < len(lines):
            return Strip.blank(self.size.width)
        strip = lines[index]
        left = max(0, (self.size.width - strip.cell_length) // 2)
        return Strip([Segment(" " * left)] + list(strip), left + strip.cell_length).crop(0, self.size.width)
