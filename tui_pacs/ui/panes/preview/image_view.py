"""An 8-bit image drawn with half-blocks as Textual strips: two pixels per cell, any terminal.

Textual owns the screen, so pixel protocols cannot be mixed into its
frames safely; inside the TUI the image is text (truecolour "▀" cells),
which also survives tmux and SSH. The full-resolution view (kitty, sixel,
iTerm2) is drawn by the pane with the app suspended.
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
            # Not laid out yet (the pane is being switched to): estimate from the screen, and
            # the resize that follows the layout renders again at the exact size.
            width, height = self.app.size.width * 2 // 3, self.app.size.height - 6
        return max(1, width), max(2, 2 * height)

    def show(self, image: np.ndarray | None) -> None:
        if image is None:
            self.rgb = None
        else:
            import numpy as np

            self.rgb = np.repeat(image[:, :, None], 3, axis=2) if image.ndim == 2 else image[:, :, :3]
        self._lines = self._build()
        self.refresh()

    def _build(self) -> list[Strip]:
        rgb = self.rgb
        if rgb is None:
            return []
        height, width = rgb.shape[:2]
        if height % 2:
            import numpy as np

            rgb = np.concatenate([rgb, np.zeros((1, width, 3), dtype=rgb.dtype)], axis=0)
        top, bottom = rgb[0::2].tolist(), rgb[1::2].tolist()
        styles: dict[tuple[int, ...], Style] = {}
        lines = []
        for upper, lower in zip(top, bottom):
            segments = []
            for (r, g, b), (r2, g2, b2) in zip(upper, lower):
                key = (r, g, b, r2, g2, b2)
                style = styles.get(key)
                if style is None:
                    style = Style(color=Color.from_rgb(r, g, b), bgcolor=Color.from_rgb(r2, g2, b2))
                    styles[key] = style
                segments.append(Segment(UPPER_HALF, style))
            lines.append(Strip(Segment.simplify(segments), width))
        return lines

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
