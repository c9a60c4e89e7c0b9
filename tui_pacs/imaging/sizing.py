"""How big the image may be: the pane in cells times the cell size in pixels.

The cell size comes from the terminal (TIOCGWINSZ's pixel fields, else the
``CSI 16 t`` reply of the start-up probe, else a common default), because
sixel and kitty place pixels, not cells. Images are scaled to that box
before encoding: over SSH every byte saved is latency saved.
"""

from __future__ import annotations

import fcntl
import os
import struct
import termios
from dataclasses import dataclass

DEFAULT_CELL = (10, 20)
"""(width, height) of a cell in pixels when the terminal does not say (a common 10x20 font)."""
DEFAULT_PANE = (80, 24)


@dataclass(frozen=True)
class TerminalSize:
    """A pane in cells and the cell size in pixels."""

    columns: int
    rows: int
    cell_width: int = DEFAULT_CELL[0]
    cell_height: int = DEFAULT_CELL[1]

    @property
    def pixels(self) -> tuple[int, int]:
        return self.columns * self.cell_width, self.rows * self.cell_height


def query_winsize(fd: int) -> tuple[int, int, int, int] | None:
    """(rows, cols, xpixel, ypixel) from TIOCGWINSZ, or None when fd is not a terminal.

    A negative fd (the ``fileno()`` of Textual's print capture, which stands in
    for ``sys.stdout`` while the app runs) is not a terminal either.
    """
    try:
        packed = fcntl.ioctl(fd, termios.TIOCGWINSZ, b"\0" * 8)
    except (OSError, ValueError):
        return None
    rows, cols, xpixel, ypixel = struct.unpack("HHHH", packed)
    return rows, cols, xpixel, ypixel


def terminal_size(fd: int | None = None, probed_cell: tuple[int, int] | None = None) -> TerminalSize:
    """The pane size and cell size, tolerating 0x0 terminals, pipes and missing pixel fields."""
    winsize = None
    if fd is not None:
        winsize = query_winsize(fd)
    if winsize is None:
        for candidate in (1, 0, 2):
            winsize = query_winsize(candidate)
            if winsize is not None:
                break
    rows, cols, xpixel, ypixel = winsize or (0, 0, 0, 0)
    if rows <= 0 or cols <= 0:
        env_cols, env_rows = _env_int("COLUMNS"), _env_int("LINES")
        cols = cols if cols > 0 else (env_cols or DEFAULT_PANE[0])
        rows = rows if rows > 0 else (env_rows or DEFAULT_PANE[1])
    cell = cell_size_from_winsize(rows, cols, xpixel, ypixel) or _valid_cell(probed_cell) or DEFAULT_CELL
    return TerminalSize(cols, rows, cell[0], cell[1])


def cell_size_from_winsize(rows: int, cols: int, xpixel: int, ypixel: int) -> tuple[int, int] | None:
    if rows <= 0 or cols <= 0 or xpixel <= 0 or ypixel <= 0:
        return None
    return _valid_cell((xpixel // cols, ypixel // rows))


def _valid_cell(cell: tuple[int, int] | None) -> tuple[int, int] | None:
    if cell is None:
        return None
    width, height = cell
    # A cell smaller than 2 pixels or larger than 200 is a lie (or a 0x0 terminal); ignore it.
    if 2 <= width <= 200 and 2 <= height <= 200:
        return width, height
    return None


def fit_size(width: int, height: int, box_width: int, box_height: int, aspect: float = 1.0) -> tuple[int, int]:
    """The largest (w, h) inside the box keeping the image's shape.

    ``aspect`` is the physical height/width of one pixel (PS3.3 C.7.6.3.1.7
    Pixel Aspect Ratio, or the ratio of Pixel Spacing), so non-square
    pixels display undistorted.
    """
    if width <= 0 or height <= 0:
        return 0, 0
    box_width, box_height = max(1, box_width), max(1, box_height)
    display_height = height * (aspect if aspect > 0 else 1.0)
    scale = min(box_width / width, box_height / display_height)
    return max(1, int(width * scale)), max(1, int(display_height * scale))


def parse_size(text: str) -> tuple[int, int]:
    """``COLSxROWS`` as given to ``--size``."""
    try:
        cols_text, rows_text = text.lower().split("x")
        cols, rows = int(cols_text), int(rows_text)
    except ValueError as exc:
        raise ValueError(f"size must be COLSxROWS, e.g. 80x24, not {text!r}") from exc
    if cols <= 0 or rows <= 0:
        raise ValueError(f"size must be positive, not {text!r}")
    return cols, rows


def _env_int(name: str) -> int:
    try:
        return max(0, int(os.environ.get(name, "0")))
    except ValueError:
        return 0
